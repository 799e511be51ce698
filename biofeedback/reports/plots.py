"""Report plots drawn with pyqtgraph and exported as PNG with its ImageExporter (its SVG exporter fails on Qt 6.11).

The drawing functions fill a given ``PlotItem`` so the history view can show the same plots live.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
from collections.abc import Sequence
from html import escape

import numpy as np
import pyqtgraph as pg
from pyqtgraph.exporters import ImageExporter
from PySide6 import QtCore, QtGui, QtWidgets

from biofeedback.clinic.progress import GoalStatus, Trend
from biofeedback.reports.content import SessionReport, trend_y_range
from biofeedback.reports.overlay import BEFORE_S, Overlay

#: Shading per step kind (RGBA), legible in print.
STEP_COLOURS = {"contract": (230, 150, 60, 60), "release": (70, 170, 110, 60), "rest": (150, 150, 150, 35),
                "other": (120, 140, 200, 40)}
TRACE_COLOURS = {"pfm": (30, 80, 160), "abd": (170, 60, 60), "pressure": (90, 60, 150)}
INK = (40, 40, 40)


def ensure_app() -> QtWidgets.QApplication:
    """A QApplication for drawing (offscreen when there is no display, e.g. from the command line)."""
    app = QtWidgets.QApplication.instance()
    if app is None:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") and os.name == "posix" \
                and not os.environ.get("QT_QPA_PLATFORM") and not _is_macos():
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        app = QtWidgets.QApplication([])
    return app  # type: ignore[return-value]


def _is_macos() -> bool:
    import sys
    return sys.platform == "darwin"


def _style(plot: pg.PlotItem) -> None:
    plot.getViewBox().setBackgroundColor("w")
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(INK))
        axis.setTextPen(pg.mkPen(INK))
        font = QtGui.QFont()
        font.setPointSize(10)
        axis.setStyle(tickFont=font)
    plot.showGrid(x=True, y=True, alpha=0.15)


def draw_session(layout: pg.GraphicsLayout, report: SessionReport) -> list[pg.PlotItem]:
    """One row per channel: the amplitude with the steps shaded and the markers drawn."""
    plots = []
    for row, trace in enumerate(report.traces):
        plot = layout.addPlot(row=row, col=0)
        _style(plot)
        unit = "µV" if trace.unit == "uV" else trace.unit
        name = {"pfm": "pelvic floor", "abd": "abdominal", "pressure": "pressure"}.get(trace.name, trace.name)
        plot.setLabel("left", f"{name} ({unit})", color="#282828")
        if row == len(report.traces) - 1:
            plot.setLabel("bottom", "time (s)", color="#282828")
        for span in report.steps:
            region = pg.LinearRegionItem((span.start_s, span.end_s), movable=False,
                                         brush=pg.mkBrush(*STEP_COLOURS[span.kind]), pen=pg.mkPen(None))
            region.setZValue(-10)
            plot.addItem(region)
        colour = TRACE_COLOURS.get(trace.name, (30, 80, 160))
        plot.plot(trace.t, trace.values, pen=pg.mkPen(colour, width=1.5), connect="finite")
        for t, label in report.markers:
            line = pg.InfiniteLine(t, angle=90, pen=pg.mkPen((200, 30, 30), width=1, style=QtCore.Qt.DashLine),
                                   label=label if row == 0 else None,
                                   labelOpts={"position": 0.92, "color": (200, 30, 30), "anchors": [(0, 1), (0, 1)]})
            plot.addItem(line)
        finite = trace.values[np.isfinite(trace.values)]
        top = float(finite.max()) if finite.size else 1.0
        plot.setYRange(0 if (finite.size == 0 or finite.min() >= 0) else float(finite.min()), top * 1.08 or 1.0,
                       padding=0)
        plot.setXRange(0, max(report.duration_s, 1e-3), padding=0.01)
        if plots:
            plot.setXLink(plots[0])
        plots.append(plot)
    return plots


def _days_to_x(days: list[dt.date]) -> np.ndarray:
    return np.array([dt.datetime(d.year, d.month, d.day, 12).timestamp() for d in days], dtype=float)


#: One colour per protocol in a trend (Okabe-Ito, print-safe); the first protocol keeps the usual blue.
PROTOCOL_COLOURS = ((30, 80, 160), (213, 94, 0), (0, 158, 115), (204, 121, 167), (86, 180, 233), (230, 159, 0))


def _moments_to_x(trend: Trend) -> np.ndarray:
    """Each point at its own time of day: several sessions on one day stand apart instead of in one column."""
    return np.array([p.moment.timestamp() for p in trend.points], dtype=float)


def date_range_x(days: tuple[dt.date, dt.date]) -> tuple[float, float]:
    """The x-range (timestamps) that shows whole days ``days[0]`` to ``days[1]`` with a small margin."""
    lo = dt.datetime(days[0].year, days[0].month, days[0].day).timestamp()
    hi = dt.datetime(days[1].year, days[1].month, days[1].day, 23, 59).timestamp()
    span = max(hi - lo, 7 * 86400.0)
    return lo - 0.04 * span, lo + 1.04 * span


def _along(x: float, x_range: tuple[float, float] | None) -> float:
    """How far along the shown range ``x`` sits (0 at its start, 1 at its end): a label anchored there at
    its own point stays inside the chart, where one centred on a star at the edge was cut in half."""
    if x_range is None or x_range[1] <= x_range[0]:
        return 0.5
    return float(min(1.0, max(0.0, (x - x_range[0]) / (x_range[1] - x_range[0]))))


def _protocol_key(protocols: Sequence[str]) -> str:
    """Which line is which protocol, as coloured names for the title: no point or goal label can hide them
    there (a legend inside the plot did, wherever it was put)."""
    out = []
    for i, protocol in enumerate(protocols):
        r, g, b = PROTOCOL_COLOURS[i % len(PROTOCOL_COLOURS)]
        out.append(f"&nbsp;&nbsp;<span style='color:#{r:02x}{g:02x}{b:02x}'>● {escape(protocol or 'free practice')}"
                   f"</span>")
    return "".join(out)


def draw_trend(plot: pg.PlotItem, trend: Trend, goals: list[GoalStatus],
               x_range: tuple[float, float] | None = None,
               target_steps: Sequence[tuple[dt.date, float]] = ()) -> None:
    """A metric over the weeks: one point per session at its time of day (one line per protocol, never
    joining a relaxation session to a Glazer assessment), the goal as a dashed line, the day it was first
    met as a star. ``x_range`` is the range every chart of the view or report shares. On the resting-tone
    trend, ``target_steps`` (day set, release target) draw the shaping steps as a staircase."""
    _style(plot)
    m = trend.metric
    protocols = trend.protocols
    key = _protocol_key(protocols) if len(protocols) > 1 else ""
    steps = list(target_steps) if m.key == "resting_tone_uv" else []
    if steps:                   # the staircase's name with the lines' names, not on top of her points
        key += "&nbsp;&nbsp;<span style='color:#00785a'>- · release target</span>"
    plot.setTitle(f"<span style='color:#282828;font-size:11pt'>{m.label}"
                  f"{(' (' + m.unit + ')') if m.unit not in ('/10', '/5') else ' (' + m.unit[1:] + '-point scale)'}"
                  f"</span><span style='font-size:9pt'>{key}</span>")
    x = _moments_to_x(trend)
    y = np.asarray(trend.values, dtype=float)
    shown_x = x_range if x_range is not None else \
        (date_range_x((trend.points[0].day, trend.points[-1].day)) if len(x) else None)
    for i, protocol in enumerate(protocols):
        part = trend.of_protocol(protocol)
        colour = PROTOCOL_COLOURS[i % len(PROTOCOL_COLOURS)]
        plot.plot(_moments_to_x(part), part.values, pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=8,
                  symbolBrush=colour, symbolPen=None, name=protocol or "free practice")   # named in the title
    # one rule for the window and the reports: from 0 (whole diary scales), taking in every goal line
    targets = [g.goal.target for g in goals if g.goal.metric == m.key] + [v for _day, v in steps]
    shown_y = trend_y_range(m.unit, list(y), targets, label_room=bool(targets))
    for g in goals:
        if g.goal.metric != m.key:
            continue
        line = pg.InfiniteLine(g.goal.target, angle=0, pen=pg.mkPen((46, 140, 80), width=1.5, style=QtCore.Qt.DashLine),
                               label=f"goal: {g.description}",
                               labelOpts={"position": 0.02, "color": (46, 120, 70), "anchors": [(0, 1), (0, 1)]})
        plot.addItem(line)
        if g.met_on is not None:
            own = trend.of_protocol(g.goal.protocol) if g.goal.protocol else trend   # the star on her session
            hit = [p for p in own.points if p.day == g.met_on and g.goal.is_met_by(p.value)]
            if hit:
                mx = np.array([hit[0].moment.timestamp()])
                plot.plot(mx, [hit[0].value], pen=None, symbol="star", symbolSize=18,
                          symbolBrush=(240, 180, 20), symbolPen=pg.mkPen((120, 80, 0)))
                below = _along(hit[0].value, shown_y) > 0.5       # the label on the roomier side of her star
                text = pg.TextItem(f"met {g.met_on.day} {g.met_on:%b}", color=(120, 80, 0),
                                   anchor=(_along(float(mx[0]), shown_x), -0.4 if below else 1.4))
                text.setPos(float(mx[0]), hit[0].value)
                plot.addItem(text)
    if steps:
        _draw_target_steps(plot, steps, x_range, x)
    plot.setYRange(*shown_y, padding=0)
    if x_range is not None:
        plot.setXRange(*x_range, padding=0)
    elif shown_x is not None:
        plot.setXRange(*shown_x, padding=0)


def _draw_target_steps(plot: pg.PlotItem, steps: list[tuple[dt.date, float]],
                       x_range: tuple[float, float] | None, x_points: np.ndarray) -> None:
    """The release target as a staircase: each step from the day it was set until the next (or the chart's end)."""
    xs = [dt.datetime(d.year, d.month, d.day).timestamp() for d, _v in steps]
    ends = [*xs[1:], x_range[1] if x_range else (float(np.max(x_points)) if len(x_points) else xs[-1] + 86400.0)]
    sx = np.array([xs, ends]).T.ravel()
    sy = np.repeat([v for _d, v in steps], 2)
    plot.plot(sx, sy, pen=pg.mkPen((0, 158, 115), width=2, style=QtCore.Qt.DashDotLine))


class DayAxis(pg.AxisItem):
    """Calendar days as '6 Apr', one tick a week (or every few weeks on long spans); no overlapping labels."""

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:
        if not (math.isfinite(minVal) and math.isfinite(maxVal)) or maxVal <= minVal:
            return []
        days = (maxVal - minVal) / 86400.0
        room = max(1, int(size / 70))                      # about 70 px per label
        step_days = next((s for s in (1, 2, 7, 14, 28, 56, 91, 182, 364) if days / s <= room), 364)
        first = dt.date.fromtimestamp(minVal)
        if step_days >= 7:
            first -= dt.timedelta(days=first.weekday())     # weeks start on Monday
        ticks = []
        day = first
        while True:
            x = dt.datetime(day.year, day.month, day.day, 12).timestamp()
            if x > maxVal:
                break
            if x >= minVal:
                ticks.append(x)
            day += dt.timedelta(days=step_days)
        return [(step_days * 86400.0, ticks)]

    def tickStrings(self, values: list, scale: float, spacing: float) -> list[str]:
        return [f"{dt.date.fromtimestamp(v).day} {dt.date.fromtimestamp(v):%b}" for v in values]


def date_axis() -> pg.AxisItem:
    return DayAxis(orientation="bottom")


def _png_of(widget: pg.GraphicsLayoutWidget, item, size_w: int, size_h: int, width: int) -> bytes:
    """Lay the figure out offscreen at its size, export ``item`` as PNG ``width`` pixels wide, and free it."""
    _offscreen(widget, size_w, size_h)
    try:
        return _export(widget, item, width)
    finally:
        widget.close()
        widget.deleteLater()


def _offscreen(widget: QtWidgets.QWidget, width: int, height: int) -> None:
    """Lay the widget out at its size without showing a window."""
    widget.setAttribute(QtCore.Qt.WA_DontShowOnScreen, True)
    widget.resize(width, height)
    widget.show()
    QtWidgets.QApplication.processEvents()


def _export(scene_widget: pg.GraphicsLayoutWidget, item: QtWidgets.QGraphicsItem, width: int) -> bytes:
    QtWidgets.QApplication.processEvents()
    exporter = ImageExporter(item)
    exporter.parameters()["width"] = width
    exporter.parameters()["antialias"] = True
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "plot.png")
        exporter.export(path)
        with open(path, "rb") as fh:
            return fh.read()


