"""Pressure probes in the clinic window: zeroing to air, and showing pressure in mmHg (stored in cmH2O)."""
from __future__ import annotations

import os
import pty

import numpy as np
import pytest

from biofeedback.files.recording import Recording
from biofeedback.signal.calibration import CalibrationPlan
from biofeedback.ui.display_units import CMH2O_PER_MMHG, display_factor, display_unit
from biofeedback.ui.main_window import MainWindow

PRESSURE = "sim:healthy?pressure=1&emg=0"


@pytest.fixture
def make_window(make_window):
    """The shared window fixture, on a pressure probe at 4x by default."""
    def make(source=PRESSURE, speed=4.0, **kw):
        return make_window(source=source, speed=speed, **kw)
    return make


def shown_value(win: MainWindow) -> float:
    return float(win.plot.readout.value.text())


def test_display_factor_converts_only_pressure():
    assert display_factor("cmH2O", "mmHg") == pytest.approx(1 / 1.36)
    assert display_factor("cmH2O", "cmH2O") == 1.0
    assert display_factor("uV", "mmHg") == 1.0                 # EMG is never converted
    assert display_unit("cmH2O", "mmHg") == "mmHg" and display_unit("uV", "mmHg") == "µV"
    with pytest.raises(ValueError, match="unknown pressure unit"):
        display_factor("cmH2O", "kPa")


def test_zero_button_only_for_a_live_pressure_source(make_window, qtbot, tmp_path):
    win = make_window()
    assert win.zero_button.isVisible()
    assert not win.raw_check.isVisible()                      # no band-passed EMG row for a pressure probe
    win.connect_source("sim:hypertonic?pressure=1")            # EMG + pressure
    assert win.zero_button.isVisible()
    win.connect_source("sim:healthy")                          # EMG only
    assert not win.zero_button.isVisible()
    assert win.zero_pressure() is None                         # nothing to zero: no call, no banner
    assert not win.banner.isVisible()
    win.connect_source(PRESSURE)
    qtbot.waitUntil(lambda: win.engine.time_s > 1.0, timeout=5000)
    path = win.start_recording(tmp_path / "p.bfr")
    qtbot.waitUntil(lambda: win.engine.recording_elapsed_s > 1.0, timeout=5000)
    win.stop_recording()
    win.connect_source(f"replay:{path}")                       # a replay is not zeroed: the file is what it is
    assert win.is_replay and not win.zero_button.isVisible()


def test_zero_shows_pressure_near_zero_and_the_recording_keeps_raw(make_window, qtbot, tmp_path):
    win = make_window()
    qtbot.waitUntil(lambda: win.engine.time_s > 1.5 and np.isfinite(win.plot.current_value), timeout=5000)
    assert 20.0 < win.plot.current_value < 30.0                # the healthy profile's resting pressure, un-zeroed
    path = win.start_recording(tmp_path / "zeroed.bfr")
    qtbot.waitUntil(lambda: win.engine.recording_elapsed_s > 1.0, timeout=5000)
    win.zero_button.click()
    assert win.statusBar().currentMessage().startswith("Pressure zeroed at ")
    offset = float(win.statusBar().currentMessage().split()[3])
    assert 20.0 < offset < 30.0 and win.statusBar().currentMessage().endswith("cmH₂O")
    t0 = win.engine.time_s
    qtbot.waitUntil(lambda: win.engine.time_s > t0 + 1.0, timeout=5000)
    qtbot.waitUntil(lambda: abs(shown_value(win)) < 2.0, timeout=3000)   # the readout now reads near 0
    assert abs(win.plot.current_value) < 2.0
    win.stop_recording()
    with Recording.open(path) as rec:
        col = rec.info.names.index("pressure")
        assert float(np.nanmean(rec.read()[-500:, col])) > 15.0     # the file keeps the raw pressure
        tare = [e for e in rec.events if e.kind == "tare"]
        assert len(tare) == 1 and tare[0].data["offset"] == pytest.approx(offset, abs=0.06)


def test_zero_in_mmhg_reports_the_offset_in_mmhg(make_window, qtbot):
    win = make_window()
    win.set_pressure_unit("mmHg")
    qtbot.waitUntil(lambda: win.engine.time_s > 1.5, timeout=5000)
    offset = win.zero_pressure()
    msg = win.statusBar().currentMessage()
    assert msg == f"Pressure zeroed at {offset / CMH2O_PER_MMHG:.1f} mmHg"


def test_zero_without_a_reading_says_so_in_the_banner(make_window, qtbot):
    master, slave = pty.openpty()                              # a pressure sensor that has sent nothing yet
    win = make_window(source=f"serial:{os.ttyname(slave)}?device=arduino-pressure&wait=0")
    try:
        assert win.engine is not None and win.zero_button.isVisible()
        assert win.zero_pressure() is None
        assert win.banner.isVisible() and "no pressure reading yet" in win.banner.text()
        assert "\n" not in win.banner.text()
    finally:
        win.disconnect_source()
        os.close(master)
        os.close(slave)


