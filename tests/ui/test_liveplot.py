"""The live plot on a numpy feed: data reaches the curves, gaps stay gaps, bands drag and colour the trace."""
import sys

import numpy as np
import pytest

from biofeedback.signal.calibration import Bands
from biofeedback.ui.decimate import bucket_size, peak_decimate
from biofeedback.ui.liveplot import nice_ceiling
from biofeedback.ui.theme import DARK, LIGHT
from tests.ui.numpy_feed import NumpyFeed


def test_plot_draws_envelope_rows_with_gaps(plot, qtbot):
    feed = NumpyFeed(gap=(20.0, 21.0))
    plot.configure(feed.info)
    feed.advance(24.0)
    assert plot.update_from(feed.snapshot(10.5))
    assert not plot.update_from(feed.snapshot(10.5))          # nothing new: nothing drawn
    x, y = plot._rows[0].curve.getData()
    assert x[0] >= -10.0 - 1e-9 and x[-1] == pytest.approx(0.0, abs=0.02)
    assert y.size <= 1300                                     # about one point per pixel
    gap = (x > -4.0 + 0.02) & (x < -3.0 - 0.02)                # within one bucket (a pixel) of the edges
    assert gap.any() and np.isnan(y[gap]).all()               # NaN kept: drawn as a break
    assert np.isfinite(y[x < -4.1]).all()
    truth = feed.envelope_at(feed.snapshot(1.0).t[-1:])[0]
    assert plot.current_value == pytest.approx(truth, rel=1e-6)
    assert len(plot._rows) == 3 and plot._rows[1].channel == 1  # pfm, abd, (hidden) raw
    assert not plot._rows[2].plot.isVisible()
    plot.set_raw_visible(True)
    assert plot.wants_raw
    feed.advance(0.1)
    plot.update_from(feed.snapshot(10.5, raw=True))
    xr, yr = plot._rows[2].curve.getData()
    assert xr.size > 0 and np.nanmax(np.abs(yr)) > 0


def test_frame_painted_reports_end_index(plot, qtbot):
    feed = NumpyFeed(abd=False)
    plot.configure(feed.info)
    feed.advance(3.0)
    with qtbot.waitSignal(plot.framePainted, timeout=3000) as sig:
        plot.update_from(feed.snapshot(10.5))
        plot.view.viewport().update()
    assert sig.args[0] == feed.index


def test_active_band_highlights_and_colours_trace_inside(plot):
    feed = NumpyFeed(abd=False, rest_uv=4.0, peak_uv=60.0)
    plot.configure(feed.info)
    plot.set_bands(Bands(30.0, 70.0, 6.0, mvc=80.0))
    plot.set_active_band("contraction")
    feed.advance(16.0)                 # last 10 s hold a full contraction (60 uV) and rests (4 uV)
    plot.update_from(feed.snapshot(10.5))
    _, y_in = plot._overlay.getData()
    finite = y_in[np.isfinite(y_in)]
    assert finite.size > 0 and ((finite >= 30.0) & (finite <= 70.0)).all()
    plot.set_active_band("release")
    feed.advance(0.05)
    plot.update_from(feed.snapshot(10.5))
    _, y_rel = plot._overlay.getData()
    finite = y_rel[np.isfinite(y_rel)]
    assert finite.size > 0 and (finite <= 6.0).all()
    assert plot._regions["release"].brush.color().name() == LIGHT.band_fill("release", True)
    assert plot._regions["contraction"].brush.color().name() == LIGHT.band_fill("contraction", False)


def test_dragging_a_band_edge_emits_bands(plot, qtbot):
    feed = NumpyFeed(abd=False)
    plot.configure(feed.info)
    plot.set_bands(Bands(20.0, 40.0, 8.0, mvc=80.0))
    with qtbot.waitSignal(plot.bandsEdited, timeout=1000) as sig:
        plot._regions["contraction"].lines[1].setValue(56.0)
        plot._regions["contraction"].lines[1].sigPositionChangeFinished.emit(plot._regions["contraction"].lines[1])
    b = sig.args[0]
    assert (b.contraction_low, b.contraction_high) == pytest.approx((20.0, 56.0))
    assert b.contraction_pct == pytest.approx((25.0, 70.0))
    with qtbot.waitSignal(plot.bandsEdited, timeout=1000) as sig:
        line = plot._regions["release"].lines[1]
        line.setValue(12.0)
        line.sigPositionChangeFinished.emit(line)
    assert sig.args[0].release_high == pytest.approx(12.0)
    assert plot._regions["release"].getRegion()[0] == pytest.approx(0.0)


