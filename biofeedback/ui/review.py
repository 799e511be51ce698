"""Review a whole recording so that it teaches: the steps named and shaded, every squeeze's onset and
release marked with its time, the session's measures beside the trace, and markers that can be added,
renamed and deleted (stored as ``marker_edit`` events: what was recorded is never changed).

Speed: the envelope is computed once with the same chain as live; the detail plot draws only the
samples in view, peak-decimated to about two points per pixel, so a one-hour session pans smoothly.
Trial time labels are made only for the squeezes in view, when there is room to read them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from biofeedback.signal.calibration import Bands
from biofeedback.stream import Event
from biofeedback.ui.decimate import bucket_size, peak_decimate
from biofeedback.ui.liveplot import CHANNEL_TITLES, primary_channel, unit_text
from biofeedback.ui.replay_bar import fmt_time
from biofeedback.ui.theme import LIGHT, Theme, blend
from biofeedback.words import plural

#: Screen pixels a squeeze needs before its times are written beside it (zoom in to see them all).
PIXELS_PER_LABELLED_TRIAL = 150
#: Seconds shown before a trial's squeeze and after its rest when zooming to it.
ZOOM_MARGIN_S = 3.0

PHASE_NAMES = {"pre_baseline": "Resting baseline", "post_baseline": "Resting baseline after",
               "flicks": "Quick flicks", "tonic": "Tonic squeezes", "endurance": "Endurance hold"}

#: a squeeze's phase in the narrow squeeze table ("Tonic 3"); the plot and tooltips keep the full name
PHASE_SHORT = {"flicks": "Flick", "tonic": "Tonic", "endurance": "Endurance"}


def phase_name(phase: str) -> str:
    """'tonic' -> 'Tonic squeezes'; other phases read as words."""
    return PHASE_NAMES.get(phase, phase.replace("_", " ").strip().capitalize() or "Step")


@dataclass(frozen=True)
class PhaseSpan:
    """A run of steps of one phase (e.g. the five tonic squeezes with their rests)."""

    phase: str
    start_s: float
    end_s: float

    @property
    def name(self) -> str:
        return phase_name(self.phase)


@dataclass(frozen=True)
class TrialMark:
    """One squeeze: where it starts and ends, when it got going (onset) and when it let go (release)."""

    number: int                 # 1.. over the session
    phase: str
    trial: int | None           # number within its phase
    start_s: float              # the squeeze cue
    end_s: float                # the rest cue
    rest_end_s: float           # end of the rest that follows (= end_s when none)
    onset_s: float | None       # absolute time of onset (cue + onset latency)
    release_s: float | None     # absolute time of release (rest cue + release latency)
    onset_latency_s: float | None
    release_latency_s: float | None
    released: bool              # False when it never got back into the release band
    peak: float | None

    @property
    def name(self) -> str:
        return f"{phase_name(self.phase)} {self.trial}" if self.trial is not None else phase_name(self.phase)

    @property
    def short_name(self) -> str:
        """'Tonic 1': fits the squeeze table's first column beside the onset and release times."""
        short = PHASE_SHORT.get(self.phase, phase_name(self.phase))
        return f"{short} {self.trial}" if self.trial is not None else short

    @property
    def zoom_range(self) -> tuple[float, float]:
        return self.start_s - ZOOM_MARGIN_S, self.rest_end_s + 1.0


def phase_spans(phases: list[dict[str, Any]]) -> list[PhaseSpan]:
    """Consecutive analysis rows of one phase joined into one span."""
    out: list[PhaseSpan] = []
    for row in phases:
        start, end = float(row["start_s"]), float(row["start_s"]) + float(row["duration_s"])
        if out and out[-1].phase == row["phase"] and abs(out[-1].end_s - start) < 0.5:
            out[-1] = PhaseSpan(out[-1].phase, out[-1].start_s, end)
        else:
            out.append(PhaseSpan(str(row["phase"]), start, end))
    return out