def session_png(report: SessionReport, width: int = 1600) -> bytes:
    """The whole session as one PNG (one row per channel)."""
    ensure_app()
    widget = pg.GraphicsLayoutWidget()
    widget.setBackground("w")
    rows = max(1, len(report.traces))
    draw_session(widget.ci, report)
    return _png_of(widget, widget.ci, 880, 190 * rows + 30, width)


def trend_png(trend: Trend, goals: list[GoalStatus], width: int = 1000,
              x_range: tuple[float, float] | None = None,
              target_steps: Sequence[tuple[dt.date, float]] = ()) -> bytes:
    """One trend plot as PNG (``x_range``: the date range all charts of the report share)."""
    ensure_app()
    widget = pg.GraphicsLayoutWidget()
    widget.setBackground("w")
    plot = widget.addPlot(axisItems={"bottom": date_axis()})
    draw_trend(plot, trend, goals, x_range, target_steps)
    return _png_of(widget, plot, 760, 240, width)


def patient_png(report: SessionReport, width: int = 1000) -> bytes:
    """Her picture, with no numbers to read: resting tone over her sessions (lower is calmer), or today's
    session with the squeezes shaded when there is nothing earlier to compare with."""
    ensure_app()
    widget = pg.GraphicsLayoutWidget()
    widget.setBackground("w")
    history = report.resting_history
    if len(history) >= 2:
        plot = widget.addPlot(axisItems={"bottom": date_axis()})
        _style(plot)
        x = _days_to_x([d for d, _ in history])
        y = np.array([v for _, v in history], dtype=float)
        plot.plot(x, y, pen=pg.mkPen((46, 140, 80), width=3), symbol="o", symbolSize=14,
                  symbolBrush=(46, 140, 80), symbolPen=None)
        plot.setYRange(0, float(np.nanmax(y)) * 1.15 or 1.0, padding=0)
        span = max(float(x.max() - x.min()), 7 * 86400.0)
        plot.setXRange(float(x.min()) - 0.06 * span, float(x.min()) + 1.06 * span, padding=0)
    else:
        plot = widget.addPlot()
        _style(plot)
        trace = report.traces[0] if report.traces else None
        for span_ in report.steps:
            if span_.kind == "contract":
                region = pg.LinearRegionItem((span_.start_s / 60, span_.end_s / 60), movable=False,
                                             brush=pg.mkBrush(*STEP_COLOURS["contract"]), pen=pg.mkPen(None))
                plot.addItem(region)
        if trace is not None:
            plot.plot(trace.t / 60, trace.values, pen=pg.mkPen((46, 140, 80), width=1.5), connect="finite")
        plot.setLabel("bottom", "minutes", color="#282828")
        plot.setXRange(0, max(report.duration_s / 60, 1e-3), padding=0.01)
    plot.showGrid(x=False, y=False)
    plot.getAxis("left").setStyle(showValues=False)      # no numbers and no units for her
    plot.getAxis("left").setTicks([[]])
    return _png_of(widget, plot, 760, 260, width)