def test_window_and_theme_switch(plot):
    feed = NumpyFeed(abd=False)
    plot.configure(feed.info)
    plot.set_window(30)
    feed.advance(40.0)
    plot.update_from(feed.snapshot(31))
    x, _ = plot._rows[0].curve.getData()
    assert x[0] == pytest.approx(-30.0, abs=0.05)
    assert plot._rows[0].plot.viewRange()[0] == pytest.approx([-30.0, 0.0])
    plot.set_theme(DARK)
    assert plot.view.backgroundBrush().color().name() == DARK.background
    assert len(plot._rows) == 2


def test_setdata_takes_no_reference_from_none(qtbot):
    """PySide6 6.12.0 on Python 3.11 drops a reference to None in QObject.property, which every
    PlotDataItem.setData calls (shared/PLATFORM.md): the interpreter aborts once None's count runs out,
    within seconds of a live plot. Counting None's references around 5,000 calls finds such a version
    without waiting for the abort (each call would take at least one away)."""
    import pyqtgraph as pg
    curve = pg.PlotDataItem()              # the same setData path as the live plot's curves
    x = np.linspace(-2, 0, 8)
    for i in range(100):                   # caches and lazily made objects settle first
        curve.setData(x, x + (i & 1))
    calls = 5_000
    before = sys.getrefcount(None)
    for i in range(calls):
        curve.setData(x, x + (i & 1))
    after = sys.getrefcount(None)
    assert after > before - calls // 10, (before, after)
    assert curve.getData()[1][-1] == pytest.approx((calls - 1) & 1)


def test_peak_decimate_keeps_extremes_gaps_and_alignment():
    y = np.zeros(1000)
    y[123] = 9.0
    y[400] = -5.0
    y[600:700] = np.nan
    idx, val = peak_decimate(y, 1000, 10)
    assert np.nanmax(val) == 9.0 and np.nanmin(val) == -5.0
    assert np.isnan(val[(idx >= 1600) & (idx < 1700)]).all()
    # buckets are aligned to absolute indices: shifting the window by a bucket keeps the same values
    idx2, val2 = peak_decimate(np.concatenate([y[10:], [0.0] * 10]), 1010, 10)
    common = np.intersect1d(idx, idx2)
    a = val[np.isin(idx, common)]
    b = val2[np.isin(idx2, common)]
    assert np.array_equal(a, b, equal_nan=True)
    assert bucket_size(20000, 1000, 2.0) == 20
    assert nice_ceiling(7.3) == 8.0 and nice_ceiling(0.21) == 0.25 and nice_ceiling(120) == 150


def test_sweep_writes_new_points_in_place_with_a_blank_gap_ahead(sweep_plot):
    feed = NumpyFeed(gap=(3.0, 3.5))
    sweep_plot.configure(feed.info)
    feed.advance(4.0)
    assert sweep_plot.needed_seconds(feed.index / feed.rate, feed.rate) == pytest.approx(10.1)
    assert sweep_plot.update_from(feed.snapshot(10.1))
    sweep = sweep_plot._rows[0].sweep
    x, y = sweep.getData()
    assert sweep.width_s == pytest.approx(10.0) and x[-1] < 10.0
    snap = feed.snapshot(10.1)
    k = np.rint(snap.t / sweep.dt).astype(int)
    assert np.array_equal(y[k % sweep.capacity], snap.envelope[:, 0], equal_nan=True)    # every point, in place
    assert np.isnan(y[(x > 3.0 + 0.01) & (x < 3.5 - 0.01)]).all()                        # NaN gap kept
    assert np.isnan(y[k[-1] % sweep.capacity + 1:]).all()                                  # not written yet
    # the next frame asks only for what is new, and writes only that
    feed.advance(0.05)
    need = sweep_plot.needed_seconds(feed.index / feed.rate, feed.rate)
    assert need < 0.2
    sweep_plot.update_from(feed.snapshot(need))
    assert sweep.head == (feed.index - 1) // feed.step
    # after wrapping, the newest points overwrite the oldest and a blank gap runs ahead of them
    feed.advance(8.0)
    sweep_plot.update_from(feed.snapshot(10.1))
    x, y = sweep.getData()
    head_col = sweep.head % sweep.capacity
    gap_cols = (np.arange(1, sweep.gap + 1) + head_col) % sweep.capacity
    assert np.isnan(y[gap_cols]).all()
    assert np.isfinite(y[head_col]) and sweep.newest == y[head_col]
    truth = feed.envelope_at(np.array([sweep.head * sweep.dt]))[0]
    assert sweep.newest == pytest.approx(truth) and sweep_plot.current_value == pytest.approx(truth)