def trial_marks(result: dict[str, Any]) -> list[TrialMark]:
    """Per-squeeze onset and release times on the recording's clock, from :func:`clinic.analysis.analyze`."""
    rows = {int(r["index"]): r for r in result.get("phases", [])}
    unit = str(result.get("summary", {}).get("unit", "uV")).lower().replace("µ", "u")
    peak_key = "peak_cmh2o" if unit.startswith("cmh2o") else "peak_uv"
    marks = []
    for n, t in enumerate(result.get("trials", []), start=1):
        row = rows.get(int(t["index"]), {})
        start = float(t["start_s"])
        end = start + float(row.get("duration_s", 0.0))
        rest_end = end + float(t.get("rest_s", 0.0))
        onset, release = t.get("onset_latency_s"), t.get("release_latency_s")
        marks.append(TrialMark(n, str(t["phase"]), t.get("trial"), start, end, rest_end,
                               None if onset is None else start + float(onset),
                               None if release is None else end + float(release),
                               onset, release, "not_released" not in t.get("flags", []), t.get(peak_key)))
    return marks


@dataclass
class ReviewData:
    """Everything the review shows, read once from the file (Qt-free; see :func:`load_review`)."""

    info: Any
    meta: dict[str, Any]
    events: list[Event]          # markers as edited (see biofeedback.files.markers)
    duration_s: float
    envelope: np.ndarray
    closed_cleanly: bool
    result: dict[str, Any] | None   # the analysis, None when the session has no steps to measure
    why_no_result: str = ""


def load_envelope(path: str | Path):
    """(recording info, meta, events, duration_s, envelope (n, c), closed) with the same chain as live."""
    d = load_review(path, analyse=False)
    return d.info, d.meta, d.events, d.duration_s, d.envelope, d.closed_cleanly


def load_review(path: str | Path, analyse: bool = True) -> ReviewData:
    """Read a recording, run the chain once and (if it has steps) the session's analysis on that envelope."""
    from biofeedback.clinic.analysis import analyze_arrays
    from biofeedback.errors import UserError
    from biofeedback.files.markers import current_events
    from biofeedback.files.offline import chain_settings_from_meta
    from biofeedback.files.recording import Recording
    from biofeedback.protocols.spans import step_spans
    from biofeedback.signal.chain import envelope_offline
    rec = Recording.open(path)
    try:
        data = rec.read()
        info, meta, events = rec.info, dict(rec.meta or {}), current_events(list(rec.events))
        duration, closed = rec.duration_s, rec.closed_cleanly
    finally:
        rec.close()
    settings = chain_settings_from_meta(meta)
    filtered, envelope = envelope_offline(data, info, settings, threads=2)   # the window waits: one thread a channel
    result, why = None, ""
    if analyse:
        spans = step_spans(events, duration)
        protocol = meta.get("protocol")
        protocol = protocol.get("name") if isinstance(protocol, dict) else protocol
        try:
            result = analyze_arrays(data, info, spans, meta=meta, settings=settings, envelope=envelope,
                                    filtered=filtered, protocol_name=str(protocol or ""))
        except UserError as exc:
            why = str(exc)
    return ReviewData(info, meta, events, duration, np.asarray(envelope), closed, result, why)


#: The measures in the side panel: (summary key, label, unit or "" , decimals).
PANEL_MEASURES = (
    ("resting_tone", "Resting tone", None, 1),
    ("resting_variability_pct", "Resting variability", "%", 0),
    ("post_resting_tone", "Resting tone after", None, 1),
    ("release_latency_s", "Release time (mean)", "s", 2),
    ("onset_latency_s", "Time to contract", "s", 2),
    ("contraction_peak", "Squeeze peak (typical)", None, 1),
    ("contraction_max", "Strongest squeeze", None, 1),
    ("time_in_release_band_pct", "Time in release band", "%", 0),
    ("time_in_contraction_band_pct", "Time in contraction band", "%", 0),
    ("endurance_decline_pct", "Fade in the long hold", "%", 0),
    ("abd_coactivation_pct", "Abdominal co-activation", "%", 0),
)