def test_mmhg_divides_what_is_shown_by_1_36_and_back(make_window, qtbot):
    win = make_window()
    qtbot.waitUntil(lambda: win.engine.time_s > 1.5 and win.plot.readout.value.text() != "–", timeout=5000)
    win.set_view_paused(True)                                  # hold the digits still while comparing
    value = win.plot.current_value                             # the newest value, in cmH2O
    assert win.plot.readout.unit.text() == "cmH₂O"
    win.pressure_unit_actions["mmHg"].trigger()                # the View menu choice
    assert win.pressure_unit == "mmHg"
    mm = shown_value(win)                                      # redrawn at once, even with the view paused
    assert mm == pytest.approx(value / 1.36, abs=0.051)
    assert win.plot.readout.unit.text() == "mmHg"
    axis = win.plot._rows[0].plot.getAxis("left")
    assert axis.labelText == "mmHg" and axis.scale == pytest.approx(1 / 1.36)
    assert win.bands_panel.units.itemText(0) == "mmHg"
    assert win.bands_panel.c_high.value() == pytest.approx(win.bands.contraction_high / 1.36, abs=0.05)
    assert win.bands.unit == "cmH2O"                           # the bands themselves stay in cmH2O
    win.pressure_unit_actions["cmH2O"].trigger()
    cm = shown_value(win)
    assert cm == pytest.approx(value, abs=0.051) and mm == pytest.approx(cm / 1.36, abs=0.09)
    assert win.plot.readout.unit.text() == "cmH₂O"
    assert axis.labelText == "cmH₂O" and axis.scale == 1.0
    assert win.bands_panel.c_high.value() == pytest.approx(win.bands.contraction_high, abs=0.05)


def test_emg_stays_in_microvolts_when_pressure_is_in_mmhg(make_window, qtbot):
    win = make_window(source="sim:hypertonic?pressure=1")
    win.set_pressure_unit("mmHg")
    rows = {win.engine.info.channels[r.channel].name: r for r in win.plot._rows if r.kind == "envelope"}
    assert rows["pressure"].plot.getAxis("left").labelText == "mmHg"
    assert rows["pfm"].plot.getAxis("left").labelText == "µV" and rows["pfm"].plot.getAxis("left").scale == 1.0
    assert win.plot.readout.unit.text() == "µV" and win.bands_panel.units.itemText(0) == "µV"


def test_band_typed_in_mmhg_is_stored_in_cmh2o(make_window, qtbot, tmp_path):
    win = make_window()
    qtbot.waitUntil(lambda: win.engine.time_s > 0.5, timeout=5000)
    path = win.start_recording(tmp_path / "bands.bfr")
    win.set_pressure_unit("mmHg")
    before = win.bands
    panel = win.bands_panel
    panel.r_high.setValue(3.0)
    panel.r_high.editingFinished.emit()
    assert win.bands.release_high == pytest.approx(3.0 * 1.36)
    assert win.plot.bands.release_high == pytest.approx(3.0 * 1.36)        # the plot's band in cmH2O too
    assert (win.bands.contraction_low, win.bands.contraction_high) == (before.contraction_low,
                                                                          before.contraction_high)
    panel.c_low.setValue(10.0)
    panel.c_high.setValue(20.0)
    panel.c_high.editingFinished.emit()
    assert win.bands.contraction_low == pytest.approx(13.6) and win.bands.contraction_high == pytest.approx(27.2)
    assert panel.c_high.value() == pytest.approx(20.0)
    qtbot.waitUntil(lambda: win.controller.recording_elapsed_s > 0, timeout=5000)   # a recording with no sample
    win.stop_recording()                                                              # is not kept (a loaded machine)
    with Recording.open(path) as rec:
        stored = rec.meta["bands"]
    assert stored["unit"] == "cmH2O" and stored["contraction_high"] == pytest.approx(27.2)


def test_calibration_results_read_in_mmhg(make_window, qtbot):
    plan = CalibrationPlan(rest_s=4.0, rest_skip_s=1.0, efforts=3, prepare_s=1.0, contract_s=2.0, release_s=2.0)
    win = make_window(speed=8.0, calibration_plan=plan)
    win.set_pressure_unit("mmHg")
    qtbot.waitUntil(lambda: win.engine.time_s > 0.5, timeout=5000)
    win.zero_pressure()
    wizard = win.open_calibration()
    wizard.start_button.click()
    qtbot.waitUntil(lambda: wizard.result is not None or bool(wizard.error), timeout=15000)
    assert not wizard.error
    cal = wizard.result
    assert cal.unit == "cmH2O" and win.bands.mvc == pytest.approx(cal.mvc)   # stored in cmH2O
    text = wizard.summary.text()
    assert "cmH" not in text and f"maximum {cal.mvc / 1.36:.1f} mmHg" in text
    assert f"{win.bands.contraction_high / 1.36:.1f} mmHg" in text