def test_sweep_marks_only_thin_strips_dirty(sweep_plot, qtbot):
    feed = NumpyFeed(abd=False)
    sweep_plot.configure(feed.info)
    feed.advance(3.0)
    sweep_plot.update_from(feed.snapshot(10.1))
    qtbot.waitUntil(lambda: sweep_plot.frames_drawn >= 1)
    sweep_plot.view.repaint()
    regions = []
    orig = sweep_plot.view.paintEvent

    def spy(ev):
        regions.append(ev.region().boundingRect())
        orig(ev)
    sweep_plot.view.paintEvent = spy
    for _ in range(8):                                            # settle: first frames may repaint fully
        feed.advance(0.02)
        n = len(regions)
        sweep_plot.update_from(feed.snapshot(0.2))
        qtbot.waitUntil(lambda n=n: len(regions) > n, timeout=2000)
    plot_width = sweep_plot._rows[0].plot.vb.width()
    assert max(r.width() for r in regions[-4:]) < 0.1 * plot_width     # a strip, not the whole plot


def test_sweep_after_a_seek_starts_clean(sweep_plot):
    feed = NumpyFeed(abd=False)
    sweep_plot.configure(feed.info)
    feed.advance(9.0)
    sweep_plot.update_from(feed.snapshot(10.1))
    feed.index = int(2.0 * feed.rate)          # a replay jumped back to 2 s
    sweep_plot.update_from(feed.snapshot(sweep_plot.needed_seconds(2.0, feed.rate)))
    _x, y = sweep_plot._rows[0].sweep.getData()
    assert np.isfinite(y).sum() <= int(2.0 * 200) + 1           # only what the new position has
    assert sweep_plot._rows[0].sweep.head == (feed.index - 1) // feed.step


def test_sweep_raw_row_keeps_peaks(sweep_plot):
    feed = NumpyFeed(abd=False)
    sweep_plot.configure(feed.info)
    sweep_plot.set_raw_visible(True)
    feed.advance(4.0)
    snap = feed.snapshot(10.1, raw=True)
    sweep_plot.update_from(snap)
    raw = sweep_plot._rows[-1].sweep
    _x, y = raw.getData()
    kb = int(round(raw.dt * 2 * feed.rate))                      # samples per min/max bucket
    first = int(round(snap.raw_t[0] * feed.rate))
    b0, b1 = -(-first // kb), (raw.head + 1) // 2
    covered = snap.filtered[b0 * kb - first:b1 * kb - first, 0]
    assert b1 - b0 > 100
    assert np.nanmax(y) == np.max(covered) and np.nanmin(y) == np.min(covered)   # peaks survive decimation


def _sweep_matches(sweep, truth_at) -> None:
    """Every point the sweep still shows (all but the blank gap ahead of the newest) is the input's value there:
    a break (NaN) only where the input itself had NaN."""
    head = sweep.head
    k = np.arange(max(0, head - sweep.capacity + sweep.gap + 1), head + 1)
    shown = sweep.y[k % sweep.capacity]
    truth = truth_at(k)
    lost = np.isnan(shown) & ~np.isnan(truth)
    assert not lost.any(), f"break on screen at {k[lost][:3] * sweep.dt} s where the input had signal"
    assert np.allclose(shown, truth, equal_nan=True)


def test_sweep_has_no_break_where_no_sample_was_lost(sweep_plot):
    """Taking a snapshot brings in samples that arrived after the frame read the clock (the engine pumps its
    source first), by an irregular amount: the sweep still shows every point; only the input's own gap."""
    feed = NumpyFeed(abd=False, gap=(23.0, 23.4))
    sweep_plot.configure(feed.info)
    rng = np.random.default_rng(3)

    def take(seconds, fresh):
        if fresh:
            feed.advance(float(rng.choice([0.0, 0.004, 0.016, 0.05, 0.15, 0.3, 0.8])))   # what arrived meanwhile
        elif rng.random() < 0.3:
            feed.advance(0.1)                   # the engine thread brought in a block between two looks
        return feed.snapshot(seconds)

    sweep = sweep_plot._rows[0].sweep
    saw_gap = False
    for _ in range(400):
        feed.advance(float(rng.uniform(0.0, 0.12)))          # irregular frame timing
        sweep_plot.draw(take, feed.index / feed.rate, feed.rate)
        _sweep_matches(sweep, lambda k: feed._channels(k * sweep.dt)[:, 0])
        saw_gap |= bool(np.isnan(sweep.y[:sweep.capacity]).sum() > sweep.gap + 5)
    assert feed.index / feed.rate > 30 and saw_gap           # the input's own break was shown as a break