def panel_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value text) for the side panel; measures the session did not reach are left out."""
    unit = str(summary.get("unit", "uV"))
    suffix = "cmh2o" if unit.lower().startswith("cmh2o") else "uv"
    shown = unit_text(unit)
    rows = []
    for key, label, u, nd in PANEL_MEASURES:
        full = f"{key}_{suffix}" if u is None else key
        value = summary.get(full)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        text = f"{value:.{nd}f} {shown if u is None else u}"
        if key == "release_latency_s" and summary.get("release_latency_lower_bound"):
            text = "at least " + text
        rows.append((label, text))
    trials = summary.get("trials")
    if trials:
        rows.append(("Squeezes that let go", f"{summary.get('trials_released', 0)} of {trials}"))
    return rows


class ReviewWindow(QtWidgets.QWidget):
    """Whole-session review: named, shaded steps; per-squeeze times; measures; markers; click to zoom."""

    def __init__(self, path: str | Path, theme: Theme = LIGHT, bands: Bands | None = None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.theme = theme
        d = load_review(self.path)
        self.data = d
        self.info, self.meta, self.events, self.duration_s, self.envelope = (d.info, d.meta, d.events,
                                                                            d.duration_s, d.envelope)
        self.rate = d.info.rate
        self.channel = primary_channel(d.info)
        self.bands = bands if bands is not None else self._recorded_bands()
        self.phases = phase_spans(d.result["phases"]) if d.result else []
        self.trials = trial_marks(d.result) if d.result else []
        self._label_items: list[pg.GraphicsObject] = []
        self._marker_items: list[pg.GraphicsObject] = []
        self.setWindowTitle(f"Review · {self.path.name}")
        self.resize(1400, 820)

        ch = d.info.channels[self.channel]
        self.unit = unit_text(ch.unit)
        self.head = QtWidgets.QLabel()
        self.head.setContentsMargins(10, 6, 10, 6)
        self.head.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.head.setWordWrap(True)
        self._build_plots(ch.name)
        self._build_side_panel()

        whole = QtWidgets.QPushButton("Whole session")
        whole.setToolTip("Show the whole recording again")
        whole.clicked.connect(lambda: self.show_range(0.0, self.duration_s))
        hint = QtWidgets.QLabel("Click a squeeze to zoom to it · drag the shaded window below or scroll to zoom · "
                                "drag the dotted line to place a marker")
        hint.setStyleSheet(f"color:{theme.muted};")
        hint.setWordWrap(True)
        top_bar = QtWidgets.QHBoxLayout()
        top_bar.addWidget(self.head, 1)
        top_bar.addWidget(hint, 1)
        top_bar.addWidget(whole)
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        split.addWidget(self.view)
        split.addWidget(self.side)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setSizes([1080, 320])
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top_bar)
        lay.addWidget(split, 1)
        self._refresh_head()
        self._region_changed()

    # ------------------------------------------------------------------ building
    def _recorded_bands(self) -> Bands | None:
        """The bands and release target the session was recorded with (meta ``bands``, else its calibration)."""
        stored = self.meta.get("bands")
        if isinstance(stored, dict):
            try:
                return Bands.from_dict(stored)
            except (KeyError, TypeError, ValueError):
                pass
        cal = self.meta.get("calibration")
        if isinstance(cal, dict):
            try:
                from biofeedback.signal.calibration import Calibration
                return Calibration.from_dict(cal).default_bands()
            except (KeyError, TypeError, ValueError):
                return None
        return None

    def _build_plots(self, channel_name: str) -> None:
        theme = self.theme
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(theme.background)
        self.detail = self.view.addPlot(row=0, col=0)
        self.overview = self.view.addPlot(row=1, col=0)
        self.view.ci.layout.setRowStretchFactor(0, 4)
        self.view.ci.layout.setRowStretchFactor(1, 1)
        title = CHANNEL_TITLES.get(channel_name, channel_name)
        for plot in (self.detail, self.overview):
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setLabel("left", f"{title} ({self.unit})" if plot is self.detail else self.unit)
            for name in ("left", "bottom"):
                plot.getAxis(name).setTextPen(pg.mkPen(theme.foreground))
                plot.getAxis(name).setPen(pg.mkPen(theme.muted))
            plot.getAxis("left").setWidth(64)
        self.detail.setMouseEnabled(x=True, y=False)
        self.overview.setMouseEnabled(x=False, y=False)
        self.overview.setLabel("bottom", "time (s)")
        self.detail_curve = self.detail.plot(pen=pg.mkPen(theme.trace, width=1), connect="finite")
        self.overview_curve = self.overview.plot(pen=pg.mkPen(theme.trace, width=1), connect="finite")
        col = self._column()
        idx, val = peak_decimate(col, 0, bucket_size(col.size, 1200))
        self.overview_curve.setData(idx / self.rate, val)
        top = float(np.nanmax(val)) if np.isfinite(val).any() else 1.0
        if self.bands is not None:
            top = max(top, self.bands.contraction_high)
        self.top = top * 1.18                     # room for the phase names above the trace
        for plot in (self.overview, self.detail):
            plot.setYRange(0, self.top, padding=0)
        self.overview.setXRange(0, max(self.duration_s, 1e-3), padding=0)
        self._draw_bands(self.detail)
        self._draw_phases()
        self._draw_trial_lines()
        self._draw_markers()

        shade = QtGui.QColor(theme.foreground)
        shade.setAlpha(26)
        self.region = pg.LinearRegionItem(values=(0, max(self.duration_s, 1e-3)), brush=pg.mkBrush(shade))
        for line in self.region.lines:
            line.setPen(pg.mkPen(theme.foreground, width=2))
        self.region.setZValue(-5)
        self.overview.addItem(self.region)
        self.cursor = pg.InfiniteLine(pos=self.duration_s / 2, angle=90, movable=True,
                                      pen=pg.mkPen(theme.marker, width=1, style=QtCore.Qt.PenStyle.DotLine),
                                      label="new marker here", labelOpts={"position": 0.05, "color": theme.marker})
        self.detail.addItem(self.cursor, ignoreBounds=True)
        self.region.sigRegionChanged.connect(self._region_changed)
        self.detail.sigXRangeChanged.connect(self._detail_ranged)
        self.view.scene().sigMouseClicked.connect(self._clicked)

    def _column(self) -> np.ndarray:
        return self.envelope[:, self.channel] if self.envelope.size else np.empty(0)

    def _build_side_panel(self) -> None:
        self.side = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(self.side)
        lay.setContentsMargins(6, 0, 8, 6)
        lay.addWidget(QtWidgets.QLabel("<b>This session's measures</b>"))
        self.measures = QtWidgets.QTableWidget(0, 2)
        self.measures.setHorizontalHeaderLabels(["Measure", "Value"])
        self.measures.verticalHeader().setVisible(False)
        self.measures.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.measures.horizontalHeader().setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        summary = self.data.result["summary"] if self.data.result else {}
        rows = panel_rows(summary)
        if self.bands is not None:
            rows.append(("Contraction band", f"{self.bands.contraction_low:.1f}–{self.bands.contraction_high:.1f} "
                                             f"{self.unit}"))
            rows.append(("Release target", f"under {self.bands.release_high:.1f} {self.unit}"))
        if not rows:
            rows = [("No measures", self.data.why_no_result or "this recording has no exercise steps")]
        self.measures.setRowCount(len(rows))
        for i, (label, text) in enumerate(rows):
            self.measures.setItem(i, 0, QtWidgets.QTableWidgetItem(label))
            item = QtWidgets.QTableWidgetItem(text)
            item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
            self.measures.setItem(i, 1, item)
        self.measures.resizeColumnToContents(1)
        lay.addWidget(self.measures, 3)

        lay.addWidget(QtWidgets.QLabel("<b>Squeezes</b> (click one to zoom to it)"))
        self.trial_table = QtWidgets.QTableWidget(len(self.trials), 3)
        self.trial_table.setHorizontalHeaderLabels(["Squeeze", "Onset", "Release"])
        self.trial_table.verticalHeader().setVisible(False)
        self.trial_table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.trial_table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.trial_table.horizontalHeader().setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        for i, t in enumerate(self.trials):
            cells = (t.short_name, _seconds(t.onset_latency_s), _seconds(t.release_latency_s) if t.released
                     else "did not let go")
            for j, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setToolTip(f"{t.name}: click to zoom to it")
                if j:
                    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                self.trial_table.setItem(i, j, item)
        self.trial_table.resizeColumnsToContents()
        self.trial_table.horizontalHeader().setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.trial_table.cellClicked.connect(lambda row, _col: self.zoom_to_trial(row))
        lay.addWidget(self.trial_table, 4)

        lay.addWidget(QtWidgets.QLabel("<b>Markers</b>"))
        self.marker_list = QtWidgets.QListWidget()
        self.marker_list.itemClicked.connect(lambda _item: self._zoom_to_marker())
        lay.addWidget(self.marker_list, 2)
        buttons = QtWidgets.QHBoxLayout()
        self.add_button = QtWidgets.QPushButton("Add…")
        self.add_button.setToolTip("Add a marker at the dotted line (drag it on the plot to move it)")
        self.rename_button = QtWidgets.QPushButton("Rename…")
        self.rename_button.setToolTip("Rename the marker chosen in the list")
        self.delete_button = QtWidgets.QPushButton("Delete")
        self.delete_button.setToolTip("Delete the marker chosen in the list (the recording keeps a record of it)")
        for b in (self.add_button, self.rename_button, self.delete_button):
            buttons.addWidget(b)
        self.add_button.clicked.connect(self._ask_add)
        self.rename_button.clicked.connect(self._ask_rename)
        self.delete_button.clicked.connect(self._ask_delete)
        lay.addLayout(buttons)
        self._fill_marker_list()

    def _draw_bands(self, plot: pg.PlotItem) -> None:
        """Bands as labelled dashed lines (the shading is kept for the exercise steps)."""
        if self.bands is None:
            return
        edges = [("contraction", self.bands.contraction_low, ""),
                 ("contraction", self.bands.contraction_high, "contraction band"),
                 ("release", self.bands.release_high, "release target")]
        for band, value, text in edges:
            line = pg.InfiniteLine(pos=value, angle=0, movable=False,
                                   pen=pg.mkPen(self.theme.band_edge(band), width=2,
                                                style=QtCore.Qt.PenStyle.DashLine),
                                   label=text or None,
                                   labelOpts={"position": 0.98, "color": self.theme.band_edge(band),
                                              "anchors": [(1, 1), (1, 1)]})
            line.setZValue(-10)
            plot.addItem(line, ignoreBounds=True)

    def _draw_phases(self) -> None:
        """Contractions shaded; each phase named at the top, with a faint line where it begins."""
        fill = blend(self.theme.contraction, self.theme.background, 0.16)
        if self.trials:                      # one item for all squeezes: cheap to pan over hundreds of them
            starts = np.array([t.start_s for t in self.trials])
            ends = np.array([t.end_s for t in self.trials])
            for plot in (self.detail, self.overview):
                shade = pg.BarGraphItem(x0=starts, x1=ends, y0=0.0, y1=self.top, brush=pg.mkBrush(fill),
                                        pen=pg.mkPen(None))
                shade.setZValue(-30)
                plot.addItem(shade, ignoreBounds=True)
        self.phase_labels = []
        for i, p in enumerate(self.phases):
            for plot in (self.detail, self.overview):
                edge = pg.InfiniteLine(pos=p.start_s, angle=90, movable=False,
                                       pen=pg.mkPen(self.theme.muted, width=1, style=QtCore.Qt.PenStyle.DashLine))
                edge.setZValue(-20)
                plot.addItem(edge, ignoreBounds=True)
            label = pg.TextItem(p.name, color=self.theme.foreground, anchor=(0, 0))
            label.setPos(p.start_s, self.top)
            self.detail.addItem(label, ignoreBounds=True)
            self.phase_labels.append(label)
            if i % 2 == 0 or len(self.phases) < 8:
                small = pg.TextItem(p.name, color=self.theme.muted, anchor=(0, 0))
                small.setPos(p.start_s, self.top)
                self.overview.addItem(small, ignoreBounds=True)

    def _draw_trial_lines(self) -> None:
        """Onset and release of every squeeze as short ticks (one curve each: cheap at any zoom)."""
        def ticks(times: list[float]) -> tuple[np.ndarray, np.ndarray]:
            x = np.repeat(np.asarray(times, dtype=float), 3)
            y = np.tile([0.0, self.top * 0.86, np.nan], len(times))
            x[2::3] = np.nan
            return x, y
        onsets = [t.onset_s for t in self.trials if t.onset_s is not None]
        releases = [t.release_s for t in self.trials if t.release_s is not None]
        self.onset_curve = self.detail.plot(*ticks(onsets), pen=pg.mkPen(self.theme.contraction, width=2),
                                            connect="finite")
        self.release_curve = self.detail.plot(*ticks(releases), pen=pg.mkPen(self.theme.release, width=2),
                                              connect="finite")

    def _draw_markers(self) -> None:
        for item in self._marker_items:
            item.scene() and item.getViewBox() and item.getViewBox().removeItem(item)
        self._marker_items = []
        for e in self.markers:
            for plot in (self.detail, self.overview):
                line = pg.InfiniteLine(pos=e.time_s, angle=90, movable=False,
                                       pen=pg.mkPen(self.theme.marker, width=1),
                                       label=(e.label or "marker") if plot is self.detail else None,
                                       labelOpts={"position": 0.72, "color": self.theme.marker})
                plot.addItem(line, ignoreBounds=True)
                self._marker_items.append(line)

    # ------------------------------------------------------------------ texts
    @property
    def markers(self) -> list[Event]:
        return [e for e in self.events if e.kind == "marker"]

    def _refresh_head(self) -> None:
        ch = self.info.channels[self.channel]
        protocol = self.data.result["summary"].get("protocol") if self.data.result else ""
        bands = ("bands as recorded" if isinstance(self.meta.get("bands"), dict) else
                 "bands from its calibration" if self.bands is not None else "no bands recorded")
        self.head.setText(
            f"<b>{self.path.name}</b> · {fmt_time(self.duration_s)[:-2]} · "
            f"{CHANNEL_TITLES.get(ch.name, ch.name)} ({unit_text(ch.unit)})"
            + (f" · {protocol}" if protocol else "") + f" · {bands} · {plural(len(self.markers), 'marker')}"
            + ("" if self.data.closed_cleanly else " · <span style='color:#D55E00'>not closed cleanly</span>"))

    def _fill_marker_list(self) -> None:
        self.marker_list.clear()
        for e in self.markers:
            item = QtWidgets.QListWidgetItem(f"{fmt_time(e.time_s)}  {e.label or 'marker'}")
            item.setData(QtCore.Qt.ItemDataRole.UserRole, e.data.get("id"))
            self.marker_list.addItem(item)
        if not self.markers:
            self.marker_list.addItem("(none yet)")

    # ------------------------------------------------------------------ markers
    def add_marker(self, time_s: float, label: str) -> str:
        """Store a new marker in the recording and show it."""
        from biofeedback.files.markers import add_marker
        key = add_marker(self.path, time_s, label)
        self._reload_events()
        return key

    def rename_marker(self, marker: Event, label: str) -> None:
        from biofeedback.files.markers import rename_marker
        rename_marker(self.path, marker, label)
        self._reload_events()

    def delete_marker(self, marker: Event) -> None:
        from biofeedback.files.markers import delete_marker
        delete_marker(self.path, marker)
        self._reload_events()

    def _reload_events(self) -> None:
        from biofeedback.files.markers import current_events
        from biofeedback.files.recording import Recording
        with Recording.open(self.path) as rec:
            self.events = current_events(list(rec.events))
        self._draw_markers()
        self._fill_marker_list()
        self._refresh_head()

    def _chosen_marker(self) -> Event | None:
        item = self.marker_list.currentItem()
        key = item.data(QtCore.Qt.ItemDataRole.UserRole) if item is not None else None
        return next((e for e in self.markers if e.data.get("id") == key), None)

    def _ask_add(self) -> None:
        t = float(self.cursor.value())
        label, ok = QtWidgets.QInputDialog.getText(self, "Add a marker", f"Marker at {fmt_time(t)}:")
        if ok:
            self._guard(lambda: self.add_marker(t, label.strip() or "marker"))

    def _ask_rename(self) -> None:
        marker = self._chosen_marker()
        if marker is None:
            return
        label, ok = QtWidgets.QInputDialog.getText(self, "Rename the marker", "New name:", text=marker.label)
        if ok and label.strip():
            self._guard(lambda: self.rename_marker(marker, label.strip()))

    def _ask_delete(self) -> None:
        marker = self._chosen_marker()
        if marker is not None:
            self._guard(lambda: self.delete_marker(marker))

    def _guard(self, action) -> None:
        from biofeedback.errors import UserError
        try:
            action()
        except UserError as exc:
            QtWidgets.QMessageBox.warning(self, "Marker not saved", str(exc))

    def _zoom_to_marker(self) -> None:
        marker = self._chosen_marker()
        if marker is not None:
            span = min(30.0, self.duration_s)
            self.show_range(marker.time_s - span / 2, marker.time_s + span / 2)

    # ------------------------------------------------------------------ zoom
    def zoom_to_trial(self, number: int) -> None:
        """Zoom to squeeze ``number`` (0-based row of the squeeze table)."""
        if 0 <= number < len(self.trials):
            self.trial_table.selectRow(number)
            self.show_range(*self.trials[number].zoom_range)

    def trial_at(self, t_s: float) -> int | None:
        """The squeeze (0-based) whose squeeze-and-rest contains ``t_s``."""
        return next((i for i, t in enumerate(self.trials) if t.start_s <= t_s < max(t.rest_end_s, t.end_s)), None)

    def _clicked(self, ev) -> None:
        vb = self.detail.getViewBox()
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            vb = self.overview.getViewBox()
            if not vb.sceneBoundingRect().contains(ev.scenePos()):
                return
        t = float(vb.mapSceneToView(ev.scenePos()).x())
        i = self.trial_at(t)
        if i is None:
            return
        lo, hi = self.detail_range
        a, b = self.trials[i].zoom_range
        if (hi - lo) > 1.5 * (b - a) or not (lo <= t <= hi) or vb is self.overview.getViewBox():
            self.zoom_to_trial(i)

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
        col = self._column()
        i0 = max(0, int(t0 * self.rate) - 1)
        i1 = min(col.size, int(t1 * self.rate) + 2)
        if i1 <= i0:
            self.detail_curve.setData([], [])
        else:
            k = bucket_size(i1 - i0, max(400, self.view.width()))
            idx, val = peak_decimate(col[i0:i1], i0, k)
            self.detail_curve.setData(idx / self.rate, val, connect="finite")
        if not (t0 <= self.cursor.value() <= t1):
            self.cursor.setValue((t0 + t1) / 2)
        self._label_trials(t0, t1)

    def _label_trials(self, t0: float, t1: float) -> None:
        """Onset and release times written beside their ticks, for the squeezes in view (when few enough)."""
        for item in self._label_items:
            self.detail.removeItem(item)
        self._label_items = []
        visible = [t for t in self.trials if t.rest_end_s >= t0 and t.start_s <= t1]
        if len(visible) > max(1, self.view.width() // PIXELS_PER_LABELLED_TRIAL):
            return
        for t in visible:
            self._add_label(t.name, max(t.start_s, t0), self.top * 0.96, self.theme.foreground, (0.0, 0.0))
            if t.onset_s is not None:
                self._add_label(f"onset {t.onset_latency_s:.2f} s", t.onset_s, self.top * 0.86,
                                self.theme.contraction, (1.0, 1.0))
            if t.release_s is not None:
                self._add_label(f"release {t.release_latency_s:.2f} s", t.release_s, self.top * 0.86,
                                self.theme.release, (0.0, 1.0))
            elif t.rest_end_s > t.end_s:
                self._add_label("did not let go", t.end_s, self.top * 0.86, self.theme.marker, (0.0, 1.0))

    def _add_label(self, text: str, x: float, y: float, colour: str, anchor: tuple[float, float]) -> None:
        item = pg.TextItem(text, color=colour, anchor=anchor)
        item.setPos(x, y)
        self.detail.addItem(item, ignoreBounds=True)
        self._label_items.append(item)

    @property
    def detail_range(self) -> tuple[float, float]:
        lo, hi = self.detail.viewRange()[0]
        return float(lo), float(hi)

    @property
    def trial_labels(self) -> list[str]:
        """The texts of the trial time labels now drawn (what the therapist reads on the trace)."""
        return [item.textItem.toPlainText() for item in self._label_items]


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"
