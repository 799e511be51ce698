"""A protocol step with its own contraction band (band_pct, % of the maximum) shows that band while it runs."""
from __future__ import annotations

import numpy as np
import pytest

from biofeedback.protocols import parse_protocol
from biofeedback.signal.calibration import Bands
from tests.ui.numpy_feed import NumpyFeed


def test_step_band_replaces_the_contraction_band_only_while_it_runs(plot):
    feed = NumpyFeed(abd=False, rest_uv=4.0, peak_uv=15.0)
    plot.configure(feed.info)
    plot.set_bands(Bands(20.0, 35.0, 6.0, mvc=50.0))
    plot.set_active_band("contraction")
    plot.set_step_band_pct([20, 40])
    assert plot._regions["contraction"].getRegion() == pytest.approx((10.0, 20.0))
    assert not plot._regions["contraction"].movable
    assert "20–40 % (this step)" in plot._band_labels["contraction"].toPlainText()
    feed.advance(16.0)                          # the last 10 s hold a 15 µV squeeze and rests
    plot.update_from(feed.snapshot(10.5))
    _, y_in = plot._overlay.getData()
    finite = y_in[np.isfinite(y_in)]
    assert finite.size > 0 and ((finite >= 10.0) & (finite <= 20.0)).all() and finite.max() > 14.0
    assert (plot.bands.contraction_low, plot.bands.contraction_high) == (20.0, 35.0)   # the user's band is kept
    plot.set_step_band_pct(None)
    assert plot._regions["contraction"].getRegion() == pytest.approx((20.0, 35.0))
    assert plot._regions["contraction"].movable
    assert "this step" not in plot._band_labels["contraction"].toPlainText()


def test_without_a_maximum_the_step_band_cannot_apply(plot):
    feed = NumpyFeed(abd=False)
    plot.configure(feed.info)
    plot.set_bands(Bands(20.0, 35.0, 6.0, mvc=None))
    plot.set_step_band_pct((20.0, 40.0))
    assert not plot.step_overrides_band
    assert plot._regions["contraction"].getRegion() == pytest.approx((20.0, 35.0))


def test_window_shows_the_gentle_squeeze_band_during_the_step(make_window, qtbot):
    win = make_window(source="sim:healthy?rate=1000", speed=1.0)
    win.controller.set_bands(Bands(20.0, 35.0, 6.0, mvc=50.0))
    proto = parse_protocol({"name": "gentle", "title": "Gentle", "steps": [
        {"kind": "rest", "duration_s": 0.5, "cue": "Rest"},
        {"kind": "contract", "duration_s": 30, "cue": "Gently squeeze, about a third", "effort": 0.3,
         "band_pct": [20, 40]},
        {"kind": "contract", "duration_s": 30, "cue": "Squeeze"}]})
    win.controls.protocols = list(win.protocols) + [proto]
    win.start_protocol("gentle")
    qtbot.waitUntil(lambda: win.plot.active_band == "contraction" and win.plot.step_overrides_band, timeout=5000)
    assert win.plot._regions["contraction"].getRegion() == pytest.approx((10.0, 20.0))
    assert (win.bands.contraction_low, win.bands.contraction_high) == (20.0, 35.0)
    win.stop_protocol()
    qtbot.waitUntil(lambda: not win.plot.step_overrides_band, timeout=5000)
    assert win.plot._regions["contraction"].getRegion() == pytest.approx((20.0, 35.0))


GENTLE = {"name": "gentle", "title": "Gentle", "steps": [
    {"kind": "rest", "duration_s": 0.5, "cue": "Rest"},
    {"kind": "contract", "duration_s": 30, "cue": "Gently squeeze, about a third", "effort": 0.3,
     "band_pct": [20, 40]},
    {"kind": "contract", "duration_s": 30, "cue": "Squeeze"}]}


def test_patient_view_shows_the_steps_own_band(make_window, qtbot):
    win = make_window(source="sim:healthy?rate=1000", speed=1.0)
    win.controller.set_bands(Bands(20.0, 35.0, 6.0, mvc=50.0))
    win.controls.protocols = list(win.protocols) + [parse_protocol(GENTLE)]
    win.set_patient_view(True, full_screen=False)
    win.start_protocol("gentle")
    qtbot.waitUntil(lambda: win.patient.bar.target == "contraction" and win.plot.step_overrides_band, timeout=5000)
    qtbot.waitUntil(lambda: win.patient.bar.bands.limits("contraction") == pytest.approx((10.0, 20.0)), timeout=2000)
    assert win.patient.bar.bands.limits("contraction") == win.plot.shown_bands.limits("contraction")
    win.stop_protocol()
    qtbot.waitUntil(lambda: win.patient.bar.bands.limits("contraction") == pytest.approx((20.0, 35.0)), timeout=5000)


def _recording_with_step_band(path):
    from biofeedback.files.recording import RecordingWriter
    from biofeedback.sources.patient import SimulatedPatient
    from biofeedback.stream import Block, Event
    patient = SimulatedPatient("healthy", rate=1000.0, seed=3)
    bands = Bands(20.0, 35.0, 6.0, mvc=50.0).to_dict()
    steps = parse_protocol(GENTLE).steps
    with RecordingWriter(path, patient.info, {"bands": bands}) as w:
        for start in range(0, 20_000, 1000):
            w.append(Block(start, patient.generate(1000)))
        t = 0.0
        for i, (step, duration) in enumerate(zip(steps, (2.0, 8.0, 8.0))):
            data = dict(step.to_event_data(i, "gentle"), duration_s=duration)
            w.add_event(Event(t, "step", step.cue, data))
            t += duration
    return path


def test_replay_shows_the_recorded_steps_own_band(make_window, qtbot, tmp_path):
    path = _recording_with_step_band(tmp_path / "gentle.bfr")
    win = make_window(source=f"replay:{path}", speed=1.0)
    win.replay_bar.toggle()                                   # pause, then look inside each step
    win.replay_bar.seek(5.0)                                  # the gentle squeeze with its own band
    qtbot.waitUntil(lambda: win.plot.step_overrides_band, timeout=3000)
    assert win.plot._regions["contraction"].getRegion() == pytest.approx((10.0, 20.0))
    assert win.plot.active_band == "contraction"
    win.set_patient_view(True, full_screen=False)
    qtbot.waitUntil(lambda: win.patient.bar.bands.limits("contraction") == pytest.approx((10.0, 20.0)), timeout=3000)
    win.set_patient_view(False)
    win.replay_bar.seek(13.0)                                 # the ordinary squeeze: the session's band again
    qtbot.waitUntil(lambda: not win.plot.step_overrides_band, timeout=3000)
    assert win.plot._regions["contraction"].getRegion() == pytest.approx((20.0, 35.0))
