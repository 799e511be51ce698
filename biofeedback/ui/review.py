"""Review a whole recording at a glance: an overview strip to choose a stretch, a detail plot to zoom in."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from biofeedback.signal.calibration import Bands
from biofeedback.ui.decimate import bucket_size, peak_decimate
from biofeedback.ui.liveplot import CHANNEL_TITLES, primary_channel, unit_text
from biofeedback.ui.replay_bar import fmt_time
from biofeedback.ui.theme import LIGHT, Theme, blend


def load_envelope(path: str | Path):
    """(recording info, meta, events, duration_s, envelope (n, c)) computed with the same chain as live."""
    from biofeedback.files.offline import recording_envelope
    from biofeedback.files.recording import Recording
    rec = Recording.open(path)
    try:
        envelope = recording_envelope(rec)
        info, meta, events = rec.info, dict(rec.meta or {}), list(rec.events)
        duration, closed = rec.duration_s, rec.closed_cleanly
    finally:
        rec.close()
    return info, meta, events, duration, envelope, closed


class ReviewWindow(QtWidgets.QWidget):
    """Whole-session overview with the steps shaded and markers drawn; drag or resize the window on it to zoom."""

    def __init__(self, path: str | Path, theme: Theme = LIGHT, bands: Bands | None = None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.theme = theme
        info, meta, events, duration, env, closed = load_envelope(self.path)
        self.info, self.meta, self.events, self.duration_s, self.envelope = info, meta, events, duration, env
        self.rate = info.rate
        self.channel = primary_channel(info)
        if bands is None and meta.get("bands"):
            try:
                bands = Bands.from_dict(meta["bands"])
            except (KeyError, TypeError, ValueError):
                bands = None
        self.bands = bands
        self.setWindowTitle(f"Review · {self.path.name}")
        self.resize(1280, 800)

        ch = info.channels[self.channel]
        head = QtWidgets.QLabel(
            f"<b>{self.path.name}</b> · {fmt_time(duration)[:-2]} · {CHANNEL_TITLES.get(ch.name, ch.name)} "
            f"({unit_text(ch.unit)}) · {len([e for e in events if e.kind == 'marker'])} markers"
            + ("" if closed else " · <span style='color:#D55E00'>not closed cleanly</span>"))
        head.setContentsMargins(10, 6, 10, 6)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(theme.background)
        self.detail = self.view.addPlot(row=0, col=0)
        self.overview = self.view.addPlot(row=1, col=0)
        self.view.ci.layout.setRowStretchFactor(0, 4)
        self.view.ci.layout.setRowStretchFactor(1, 1)
        for plot, label in ((self.detail, unit_text(ch.unit)), (self.overview, unit_text(ch.unit))):
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setLabel("left", label)
            for name in ("left", "bottom"):
                plot.getAxis(name).setTextPen(pg.mkPen(theme.foreground))
                plot.getAxis(name).setPen(pg.mkPen(theme.muted))
        self.detail.setMouseEnabled(x=True, y=False)
        self.overview.setMouseEnabled(x=False, y=False)
        self.overview.setLabel("bottom", "time (s)")
        self.detail.getAxis("left").setWidth(64)
        self.overview.getAxis("left").setWidth(64)

        self.detail_curve = self.detail.plot(pen=pg.mkPen(theme.trace, width=1), connect="finite")
        self.overview_curve = self.overview.plot(pen=pg.mkPen(theme.trace, width=1), connect="finite")
        col = env[:, self.channel] if env.size else np.empty(0)
        idx, val = peak_decimate(col, 0, bucket_size(col.size, 1200))
        self.overview_curve.setData(idx / self.rate, val)
        top = float(np.nanmax(val)) if np.isfinite(val).any() else 1.0
        if self.bands is not None:
            top = max(top, self.bands.contraction_high)
        top *= 1.1
        self.overview.setYRange(0, top, padding=0)
        self.overview.setXRange(0, max(duration, 1e-3), padding=0)
        self.detail.setYRange(0, top, padding=0)
        self._draw_bands(self.detail)
        self._draw_steps_and_markers()

        shade = QtGui.QColor(theme.foreground)
        shade.setAlpha(26)
        self.region = pg.LinearRegionItem(values=(0, max(duration, 1e-3)), brush=pg.mkBrush(shade))
        for line in self.region.lines:
            line.setPen(pg.mkPen(theme.foreground, width=2))
        self.region.setZValue(-5)
        self.overview.addItem(self.region)
        self.region.sigRegionChanged.connect(self._region_changed)
        self.detail.sigXRangeChanged.connect(self._detail_ranged)
        whole = QtWidgets.QPushButton("Whole session")
        whole.clicked.connect(lambda: self.show_range(0.0, self.duration_s))
        hint = QtWidgets.QLabel("Drag the shaded window below, or scroll on the plot, to zoom.")
        hint.setStyleSheet(f"color:{theme.muted};")
        top_bar = QtWidgets.QHBoxLayout()
        top_bar.addWidget(head, 1)
        top_bar.addWidget(hint)
        top_bar.addWidget(whole)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top_bar)
        lay.addWidget(self.view, 1)
        self._region_changed()

    def _draw_bands(self, plot: pg.PlotItem) -> None:
        """Bands as labelled dashed lines (the shading is kept for the exercise steps)."""
        if self.bands is None:
            return
        edges = [("contraction", self.bands.contraction_low, ""), ("contraction", self.bands.contraction_high,
                                                                   "contraction band"),
                 ("release", self.bands.release_high, "release band")]
        for band, value, text in edges:
            line = pg.InfiniteLine(pos=value, angle=0, movable=False,
                                   pen=pg.mkPen(self.theme.band_edge(band), width=2,
                                                style=QtCore.Qt.PenStyle.DashLine),
                                   label=text or None,
                                   labelOpts={"position": 0.02, "color": self.theme.band_edge(band),
                                              "anchors": [(0, 1), (0, 1)]})
            line.setZValue(-10)
            plot.addItem(line, ignoreBounds=True)

    def _draw_steps_and_markers(self) -> None:
        steps = [e for e in self.events if e.kind == "step"]
        for e in steps:
            dur = float(e.data.get("duration_s") or 0.0)
            if e.data.get("band") == "contraction" and dur > 0:
                for plot in (self.detail, self.overview):
                    shade = pg.LinearRegionItem(values=(e.time_s, e.time_s + dur), movable=False,
                                                brush=pg.mkBrush(blend(self.theme.contraction,
                                                                       self.theme.background, 0.10)))
                    for line in shade.lines:
                        line.setPen(pg.mkPen(None))
                    shade.setZValue(-30)
                    plot.addItem(shade, ignoreBounds=True)
        for e in self.events:
            if e.kind != "marker":
                continue
            for plot in (self.detail, self.overview):
                line = pg.InfiniteLine(pos=e.time_s, angle=90, movable=False,
                                       pen=pg.mkPen(self.theme.marker, width=1),
                                       label=(e.label or "marker") if plot is self.detail else None,
                                       labelOpts={"position": 0.95, "color": self.theme.marker})
                plot.addItem(line, ignoreBounds=True)

    def show_range(self, t0: float, t1: float) -> None:
        self.region.setRegion((max(0.0, t0), min(self.duration_s, t1)))

    def _region_changed(self) -> None:
        t0, t1 = self.region.getRegion()
        self.detail.blockSignals(True)
        self.detail.setXRange(t0, t1, padding=0)
        self.detail.blockSignals(False)
        self._draw_detail(t0, t1)

    def _detail_ranged(self, _vb, rng) -> None:
        t0, t1 = rng
        self.region.blockSignals(True)
        self.region.setRegion((t0, t1))
        self.region.blockSignals(False)
        self._draw_detail(t0, t1)

    def _draw_detail(self, t0: float, t1: float) -> None:
        col = self.envelope[:, self.channel] if self.envelope.size else np.empty(0)
        i0 = max(0, int(t0 * self.rate) - 1)
        i1 = min(col.size, int(t1 * self.rate) + 2)
        if i1 <= i0:
            self.detail_curve.setData([], [])
            return
        k = bucket_size(i1 - i0, max(400, self.view.width()))
        idx, val = peak_decimate(col[i0:i1], i0, k)
        self.detail_curve.setData(idx / self.rate, val, connect="finite")

    @property
    def detail_range(self) -> tuple[float, float]:
        return tuple(self.detail.viewRange()[0])