FIRST_COLOUR, LATEST_COLOUR = (150, 150, 150), (0, 114, 178)


def draw_overlay(plot: pg.PlotItem, overlay: Overlay) -> None:
    """First (grey) and latest (blue) session: every squeeze faint, their means bold, 0 = the squeeze cue,
    the rest shaded green from where it begins."""
    _style(plot)
    unit = "µV" if overlay.first.unit == "uV" else overlay.first.unit
    plot.setLabel("left", unit, color="#282828")
    plot.setLabel("bottom", "seconds from the squeeze cue", color="#282828")
    squeeze = overlay.latest.squeeze_s
    end = float(max(overlay.first.t[-1], overlay.latest.t[-1])) if overlay.first.t.size else squeeze
    rest = pg.LinearRegionItem((squeeze, end), movable=False, brush=pg.mkBrush(*STEP_COLOURS["release"]),
                               pen=pg.mkPen(None))
    work = pg.LinearRegionItem((0.0, squeeze), movable=False, brush=pg.mkBrush(*STEP_COLOURS["contract"]),
                               pen=pg.mkPen(None))
    for region in (rest, work):
        region.setZValue(-10)
        plot.addItem(region)
    plot.addLegend(offset=(-10, 10), labelTextColor=INK)
    for side, colour in ((overlay.first, FIRST_COLOUR), (overlay.latest, LATEST_COLOUR)):
        faint = pg.mkPen((*colour, 70), width=1)
        for trial in side.trials:
            plot.plot(side.t, trial, pen=faint, connect="finite")
        plot.plot(side.t, side.mean, pen=pg.mkPen(colour, width=3), connect="finite",
                  name=f"{side.label} (mean of {len(side.trials)})")
    plot.setXRange(-BEFORE_S, end, padding=0.01)
    top = np.nanmax([np.nanmax(m) for m in (overlay.first.mean, overlay.latest.mean) if m.size] or [1.0])
    plot.setYRange(0, float(top) * 1.1, padding=0)


def overlay_png(overlay: Overlay, width: int = 1000) -> bytes:
    """The first-versus-latest figure as PNG."""
    ensure_app()
    widget = pg.GraphicsLayoutWidget()
    widget.setBackground("w")
    plot = widget.addPlot()
    draw_overlay(plot, overlay)
    return _png_of(widget, plot, 760, 300, width)


def has_points(trend: Trend) -> bool:
    return bool(trend.points) and all(math.isfinite(v) for v in trend.values)
