"""The live plot: envelope trace(s) with the contraction and release bands, drawn from engine snapshots.

Drawing is kept cheap on purpose (see shared/PLATFORM.md): the time axis is
fixed (seconds before now, ``-window .. 0``) so axes, grid and bands never
repaint for scrolling; one curve item per trace is updated with ``setData`` on
double-buffered preallocated arrays decimated to about two points per pixel;
pens are 1 px and opaque; band fills are opaque; auto-range is off and the
vertical range only changes with hysteresis. The plot never filters: it draws
the envelope and band-passed signal the engine already computed.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from biofeedback.signal.calibration import Bands, placeholder_bands
from biofeedback.stream import StreamInfo, primary_channel
from biofeedback.ui.decimate import bucket_size, peak_decimate
from biofeedback.ui.display_units import display_factor, display_unit, unit_text
from biofeedback.ui.readout import Readout
from biofeedback.ui.sweep import SweepCurve
from biofeedback.ui.theme import LIGHT, Theme

CHANNEL_TITLES = {"pfm": "Pelvic floor", "abd": "Abdominal (accessory)", "pressure": "Pressure"}
__all__ = ["LivePlot", "primary_channel", "nice_ceiling", "unit_text", "CHANNEL_TITLES"]


def nice_ceiling(x: float) -> float:
    """Smallest 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 x 10^k at or above ``x`` (a round axis top)."""
    if not (x > 0 and math.isfinite(x)):
        return 1.0
    exp = 10 ** math.floor(math.log10(x))
    for m in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if m * exp >= x * (1 - 1e-12):
            return m * exp
    return 10.0 * exp


class _PaintTimedView(pg.GraphicsLayoutWidget):
    """GraphicsLayoutWidget that reports the end of each paint (for display-latency figures)."""

    def __init__(self, on_painted: Callable[[], None]) -> None:
        super().__init__()
        self._on_painted = on_painted

    def paintEvent(self, ev: QtGui.QPaintEvent) -> None:
        super().paintEvent(ev)
        self._on_painted()


class _Row:
    """One plot row: a PlotItem, its curve(s) and double-buffered output arrays."""

    def __init__(self, plot: pg.PlotItem, channel: int, kind: str, pen: QtGui.QPen, sweep: bool,
                 band_pen: QtGui.QPen | None = None) -> None:
        self.plot, self.channel, self.kind = plot, channel, kind   # kind: "envelope" | "raw"
        self.sweep: SweepCurve | None = None
        if sweep:
            self.sweep = SweepCurve(pen, band_pen)
            self.curve = self.sweep
        else:
            self.curve = pg.PlotDataItem(pen=pen, connect="finite", antialias=False)
            self.curve.setClipToView(False)
        plot.addItem(self.curve)
        self.done = -1          # sweep: absolute number of the last point written
        self.y_top = 1.0
        self.y_bottom = 0.0


class LivePlot(QtWidgets.QWidget):
    """Rows of live traces plus a large current-value readout; bands on the main row are draggable."""

    #: width of the main envelope pen (opaque, not antialiased); see the display benchmark
    MAIN_PEN_PX = 2

    bandsEdited = QtCore.Signal(object)   # Bands, after the user dragged a band edge
    framePainted = QtCore.Signal(int, float)  # end_index painted, time.monotonic() at the end of the paint

    MODES = ("sweep", "scroll")

    def __init__(self, theme: Theme = LIGHT, window_s: float = 10.0, parent: QtWidgets.QWidget | None = None,
                 mode: str = "sweep") -> None:
        super().__init__(parent)
        if mode not in self.MODES:
            raise ValueError(f"unknown plot mode {mode!r}; choose sweep or scroll")
        self.mode = mode
        self.theme = theme
        self.pressure_unit = "cmH2O"    # display only: data, bands and y-range stay in the stored unit
        self.window_s = float(window_s)
        self.raw_visible = False
        self.info: StreamInfo | None = None
        self.bands: Bands = placeholder_bands()
        self.active_band: str | None = None
        self.step_band_pct: tuple[float, float] | None = None   # the running step's own contraction band, %MVC
        self.current_value = float("nan")
        self.frames_drawn = 0
        self.end_index = -1
        self._pending_paint: int | None = None
        self._rows: list[_Row] = []
        self._overlay: pg.PlotDataItem | None = None
        self._regions: dict[str, pg.LinearRegionItem] = {}
        self._band_labels: dict[str, pg.TextItem] = {}
        self._buffers: dict[tuple[int, int], np.ndarray] = {}
        self._flip = 0
        self._last_readout = 0.0

        self._tick_font = QtGui.QFont()
        self._tick_font.setPointSize(12)
        self.view = _PaintTimedView(self._painted)
        self.view.setAntialiasing(False)
        flags = QtWidgets.QGraphicsView.OptimizationFlag
        self.view.setOptimizationFlag(flags.DontSavePainterState, True)
        self.view.setOptimizationFlag(flags.DontAdjustForAntialiasing, True)
        self.view.scene().setItemIndexMethod(QtWidgets.QGraphicsScene.ItemIndexMethod.NoIndex)
        self.view.ci.setContentsMargins(4, 8, 12, 4)
        self.view.ci.setSpacing(6)

        self.readout = Readout(theme)
        self.setAccessibleName("Live muscle trace")
        self.view.setAccessibleName("Live muscle trace")
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.readout, 0)
        self.set_theme(theme)

    # ------------------------------------------------------------------ set-up
    def configure(self, info: StreamInfo) -> None:
        """(Re)build the rows for a stream: main envelope row, one row per other channel, optional raw row."""
        self.info = info
        self.view.ci.clear()
        self._rows.clear()
        self._regions.clear()
        self._band_labels.clear()
        self._buffers.clear()
        self.end_index = -1
        main = primary_channel(info)
        ch = info.channels[main]
        if self.bands.unit != ch.unit:
            self.bands = placeholder_bands(ch.unit, ch.name)
        order = [main] + [i for i in range(info.n_channels) if i != main]
        r = 0
        for i in order:
            c = info.channels[i]
            plot = self._new_plot(r, CHANNEL_TITLES.get(c.name, c.name), display_unit(c.unit, self.pressure_unit),
                                  display_factor(c.unit, self.pressure_unit))
            pen = pg.mkPen(self.theme.trace if i == main else self.theme.accessory,
                           width=self.MAIN_PEN_PX if i == main else 1)
            band_pen = pg.mkPen(self.theme.trace_in_band, width=self.MAIN_PEN_PX) if i == main else None
            self._rows.append(_Row(plot, i, "envelope", pen, self.sweeping, band_pen))
            self.view.ci.layout.setRowStretchFactor(r, 3 if i == main else 1)
            r += 1
        if ch.kind == "emg":
            plot = self._new_plot(r, f"{CHANNEL_TITLES.get(ch.name, ch.name)} EMG (band-passed)", unit_text(ch.unit))
            self._rows.append(_Row(plot, main, "raw", pg.mkPen(self.theme.raw, width=1), self.sweeping))
            self.view.ci.layout.setRowStretchFactor(r, 1)
        main_plot = self._rows[0].plot
        if not self.sweeping:                   # the sweep curve colours its own in-band stretches
            self._overlay = pg.PlotDataItem(pen=pg.mkPen(self.theme.trace_in_band, width=self.MAIN_PEN_PX),
                                            connect="finite", antialias=False)
            main_plot.addItem(self._overlay)
        else:
            self._overlay = None
        self._build_bands(main_plot)
        self._cache_static_items()
        self.readout.set_channel(CHANNEL_TITLES.get(ch.name, ch.name), display_unit(ch.unit, self.pressure_unit),
                                 display_factor(ch.unit, self.pressure_unit))
        self._apply_row_visibility()
        self.set_window(self.window_s)
        self.set_bands(self.bands)

    def _new_plot(self, row: int, title: str, unit: str, factor: float = 1.0) -> pg.PlotItem:
        plot = self.view.ci.addPlot(row=row, col=0)
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.enableAutoRange(x=False, y=False)
        plot.setClipToView(False)
        plot.showGrid(x=False, y=False)
        plot.setLabel("left", unit)
        name = pg.TextItem(title, color=self.theme.muted, anchor=(0, 0))
        font = QtGui.QFont()
        font.setPointSize(10)
        name.setFont(font)
        name.setParentItem(plot.vb)          # view-box pixels: stays in the corner whatever the range
        name.setPos(6, 2)
        for name in ("left", "bottom"):
            ax = plot.getAxis(name)
            ax.setPen(pg.mkPen(self.theme.muted, width=1))
            ax.setTextPen(pg.mkPen(self.theme.foreground))
            ax.setStyle(tickFont=self._tick_font)       # readable from across the room and on a projector
            ax.label.setFont(self._tick_font)
        plot.getAxis("left").setScale(factor)   # the curve stays in the stored unit; the ticks read in the shown one
        plot.getAxis("left").setWidth(72)
        plot.getAxis("bottom").setHeight(28)
        plot.setYRange(0, 1, padding=0)
        return plot

    def _cache_static_items(self) -> None:
        """Axes, bands and labels do not move while the traces scroll: paint them from pixmap caches."""
        cache = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
        for row in self._rows:
            for ax in row.plot.axes.values():
                ax["item"].setCacheMode(cache)
        for region in self._regions.values():
            region.setCacheMode(cache)
            for line in region.lines:
                line.setCacheMode(cache)
        for label in self._band_labels.values():
            label.setCacheMode(cache)

    def _build_bands(self, plot: pg.PlotItem) -> None:
        for band in ("release", "contraction"):
            region = pg.LinearRegionItem(orientation="horizontal", movable=True, swapMode="sort")
            region.setZValue(-20)
            region.sigRegionChangeFinished.connect(self._region_dragged)
            plot.addItem(region, ignoreBounds=True)
            label = pg.TextItem(anchor=(0, 1), fill=pg.mkBrush(self.theme.background))
            label.setZValue(-5)                # above the bands, below the trace: never hides the signal
            font = QtGui.QFont()
            font.setPointSize(11)
            font.setBold(True)
            label.setFont(font)
            plot.addItem(label, ignoreBounds=True)
            self._regions[band], self._band_labels[band] = region, label
        release = self._regions["release"]
        release.setMovable(False)              # the release band always reaches down to zero
        release.lines[1].setMovable(True)      # ... only its upper edge is dragged
        self._style_bands()

    def _style_bands(self) -> None:
        for band, region in self._regions.items():
            active = band == self.active_band
            region.setBrush(pg.mkBrush(self.theme.band_fill(band, active)))
            region.setHoverBrush(pg.mkBrush(self.theme.band_fill(band, True)))
            region.update()                    # setBrush alone does not repaint (nor refresh the item cache)
            edge = pg.mkPen(self.theme.band_edge(band), width=2 if active else 1,
                            style=QtCore.Qt.PenStyle.SolidLine if active else QtCore.Qt.PenStyle.DashLine)
            for line in region.lines:
                line.setPen(edge)
                line.setHoverPen(pg.mkPen(self.theme.foreground, width=2))
            label = self._band_labels[band]
            word = "Contraction" if band == "contraction" else "Release"
            own = ""
            if band == "contraction" and self.step_overrides_band:
                lo, hi = self.step_band_pct
                own = f" {lo:g}–{hi:g} % (this step)"
            label.setText(f"{word} band{own}" + ("  ◀ target" if active else ""))
            label.setColor(pg.mkColor(self.theme.foreground if active else self.theme.muted))
        if self._regions:
            self._regions["contraction"].setZValue(-19 if self.active_band == "contraction" else -20)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.view.setBackground(theme.background)
        self.readout.set_theme(theme)
        if self.info is not None:
            self.configure(self.info)

    def set_pressure_unit(self, unit: str) -> None:
        """Show pressure in ``cmH2O`` (default) or ``mmHg``: axis ticks, axis label and readout.

        Only the display changes; what is stored stays in cmH2O.
        """
        display_factor("cmH2O", unit)          # refuses an unknown unit
        if unit == self.pressure_unit:
            return
        self.pressure_unit = unit
        if self.info is None:
            return
        for row in self._rows:                  # relabel in place: the trace (even a paused one) stays
            c = self.info.channels[row.channel]
            row.plot.getAxis("left").setScale(display_factor(c.unit, unit))
            row.plot.setLabel("left", display_unit(c.unit, unit))
        ch = self.info.channels[primary_channel(self.info)]
        self.readout.set_channel(CHANNEL_TITLES.get(ch.name, ch.name), display_unit(ch.unit, unit),
                                 display_factor(ch.unit, unit))
        self._last_readout = 0.0                # redraw the digits in the new unit now
        self._update_value(np.array([self.current_value]))

    @property
    def sweeping(self) -> bool:
        return self.mode == "sweep"

    def set_mode(self, mode: str) -> None:
        """``sweep`` (newest signal written over the oldest, cheapest to draw) or ``scroll``."""
        if mode not in self.MODES:
            raise ValueError(f"unknown plot mode {mode!r}; choose sweep or scroll")
        if mode != self.mode:
            self.mode = mode
            if self.info is not None:
                self.configure(self.info)

    def set_window(self, seconds: float) -> None:
        """Show the last ``seconds`` (5, 10 or 30) of signal."""
        self.window_s = float(seconds)
        for row in self._rows:
            if self.sweeping:
                row.plot.setXRange(0, self.window_s, padding=0)
                row.sweep.clear()
                row.done = -1
            else:
                row.plot.setXRange(-self.window_s, 0, padding=0)
        self.end_index = -1
        self._buffers.clear()
        self._place_labels()

    def set_raw_visible(self, visible: bool) -> None:
        """Show or hide the filtered-EMG row (off by default: it costs the most to draw)."""
        self.raw_visible = bool(visible)
        self._apply_row_visibility()

    def _apply_row_visibility(self) -> None:
        for r, row in enumerate(self._rows):
            show = row.kind != "raw" or self.raw_visible
            row.plot.setVisible(show)
            self.view.ci.layout.setRowStretchFactor(r, 0 if not show else (3 if r == 0 else 1))
            if not show:
                self.view.ci.layout.setRowMaximumHeight(r, 0)
            else:
                self.view.ci.layout.setRowMaximumHeight(r, 100000)
        visible = [row for row in self._rows if row.plot.isVisible()]
        for row in self._rows:
            bottom = row is visible[-1] if visible else False
            row.plot.getAxis("bottom").setStyle(showValues=bottom)
            row.plot.setLabel("bottom", ("seconds (sweep)" if self.sweeping
                                         else "seconds before now") if bottom else "")
            row.plot.getAxis("bottom").setHeight(40 if bottom else 6)

    # ------------------------------------------------------------------ bands
    @property
    def step_overrides_band(self) -> bool:
        """True while the running step's own %MVC band replaces the contraction band (needs an MVC)."""
        return self.step_band_pct is not None and self.bands.mvc is not None

    @property
    def shown_bands(self) -> Bands:
        """The bands on screen: :attr:`bands`, with the running step's own contraction band when it has one."""
        if self.step_overrides_band:
            return self.bands.with_contraction_pct(*self.step_band_pct)
        return self.bands

    def set_step_band_pct(self, band_pct: tuple[float, float] | list[float] | None) -> None:
        """The running step's own contraction band in %MVC (a protocol's ``band_pct``), or None for the usual one.

        Shown only when the bands have an MVC; the user's own band is kept and comes back after the step.
        While a step's band shows, its edges cannot be dragged (that would overwrite the user's band).
        """
        pct = None if band_pct is None else (float(band_pct[0]), float(band_pct[1]))
        if pct == self.step_band_pct:
            return
        self.step_band_pct = pct
        if not self._regions:
            return
        self._place_regions()
        self._regions["contraction"].setMovable(not self.step_overrides_band)
        self._style_bands()
        self._place_labels()
        self._sync_sweep_band()

    def _place_regions(self) -> None:
        shown = self.shown_bands
        for band, region in self._regions.items():
            lo, hi = shown.limits(band)
            region.blockSignals(True)
            region.setRegion((lo, hi))
            region.blockSignals(False)

    def set_bands(self, bands: Bands) -> None:
        """Place the two bands (without emitting :attr:`bandsEdited`)."""
        self.bands = bands
        if not self._regions:
            return
        self._place_regions()
        self._regions["contraction"].setMovable(not self.step_overrides_band)
        self._style_bands()
        row = self._rows[0]
        self._fit_y(row, float("nan"), force=True)
        self._place_labels()
        self._sync_sweep_band()

    def set_active_band(self, band: str | None) -> None:
        """Highlight ``"contraction"``, ``"release"`` or neither; the trace turns colour inside it."""
        if band not in ("contraction", "release"):
            band = None
        if band != self.active_band:
            self.active_band = band
            self._style_bands()
            if band is None and self._overlay is not None:
                self._overlay.setData([], [])
            self._sync_sweep_band()

    def _sync_sweep_band(self) -> None:
        if self.sweeping and self._rows:
            self._rows[0].sweep.set_band(None if self.active_band is None
                                         else self.shown_bands.limits(self.active_band))

    def _region_dragged(self, region: pg.LinearRegionItem) -> None:
        lo, hi = region.getRegion()
        if region is self._regions.get("release"):
            if abs(lo) > 1e-12:                      # keep the floor at zero
                region.blockSignals(True)
                region.setRegion((0.0, hi))
                region.blockSignals(False)
            self.bands = self.bands.with_release(hi)
        elif self.step_overrides_band:             # a step's own band is not the user's to move
            self._place_regions()
            return
        else:
            self.bands = self.bands.with_contraction(lo, hi)
        self._place_labels()
        self._sync_sweep_band()
        self.bandsEdited.emit(self.bands)

    def _place_labels(self) -> None:
        if not self._band_labels:
            return
        shown = self.shown_bands
        for band, label in self._band_labels.items():
            lo, hi = shown.limits(band)
            label.setPos(self.window_s * 0.005 if self.sweeping else -self.window_s * 0.995, hi)

    # ------------------------------------------------------------------ drawing
    def _buffer(self, key: int, n: int) -> np.ndarray:
        """A preallocated output array (two alternating per key so a curve never sees its data change)."""
        slot = (key, self._flip)
        buf = self._buffers.get(slot)
        if buf is None or buf.size < n:
            buf = np.empty(max(n, 4096))
            self._buffers[slot] = buf
        return buf[:n]

    @property
    def wants_raw(self) -> bool:
        """True when the filtered-EMG row is shown (the engine's snapshot must then include it)."""
        return self.raw_visible and any(r.kind == "raw" for r in self._rows)

    def update_from(self, snap) -> bool:
        """Draw an engine :class:`~biofeedback.session.engine.Snapshot`; False if nothing new arrived.

        The envelope rows use ``snap.t``/``snap.envelope`` (the engine keeps the envelope at
        about 200 points a second); the raw row uses ``snap.raw_t``/``snap.filtered``.
        """
        if self.info is None or snap is None:
            return False
        end = int(snap.end_index)
        if end == self.end_index:
            return False
        if self.sweeping:
            return self._update_sweep(snap, end)
        self.end_index = end
        rate = float(snap.rate)
        t_end = end / rate
        width = max(200, self.view.width() - 90)
        self._flip ^= 1
        drew = False
        for r, row in enumerate(self._rows):
            if not row.plot.isVisible():
                continue
            if row.kind == "envelope":
                t, data, ppp = np.asarray(snap.t), np.asarray(snap.envelope), 1.0   # smooth: 1 point per pixel
            else:
                if getattr(snap, "filtered", None) is None:
                    row.curve.setData([], [])
                    continue
                t, data, ppp = np.asarray(snap.raw_t), np.asarray(snap.filtered), 2.0  # raw: min+max per pixel
            if t.size == 0:
                continue
            keep = t >= t_end - self.window_s - 1e-9
            t, y = t[keep], data[keep, row.channel]
            if t.size == 0:
                continue
            step = (t[-1] - t[0]) / (t.size - 1) if t.size > 1 else 1.0 / rate
            k = bucket_size(t.size, width, points_per_pixel=ppp)
            first = int(round(t[0] / step))
            idx, val = peak_decimate(y, first, k)
            x = self._buffer(2 * r, idx.size)
            np.multiply(idx, step, out=x)
            x -= t_end
            yy = self._buffer(2 * r + 1, val.size)
            yy[:] = val
            row.curve.setData(x, yy, connect="finite")
            finite = np.isfinite(val)
            if r == 0:
                self._draw_overlay(x, yy)
                self._update_value(y)
            if finite.any():
                self._fit_y(row, float(val[finite].max()), low=float(val[finite].min()))
            drew = True
        if drew:
            self.frames_drawn += 1
            self._pending_paint = end
        return drew

    def needed_seconds(self, t_now: float, rate: float) -> float:
        """How much recent signal the next frame needs (a sweep only draws what is new)."""
        if not self.sweeping or self.end_index < 0:
            return self.window_s + 0.1
        return float(min(self.window_s + 0.1, max(0.1, t_now - self.end_index / rate + 0.1)))

    def draw(self, take: Callable[[float, bool], object], t_now: float, rate: float):
        """Take a snapshot with ``take(seconds, fresh)`` and draw it; returns the snapshot if it drew.

        Why: taking a snapshot may first bring in samples that arrived after ``t_now`` (the engine pumps
        its source), so a snapshot sized from ``t_now`` can start after the last point drawn and the sweep
        would show a break where no sample was lost. The plot checks that the snapshot reaches back to
        what it drew before, and takes a longer one (without pumping again) when it does not.
        """
        seconds = self.needed_seconds(t_now, rate)
        snap = take(seconds, True)
        for attempt in range(3):
            if snap is None:
                return None
            need = self.needed_seconds(snap.end_index / rate, rate)
            if need <= seconds + 1e-9:
                break
            seconds = need if attempt < 2 else self.window_s + 0.1
            snap = take(seconds, False)
        return snap if self.update_from(snap) else None

    def _update_sweep(self, snap, end: int) -> bool:
        rate = float(snap.rate)
        jumped = self.end_index >= 0 and (end < self.end_index or end - self.end_index > self.window_s * rate)
        self.end_index = end
        drew = False
        for r, row in enumerate(self._rows):
            if not row.plot.isVisible():
                continue
            sweep = row.sweep
            if row.kind == "envelope":
                t = np.asarray(snap.t)
                if t.size < 2:
                    continue
                dt = (t[-1] - t[0]) / (t.size - 1)
                if abs(dt - sweep.dt) < 1e-6 * dt:
                    dt = sweep.dt                            # same spacing as before: keep the sweep
                cap = max(10, int(round(self.window_s / dt)))
                if jumped or sweep.capacity != cap or abs(sweep.dt - dt) > 1e-9:
                    if sweep.capacity != cap or abs(sweep.dt - dt) > 1e-9:
                        sweep.reset(cap, dt)
                    else:
                        sweep.clear()
                    self._fit_y(row, float("nan"), force=True)
                k = np.rint(t / dt).astype(np.int64)
                new = k > sweep.head
                if not new.any():
                    continue
                y = np.asarray(snap.envelope)[new, row.channel]
                sweep.write(int(k[new][0]), y)
                if r == 0:
                    self._update_value(y)
            else:
                if getattr(snap, "filtered", None) is None or snap.raw_t is None or snap.raw_t.size < 2:
                    continue
                width = max(200, self.view.width() - 90)
                kb = bucket_size(int(self.window_s * rate), width, points_per_pixel=2.0)
                dt = kb / rate / 2.0
                cap = 2 * int(round(self.window_s * rate / kb))
                if jumped or sweep.capacity != cap or abs(sweep.dt - dt) > 1e-12:
                    if sweep.capacity != cap or abs(sweep.dt - dt) > 1e-12:
                        sweep.reset(cap, dt)
                    else:
                        sweep.clear()
                    row.done = -1
                first = int(round(snap.raw_t[0] * rate))
                data = np.asarray(snap.filtered)[:, row.channel]
                b0 = max(-(-first // kb), (sweep.head + 1) // 2)       # first whole bucket not yet drawn
                b1 = (first + data.size) // kb                          # one past the last whole bucket
                if b1 <= b0:
                    continue
                block = data[b0 * kb - first:b1 * kb - first].reshape(-1, kb)
                with np.errstate(invalid="ignore"):
                    pairs = np.empty(2 * block.shape[0])
                    pairs[0::2] = np.fmin.reduce(block, axis=1)
                    pairs[1::2] = np.fmax.reduce(block, axis=1)
                sweep.write(2 * b0, pairs)
            self._fit_sweep(row)
            drew = True
        if drew:
            self.frames_drawn += 1
            self._pending_paint = end
        return drew

    def _fit_sweep(self, row: _Row) -> None:
        """Vertical range of a sweep row: grow with the newest points at once, rescan the whole sweep twice a second."""
        sweep = row.sweep
        row.fit_countdown = getattr(row, "fit_countdown", 0) - 1
        if row.fit_countdown <= 0:
            row.fit_countdown = 30
            with np.errstate(invalid="ignore"):
                hi, lo = np.fmax.reduce(sweep.y), np.fmin.reduce(sweep.y)
        else:
            hi = lo = sweep.newest
        if math.isfinite(hi):
            self._fit_y(row, float(hi), low=min(0.0, float(lo)), grow_only=row.fit_countdown != 30)

    def _draw_overlay(self, x: np.ndarray, y: np.ndarray) -> None:
        if self._overlay is None:
            return
        if self.active_band is None:
            return
        lo, hi = self.shown_bands.limits(self.active_band)
        inside = self._buffer(-1, y.size)
        inside[:] = y
        with np.errstate(invalid="ignore"):
            inside[(y < lo) | (y > hi)] = np.nan
        self._overlay.setData(x, inside, connect="finite")

    @property
    def no_signal(self) -> bool:
        """True while the readout says no sample arrives (cleared by the next sample drawn)."""
        return self.readout.no_signal

    def show_no_signal(self) -> None:
        """No sample arrives: the readout and band status say so instead of keeping the last value."""
        self.current_value = float("nan")
        if not self.readout.no_signal:
            self.readout.show_no_signal()

    def _update_value(self, y: np.ndarray) -> None:
        finite = np.flatnonzero(np.isfinite(y[-64:]))
        self.current_value = float(y[-64:][finite[-1]]) if finite.size else float("nan")
        now = time.monotonic()
        if now - self._last_readout >= 0.1 or self.readout.no_signal:   # ten times a second: readable, cheap
            self._last_readout = now
            band_state = None
            if self.active_band is not None and math.isfinite(self.current_value):
                band_state = self.shown_bands.contains(self.active_band, self.current_value)
            pct = None
            if self.bands.mvc and math.isfinite(self.current_value):
                pct = self.bands.to_percent(self.current_value)
            self.readout.show_value(self.current_value, pct, self.active_band, band_state)

    def _fit_y(self, row: _Row, data_max: float, low: float = 0.0, force: bool = False,
               grow_only: bool = False) -> None:
        """Vertical range with hysteresis: grow at once, shrink only when the data use under half of it."""
        need = data_max * 1.1 if math.isfinite(data_max) else 0.0
        if row is self._rows[0]:
            need = max(need, self.bands.contraction_high * 1.3, self.bands.release_high * 2.0)
        need = max(need, 1e-6)
        top = row.y_top
        if force or need > top or (need < 0.45 * top and not grow_only):
            top = nice_ceiling(need * (1.15 if need > top else 1.0))
        bottom = 0.0 if not (math.isfinite(low) and low < 0) else -nice_ceiling(-low * 1.1)
        if grow_only and bottom > row.y_bottom:
            bottom = row.y_bottom
        if force or top != row.y_top or bottom != row.y_bottom:
            row.y_top, row.y_bottom = top, bottom
            row.plot.setYRange(bottom, top, padding=0)
            if row.sweep is not None:
                row.sweep.set_y_extent(bottom, top)

    def _painted(self) -> None:
        if self._pending_paint is not None:
            end, self._pending_paint = self._pending_paint, None
            self.framePainted.emit(end, time.monotonic())
