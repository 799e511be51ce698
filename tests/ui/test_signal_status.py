"""The window's signal check and calibration with a typed target (issue 11, items 1, 4 and 5)."""
from __future__ import annotations

import pytest

from biofeedback.clinic.library import Library
from biofeedback.signal.calibration import Calibration, CalibrationPlan, typed_target

FAST_PLAN = CalibrationPlan(rest_s=6.0, rest_skip_s=1.0, efforts=3, prepare_s=1.0, contract_s=3.0, release_s=3.0)


def test_hum_warning_and_one_click_notch(make_window, qtbot):
    win = make_window(source="sim:healthy?seed=3&rate=1000&hum=1.0&mains=50", speed=8.0)
    status = win.signal_status
    assert status.isVisible() and status.accessibleName() == "Signal check"
    qtbot.waitUntil(lambda: win.controller.hum is not None and win.controller.hum.detected, timeout=15000)
    qtbot.waitUntil(lambda: status.notch_button.isVisible(), timeout=2000)
    text = status.sentence.text()
    assert text.startswith("Mains hum 1.") and "check the reference electrode and cables" in text
    assert status.notch_button.text() == "Remove hum (50 Hz notch)" and status.notch_button.toolTip()
    assert status.light.accessibleName() == "Signal needs a look"
    status.notch_button.click()
    assert win.controller.notch_hz == 50 and win.engine.settings.notch_hz == 50
    qtbot.waitUntil(lambda: win.controller.hum is not None and not win.controller.hum.detected, timeout=15000)
    assert "Mains hum" not in status.sentence.text() and "turn off" in status.notch_button.text()


def test_typed_target_survives_recalibration_in_the_window(make_window, qtbot, tmp_path):
    library_path = tmp_path / "library.sqlite"
    stored = Calibration(rest_mean=3.0, rest_sd=0.4, mvc=60.0, effort_peaks=[60.0, 58.0, 57.0], noise_floor=1.0,
                         target=typed_target(2.2))
    with Library.open(library_path) as lib:
        lib.add_client("Ada", calibration=stored.to_dict(), bands=stored.default_bands().to_dict())
    win = make_window(source="sim:healthy", speed=8.0, calibration_plan=FAST_PLAN, library_path=library_path)
    win.controller.set_client("Ada")
    qtbot.waitUntil(lambda: win.engine.time_s > 2.0, timeout=5000)
    wizard = win.open_calibration()
    assert wizard.previous_target is not None and wizard.previous_target.value == pytest.approx(2.2)
    assert wizard.signal_check.text().startswith("<span")        # the signal check runs before calibrating
    wizard.start_button.click()
    qtbot.waitUntil(lambda: wizard.result is not None or bool(wizard.error), timeout=30000)
    assert not wizard.error and wizard.quality is not None
    cal = wizard.result
    assert cal.target.rule == "typed" and cal.release_target == pytest.approx(2.2)
    assert "typed by you (kept)" in wizard.summary.text()
    assert win.bands.release_high == pytest.approx(2.2)
    assert 20.0 < win.bands.mvc                                     # the new squeezes still count
    with Library.open(library_path) as lib:
        kept = lib.client("Ada").calibration
    assert kept["target"]["rule"] == "typed" and kept["target"]["release_target"] == pytest.approx(2.2)
    wizard.reject()



def test_a_passing_message_has_the_status_line_to_itself(make_window, qtbot):
    """'Recording saved…' and the signal check were painted over each other: the check steps aside, then returns."""
    win = make_window(speed=8.0)
    status = win.signal_status
    qtbot.waitUntil(lambda: win.controller.quality is not None, timeout=15000)
    assert status.isVisible()
    win.statusBar().showMessage("Recording saved to a file with a long name", 60_000)
    assert not status.isVisible()
    win.controller.signal_changed.emit()            # a fresh check while the message shows: still aside
    assert not status.isVisible()
    win.statusBar().clearMessage()
    assert status.isVisible()
