"""The live view tells the truth: no break where nothing was lost, no old value once the signal stops,
and a recording's own clock for everything about the recording (issue 10 items 13-15)."""
from __future__ import annotations

import numpy as np
import pytest

from biofeedback.files.recording import Recording
from biofeedback.sources.emulate import DeviceEmulator


def test_live_sweep_shows_every_sample_at_16x_with_late_frames(make_window, qtbot):
    """The window's own frame loop on a fast simulated source, frames arriving late and irregularly: the
    sweep shows the engine's envelope at every point it has (no sample was lost, so no break)."""
    win = make_window(source="sim:healthy", speed=16.0)
    win.timer.stop()                                     # the test drives the frames itself
    rng = np.random.default_rng(5)
    sweep = win.plot._rows[0].sweep
    for _ in range(40):
        qtbot.wait(int(rng.choice([1, 5, 16, 40, 120])))    # a frame late by up to 0.12 s (2 s of signal)
        win.frames.frame()
        engine = win.engine
        with engine._lock:                               # what the engine holds: envelope points by index
            env = engine._env.last(engine._env.capacity)[:, 0]
            idx = engine._env_idx.last(engine._env_idx.capacity)[:, 0]
        truth = dict(zip(np.rint(idx / engine.env_step).astype(int).tolist(), env.tolist()))
        head = sweep.head
        k = np.arange(max(0, head - sweep.capacity + sweep.gap + 1), head + 1)
        shown = sweep.y[k % sweep.capacity]
        expected = np.array([truth.get(int(i), np.nan) for i in k])
        lost = np.isnan(shown) & ~np.isnan(expected)
        assert not lost.any(), f"break on screen at {k[lost][:3] * sweep.dt} s with no sample lost"
    assert win.engine.stats.dropped == 0 and win.engine.time_s > 5.0


@pytest.fixture
def emulator():
    em = DeviceEmulator("arduino-emg", patient="healthy").start()
    yield em
    em.stop()


def test_readout_says_no_signal_when_samples_stop_arriving(make_window, qtbot, emulator):
    win = make_window(source=f"serial:{emulator.path}?device=arduino-emg")
    readout = win.plot.readout
    qtbot.waitUntil(lambda: readout.value.text() != "–" and "band" in readout.state.text(), timeout=10000)
    assert not win.plot.no_signal and "No signal" not in readout.state.text()
    emulator.streaming = False                       # the sensor is pulled out: the port stays, nothing comes
    qtbot.waitUntil(lambda: "No signal" in readout.state.text(), timeout=3000)
    assert readout.value.text() == "–" and readout.pct.text() == ""
    assert "band" not in readout.state.text()        # neither "in" nor "outside" a band: there is nothing to judge
    assert np.isnan(win.plot.current_value)
    qtbot.waitUntil(lambda: win.status_state.text() == "● no signal", timeout=2000)   # the status line agrees
    win.set_patient_view(True, full_screen=False)    # the patient's bar shows no stale level either
    qtbot.waitUntil(lambda: np.isnan(win.patient.bar.value), timeout=2000)
    win.set_patient_view(False)
    emulator.streaming = True                        # back in place: the value comes back by itself
    qtbot.waitUntil(lambda: readout.value.text() != "–" and "No signal" not in readout.state.text(), timeout=5000)
    assert not win.plot.no_signal


def test_a_steady_live_source_never_says_no_signal(make_window, qtbot):
    win = make_window(speed=1.0)
    qtbot.waitUntil(lambda: win.engine.time_s > 2.0, timeout=10000)
    assert "No signal" not in win.plot.readout.state.text()



def _shown_time(msg: str) -> float:
    clock = msg.removeprefix("Marker at ").split(":", 2)
    return 60 * int(clock[0]) + float(clock[1][:4])


def test_marker_time_counts_from_the_recording_start(make_window, qtbot, tmp_path):
    win = make_window(speed=8.0)
    qtbot.waitUntil(lambda: win.engine.time_s > 20.0, timeout=20000)     # connected a while before recording
    path = win.start_recording(tmp_path / "m.bfr")
    qtbot.waitUntil(lambda: win.controller.recording_elapsed_s > 3.0, timeout=10000)
    win.marker_label.setText("cough")
    win.add_marker()
    elapsed = win.controller.recording_elapsed_s
    msg = win.statusBar().currentMessage()
    assert msg.startswith("Marker at ") and msg.endswith(": cough")
    shown = _shown_time(msg)
    assert shown == pytest.approx(elapsed, abs=0.6)                      # the recording timer's clock
    win.stop_recording()
    with Recording.open(path) as rec:
        marker = next(e for e in rec.events if e.kind == "marker")
    assert marker.time_s == pytest.approx(shown, abs=0.051)              # the file says the same time


def test_a_marker_outside_a_recording_says_it_is_not_saved(make_window, qtbot):
    win = make_window(speed=8.0)
    qtbot.waitUntil(lambda: win.engine.time_s > 1.0, timeout=10000)
    win.add_marker()
    assert win.statusBar().currentMessage() == "Marker not saved: not recording"
