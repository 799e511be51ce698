"""The wizard says which release-target rule it chose, in her words, and keeps a typed target (issue 11)."""
from __future__ import annotations

import pytest

from biofeedback.signal.calibration import Calibration, keep_typed_target, release_target_rule
from biofeedback.stream import Channel, StreamInfo
from biofeedback.ui.calibration_wizard import CalibrationWizard


class _Engine:
    info = StreamInfo((Channel("pfm"),), 2000.0)
    env_step = 1
    time_s = 0.0


def _raised() -> Calibration:
    return Calibration(rest_mean=11.2, rest_sd=2.3, mvc=48.0, effort_peaks=[48.0, 45.0, 44.0], noise_floor=6.9,
                       rest_cv_pct=19.0)


def test_rule_and_typed_target(qtbot):
    wizard = CalibrationWizard(_Engine())
    qtbot.addWidget(wizard)
    cal = _raised()
    wizard.result = cal
    wizard._show_result(cal)
    assert cal.release_target == pytest.approx(11.2 * 0.85)
    assert "below her resting tone" in wizard.summary.text()
    assert "softer than you rest now" in wizard.patient_words.text() and "µV" not in wizard.patient_words.text()
    seen = []
    wizard.calibrated.connect(seen.append)
    wizard.target_edit.setValue(8.0)
    wizard.use_typed_target()
    assert seen and seen[-1].target.rule == "typed" and seen[-1].default_bands().release_high == pytest.approx(8.0)
    # the next calibration keeps it
    again = _raised()
    again.target = keep_typed_target(wizard.previous_target, again.target)
    assert again.release_target == pytest.approx(8.0)


def test_rule_never_goes_under_the_noise_floor():
    t = release_target_rule(7.0, 1.0, noise_floor=6.5, cv_pct=10.0)
    assert t.rule == "noise_floor" and t.value == pytest.approx(6.5)
    calm = release_target_rule(3.0, 0.3, noise_floor=2.6, cv_pct=8.0)
    assert calm.rule == "rest_band" and calm.value == pytest.approx(3.6)


def test_the_result_fits_without_clipping_the_instructions(qtbot):
    """Walkthrough: when the result appeared, the dialog kept its starting size and squeezed the
    instructions at the top into a few clipped lines; every wrapped text now gets its whole height."""
    wizard = CalibrationWizard(_Engine())
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitExposed(wizard)
    cal = _raised()
    wizard.result = cal
    wizard._show_result(cal)
    qtbot.wait(20)
    for label in (wizard.intro, wizard.summary, wizard.patient_words):
        assert label.height() >= label.heightForWidth(label.width()), label.text()[:40]
    assert wizard.target_row.isVisible()
