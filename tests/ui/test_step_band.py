"""A protocol step with its own contraction band (band_pct, % of the maximum) shows that band while it runs."""
from __future__ import annotations

import numpy as np
import pytest

from biofeedback.calibration import Bands
from biofeedback.protocols import parse_protocol
from biofeedback.ui.liveplot import LivePlot
from biofeedback.ui.theme import LIGHT
from tests.ui.numpy_feed import NumpyFeed
from tests.ui.test_main_window import make_window  # noqa: F401  (the window fixture)


@pytest.fixture
def plot(qtbot):
    p = LivePlot(LIGHT, mode="scroll")
    qtbot.addWidget(p)
    p.resize(1200, 600)
    p.show()
    return p


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


def test_window_shows_the_gentle_squeeze_band_during_the_step(make_window, qtbot):  # noqa: F811
    win = make_window(source="sim:healthy?rate=1000", speed=1.0)
    win.set_bands(Bands(20.0, 35.0, 6.0, mvc=50.0))
    proto = parse_protocol({"name": "gentle", "title": "Gentle", "steps": [
        {"kind": "rest", "duration_s": 0.5, "cue": "Rest"},
        {"kind": "contract", "duration_s": 30, "cue": "Gently squeeze, about a third", "effort": 0.3,
         "band_pct": [20, 40]},
        {"kind": "contract", "duration_s": 30, "cue": "Squeeze"}]})
    win.protocols = list(win.protocols) + [proto]
    win.start_protocol("gentle")
    qtbot.waitUntil(lambda: win.plot.active_band == "contraction" and win.plot.step_overrides_band, timeout=5000)
    assert win.plot._regions["contraction"].getRegion() == pytest.approx((10.0, 20.0))
    assert (win.bands.contraction_low, win.bands.contraction_high) == (20.0, 35.0)
    win.stop_protocol()
    qtbot.waitUntil(lambda: not win.plot.step_overrides_band, timeout=5000)
    assert win.plot._regions["contraction"].getRegion() == pytest.approx((20.0, 35.0))
