"""What goes into a report: gathered from a recording and the library, without Qt (tested headless)."""
from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from biofeedback.clinic.adherence import WeekAdherence
from biofeedback.clinic.filing import session_analysis
from biofeedback.clinic.library import DiaryEntry, Goal, Library, SessionRecord
from biofeedback.clinic.progress import (
    METRICS,
    PRESSURE,
    GoalStatus,
    Progress,
    Trend,
    client_progress,
    metric_value,
    session_modality,
    summary_value,
    trends,
)
from biofeedback.files.markers import current_events
from biofeedback.protocols import CONTRACTION_KINDS
from biofeedback.protocols.spans import step_spans
from biofeedback.reports.noise import change_threshold, direction_words, resting_mdc
from biofeedback.reports.notes import MEANINGS, clinician_change, metric_note
from biofeedback.stream import Event, StreamInfo

ProgressFn = Callable[[float], None]

#: Metrics shown in the session table, in this order (pressure versions follow their EMG twin).
SESSION_METRICS = ("resting_tone_uv", "resting_variability_pct", "post_resting_tone_uv", "release_latency_s",
                   "onset_latency_s", "contraction_peak_uv", "time_in_band_pct", "abd_coactivation_pct",
                   "endurance_decline_pct", "resting_tone_cmh2o", "post_resting_tone_cmh2o", "contraction_peak_cmh2o")
_EXTRA_LABELS: dict[str, tuple[str, str, bool]] = {}

#: How many points a plotted trace keeps (min/max pairs per bin keep the peaks).
PLOT_POINTS = 3000
#: The rate the report keeps a recording's envelope at (about; the recording's own when lower): an
#: 8-hour 2 kHz recording then needs tens of MB, and a 3000-point trace or a 2-second mean loses nothing.
REPORT_ENVELOPE_HZ = 200.0


@dataclass
class ShadedStep:
    """A step as the report plots it: where it lies and the colour it is shaded in."""

    start_s: float
    end_s: float
    label: str
    kind: str          # "contract", "release", "rest" or "other": decides the shading colour


@dataclass
class Trace:
    name: str
    unit: str
    t: np.ndarray
    values: np.ndarray


@dataclass
class MetricRow:
    key: str
    label: str
    unit: str
    value: float | None
    first: float | None
    previous: float | None
    note: str
    change: str = ""
    marked: bool = False          # a change beyond the measurement's noise (see reports/noise.py)
    better_when: str = ""         # "lower is better" / "higher is better"

    def text(self, value: float | None) -> str:
        if value is None:
            return "—"
        if self.unit == "%":
            return f"{value:.0f} %"
        digits = 2 if self.unit == "s" and value < 10 else 1
        return f"{value:.{digits}f} {self.unit}"


@dataclass
class SessionReport:
    title: str
    client: str | None
    started_at: str
    protocol: str
    duration_s: float
    device: str
    traces: list[Trace]
    steps: list[ShadedStep]
    markers: list[tuple[float, str]]
    metrics: list[MetricRow]
    phases: list[dict[str, Any]]
    first_session: str | None = None
    previous_session: str | None = None
    warnings: list[str] = field(default_factory=list)
    diary: DiaryEntry | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    trials: list[dict[str, Any]] = field(default_factory=list)
    #: (day, resting tone) of this client's sessions of the same modality and protocol, this one included
    resting_history: list[tuple[dt.date, float]] = field(default_factory=list)
    signal_quality: dict[str, Any] | None = None   # the signal check's light and sentence (biofeedback.signal.quality)


@dataclass
class ProgressReport:
    title: str
    client: str
    start: dt.date | None
    end: dt.date | None
    trends: dict[str, Trend]
    goals: list[GoalStatus]
    sessions: list[SessionRecord]
    diary: list[DiaryEntry]
    summary_lines: list[str] = field(default_factory=list)
    #: the one date range every chart shares (sessions and diary), None when there is nothing to plot
    date_range: tuple[dt.date, dt.date] | None = None
    #: set when the report carries the first-versus-latest figure (image "overlay")
    overlay_caption: str = ""
    adherence: list[WeekAdherence] = field(default_factory=list)     # per programme week
    places: dict[int, str] = field(default_factory=dict)             # session id -> "home" | "clinic"
    place_trends: dict[str, dict[str, Trend]] = field(default_factory=dict)  # "clinic"/"home" -> session trends
    #: the release targets she trained against, (day set, target in µV), drawn on the resting-tone trend
    target_steps: list[tuple[dt.date, float]] = field(default_factory=list)


def _label_unit(key: str) -> tuple[str, str, bool]:
    if key in METRICS:
        m = METRICS[key]
        return m.label, m.unit, m.lower_is_better
    return _EXTRA_LABELS.get(key, (key.replace("_", " ").capitalize(), "", True))


def reduce_trace(t: np.ndarray, y: np.ndarray, points: int = PLOT_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Keep each bin's minimum and maximum so that peaks and dips survive; NaN stays NaN."""
    n = len(y)
    if n <= points:
        return t, y
    return _reduce(t, y, points)


def reduce_trace_at(rate: float, y: np.ndarray, points: int = PLOT_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """:func:`reduce_trace` of a trace sampled at ``rate`` from 0 s (its times are never made whole)."""
    n = len(y)
    if n <= points:
        return np.arange(n) / rate, y
    return _reduce(_Times(rate), y, points)


class _Times:
    """``t[i]`` = i / rate: the time of any sample, without an array of every sample's time."""

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def __getitem__(self, i: int) -> float:
        return i / self.rate


def _reduce(t: Any, y: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    n = len(y)
    bins = points // 2
    edges = np.linspace(0, n, bins + 1).astype(int)
    tt = np.empty(2 * bins)
    yy = np.empty(2 * bins)
    for i in range(bins):
        seg = y[edges[i]:edges[i + 1]]
        finite = seg[np.isfinite(seg)]
        tt[2 * i] = t[edges[i]]
        tt[2 * i + 1] = t[edges[i + 1] - 1]
        if finite.size:
            yy[2 * i], yy[2 * i + 1] = finite.min(), finite.max()
        else:
            yy[2 * i] = yy[2 * i + 1] = np.nan
    return tt, yy


def _step_kind(label: str, data: dict[str, Any]) -> str:
    """A step's kind from its recorded data, or guessed from its words (steps written by other programs)."""
    kind = str(data.get("kind") or "")
    if kind:
        return kind
    text = f"{data.get('name', '')} {data.get('phase', '')} {label}".lower()
    for guess, words in (("release", ("release", "relax", "let go")),
                         ("contract", ("contract", "squeeze", "hold", "flick", "work")),
                         ("rest", ("rest", "baseline", "breath"))):
        if any(w in text for w in words):
            return guess
    return "free"


def _shade(kind: str, previous: str | None) -> str:
    """Shading: contractions, the let-go after them (a rest that follows a contraction is a release), rest."""
    if kind in CONTRACTION_KINDS:
        return "contract"
    if kind == "release" or (kind in ("rest", "breathe") and previous in CONTRACTION_KINDS):
        return "release"
    if kind in ("rest", "breathe"):
        return "rest"
    return "other"


def shaded_steps(events: list[Event], duration_s: float) -> list[ShadedStep]:
    """Each recorded exercise step (as :func:`~biofeedback.protocols.spans.step_spans` lays them), shaded by kind."""
    shaded: list[ShadedStep] = []
    previous = None
    for span in step_spans(events, duration_s):
        e = span.event
        label = e.label if e is not None else ""
        data = e.data if e is not None and isinstance(e.data, dict) else {}
        kind = _step_kind(label, data)
        label = label or str(data.get("cue") or data.get("name") or kind)
        shade = "rest" if "baseline" in str(data.get("phase", "")) else _shade(kind, previous)
        shaded.append(ShadedStep(span.start_s, span.end_s, label, shade))
        previous = kind
    return shaded


def _phases(summary: dict[str, Any]) -> list[dict[str, Any]]:
    phases = summary.get("by_phase", summary.get("phases"))
    if isinstance(phases, dict):
        return [{"phase": k, **(v if isinstance(v, dict) else {"value": v})} for k, v in phases.items()]
    if isinstance(phases, list):
        return [p for p in phases if isinstance(p, dict)]
    return []


def earlier_value(summary: dict[str, Any], key: str, modality: str) -> float | None:
    """An earlier session's figure for a session-table row, read as the progress trends read it.

    Unit-suffixed keys name their modality; release time, time in band ... of a pressure session are
    the pressure twins (``pressure_release_latency_s``). Only sessions of the same modality are passed in.
    """
    if key.endswith(("_uv", "_cmh2o")):
        return metric_value(summary, key)
    twin = f"pressure_{key}"
    if modality == PRESSURE and twin in METRICS:
        return metric_value(summary, twin)
    metric = METRICS.get(key)
    if metric is not None and metric.modality == modality:
        return metric_value(summary, key)
    return summary_value(summary, key)


def build_session_report(*, info: StreamInfo, envelope: np.ndarray, events: list[Event], meta: dict[str, Any],
                         summary: dict[str, Any], started_at: str, duration_s: float,
                         history: list[SessionRecord] | None = None, goals: list[Goal] | None = None,
                         recording_path: str | None = None, diary: DiaryEntry | None = None,
                         closed_cleanly: bool = True, trials: list[dict[str, Any]] | None = None,
                         envelope_rate: float | None = None) -> SessionReport:
    """Assemble a session report from data already in hand (the pure part, used by :func:`gather_session`).

    ``envelope_rate``: the envelope's own rate when it was kept at a lower rate than the recording's.
    """
    rate = info.rate
    traces = []
    for i, ch in enumerate(info.channels):
        tt, yy = reduce_trace_at(envelope_rate or rate, envelope[:, i])
        traces.append(Trace(ch.name, ch.unit, tt, yy))
    markers = [(e.time_s, e.label or e.kind) for e in events if e.kind in ("marker", "disconnected", "gap")]
    this_path = str(Path(recording_path).resolve()) if recording_path else None
    modality = session_modality(summary)
    earlier = [s for s in (history or []) if s.recording_path != this_path and s.started_at < (started_at or "~")
               and session_modality(s.summary) == modality]      # µV and cmH2O figures are never compared
    first = earlier[0] if earlier else None
    previous = earlier[-1] if earlier else None
    resting = _resting_noise(info, envelope, events, summary, envelope_rate or rate)
    rows = []
    for key in SESSION_METRICS:
        value = summary_value(summary, key)
        if value is None and key not in summary:
            continue
        label, unit, lower = _label_unit(key)
        f = earlier_value(first.summary, key, modality) if first else None
        p = earlier_value(previous.summary, key, modality) if previous else None
        row = MetricRow(key, label, unit, value, f, p, metric_note(key, summary, unit, goals),
                        better_when=direction_words(lower))
        changes = [clinician_change(value, f, unit, lower, "the first session",
                                    change_threshold(key, unit, f, trials, resting))]
        if previous is not first:
            changes.append(clinician_change(value, p, unit, lower, "last time",
                                            change_threshold(key, unit, p, trials, resting)))
        row.change = "; ".join(text for text, _ in changes if text)
        row.marked = any(marked for _, marked in changes)
        rows.append(row)
    resting_key = "resting_tone_cmh2o" if modality == PRESSURE else "resting_tone_uv"
    protocol = _protocol_name(meta)
    same = [s for s in earlier if not protocol or not s.protocol or s.protocol == protocol]
    resting_history = [(s.day, v) for s in same if (v := metric_value(s.summary, resting_key)) is not None]
    now_value = summary_value(summary, resting_key)
    if now_value is not None:
        resting_history.append((_day(started_at), now_value))
    warnings = []
    if not closed_cleanly:
        warnings.append("The recording was not closed cleanly (the program or computer stopped); "
                        "everything up to the last save is shown.")
    gaps = [e for e in events if e.kind == "gap"]
    if gaps:
        lost = sum(int(e.data.get("samples", 0)) for e in gaps if isinstance(e.data, dict))
        times = "once" if len(gaps) == 1 else f"{len(gaps)} times"
        warnings.append(f"The signal dropped out {times} ({lost / rate:.1f} s in all); "
                        f"metrics leave those stretches out.")
    client = meta.get("client") or None
    when = started_at[:16].replace("T", " ") if started_at else "unknown date"
    return SessionReport(
        title=f"Session report — {client or 'anonymous'} — {when}", client=client, started_at=started_at,
        protocol=protocol_title(meta, events),
        duration_s=duration_s, device=info.device or info.source, traces=traces,
        steps=shaded_steps(events, duration_s), markers=markers, metrics=rows, phases=_phases(summary),
        first_session=first.started_at if first else None, previous_session=previous.started_at if previous else None,
        warnings=warnings, diary=diary, summary=dict(summary), trials=list(trials or []),
        resting_history=resting_history, signal_quality=signal_quality(meta, summary))


def signal_quality(meta: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any] | None:
    """The signal check to show: the analysis's of the recorded signal, else one stored in the meta (``quality``,
    or ``live_quality``: the worst light the window showed while recording)."""
    for source in (summary.get("quality"), meta.get("quality"), meta.get("live_quality")):
        if isinstance(source, dict) and source.get("sentence"):
            return source
    return None


def _day(started_at: str) -> dt.date:
    try:
        return dt.datetime.fromisoformat(started_at).date()
    except (TypeError, ValueError):
        return dt.date.today()


def _protocol_name(meta: dict[str, Any]) -> str:
    name = meta.get("protocol")
    return str(name.get("name") or "") if isinstance(name, dict) else str(name or "")


def _resting_noise(info: StreamInfo, envelope: np.ndarray, events: list[Event],
                   summary: dict[str, Any], envelope_rate: float | None = None) -> dict[str, float | None]:
    """MDC95 of the resting tone before and after the exercises, from their 2-second means.

    ``envelope_rate``: the envelope's own rate (the recording's when None); 2-second means of an envelope
    kept at 200 Hz are those of the full-rate one to well within the noise they measure.
    """
    rate = envelope_rate or info.rate
    name = summary.get("channel")
    col = info.names.index(name) if name in info.names else 0
    if envelope.ndim != 2 or envelope.shape[0] == 0:
        return {}
    out: dict[str, float | None] = {}
    for span in step_spans(events, envelope.shape[0] / rate):
        for phase, stem in (("pre_baseline", "resting_tone"), ("post_baseline", "post_resting_tone")):
            if span.step.phase == phase:
                noise = resting_mdc(envelope[:, col], rate, span.start_s, span.end_s)
                out[f"{stem}_uv"] = out[f"{stem}_cmh2o"] = noise
    return out


def protocol_title(meta: dict[str, Any], events: list[Event] | None = None) -> str:
    """The programme's readable title ("Glazer assessment") from the recording's protocol event or meta."""
    for e in events or []:
        if e.kind == "protocol" and isinstance(e.data, dict) and e.data.get("title"):
            return str(e.data["title"])
    name = meta.get("protocol")
    if isinstance(name, dict):
        return str(name.get("title") or name.get("name") or "free practice")
    if not name:
        return "free practice"
    try:
        from biofeedback.protocols import load_protocol
        return load_protocol(str(name)).title
    except Exception:  # a protocol file that has since moved: its name is enough
        return str(name)


def gather_session(recording_path: str | os.PathLike, library: Library | None = None,
                   progress: ProgressFn | None = None) -> SessionReport:
    """Read a recording (and, if it is in the library, the client's history) into a :class:`SessionReport`."""
    from biofeedback.files.offline import chain_settings_from_meta
    from biofeedback.files.recording import Recording, envelope_of

    progress = progress or (lambda f: None)
    rec = Recording.open(recording_path)
    try:
        # read block by block (the raw samples are never held whole) and kept at a bounded rate: the
        # traces and the resting-noise figures read it at its own rate
        envelope, env_rate = envelope_of(rec, chain_settings_from_meta(rec.meta), max_rate=REPORT_ENVELOPE_HZ)
        progress(0.6)
        analysis = session_analysis(rec)          # once: the summary and the trials come from one run
        summary, trials = dict(analysis["summary"]), list(analysis.get("trials") or [])
        progress(0.7)
        history, goals, diary = [], [], None
        client_name = rec.meta.get("client")
        session = library.session_for_recording(recording_path) if library is not None else None
        if not summary and session is not None:
            summary = dict(session.summary)
        if library is not None:
            client = library.client_by_id(session.client_id) if session else (
                library.find_client(client_name) if client_name else None)
            if client is not None:
                history = library.sessions(client)
                goals = library.goals(client)
                if session is not None:
                    diary = next((d for d in library.diary(client) if d.session_id == session.id), None)
        return build_session_report(info=rec.info, envelope=envelope, envelope_rate=env_rate,
                                    events=current_events(list(rec.events)),
                                    meta=dict(rec.meta), summary=summary, started_at=rec.started_at,
                                    duration_s=rec.duration_s, history=history, goals=goals,
                                    recording_path=str(recording_path), diary=diary,
                                    closed_cleanly=rec.closed_cleanly, trials=trials)
    finally:
        rec.close()


def gather_progress(library: Library, client: str, start: dt.date | None = None,
                    end: dt.date | None = None) -> ProgressReport:
    """A client's trends, goals, sessions and diary between two days, for the progress report."""
    p = client_progress(library, client, start, end)
    span = f"{start.isoformat() if start else 'the start'} to {end.isoformat() if end else 'today'}"
    lines = []
    for key in ("resting_tone_uv", "release_latency_s", "pain_intercourse"):
        trend = p.trends.get(key)
        if trend and len(trend.points) >= 2:
            m = trend.metric
            a, b = trend.points[0], trend.points[-1]
            lines.append(f"{m.label}: {m.format(a.value)} on {a.day.day} {a.day:%b} "
                         f"→ {m.format(b.value)} on {b.day.day} {b.day:%b}.")
    met = [(g.description, g.met_on) for g in p.goals if g.met_on is not None]
    if met:
        lines.append("Goals met: " + "; ".join(f"{what} (first on {day.day} {day:%b %Y})" for what, day in met) + ".")
    return ProgressReport(title=f"Progress report — {p.client.name} — {span}", client=p.client.name, start=start,
                          end=end, trends=p.trends, goals=p.goals, sessions=p.sessions, diary=p.diary,
                          summary_lines=lines, date_range=p.date_range, adherence=p.adherence, places=p.places,
                          place_trends=trends_by_place(p), target_steps=p.target_steps)


def trends_by_place(p: Progress) -> dict[str, dict[str, Trend]]:
    """Session trends at the clinic and at home, apart (empty when all sessions took place in one of them)."""
    by_place: dict[str, list] = {"clinic": [], "home": []}
    for s in p.sessions:
        by_place[p.places.get(s.id, "clinic")].append(s)
    if not all(by_place.values()):
        return {}
    keys = [k for k, m in METRICS.items() if m.source == "session"]
    return {place: trends(sessions, [], keys) for place, sessions in by_place.items()}


#: Fixed scales for diary scores: (bottom, top) of the scale, and the margin around it (no tick falls in it).
_SCORE_SCALES = {"/10": (0.0, 10.0, 0.9), "/5": (1.0, 5.0, 0.38)}


def trend_y_range(unit: str, values: Sequence[float], goal_targets: Sequence[float] = (),
                  label_room: bool = False) -> tuple[float, float]:
    """The y-range a trend plot shows: whole diary scales (pain 0-10, mood 1-5), else from 0 with a little headroom.

    Amplitudes, latencies and percentages start at 0, so that three sessions of 47.7, 48.7 and 48.7 µV
    look as alike as they are; the range takes in every goal line. A small margin below keeps the
    0 tick's label inside the axis. ``label_room`` leaves more headroom (for a goal's or a "met" label).
    """
    if unit in _SCORE_SCALES:
        lo, hi, margin = _SCORE_SCALES[unit]
        return lo - margin, hi + margin
    finite = [float(v) for v in (*values, *goal_targets) if v is not None and math.isfinite(float(v))]
    lo, hi = min([0.0, *finite]), max([0.0, *finite])
    span = hi - lo
    if span <= 0:
        span = 1.0
    return lo - 0.08 * span, hi + span * (0.3 if label_room else 0.12)


def fmt_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "—"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"


__all__ = ["SessionReport", "ProgressReport", "MetricRow", "ShadedStep", "Trace", "build_session_report",
           "gather_session", "gather_progress", "shaded_steps", "reduce_trace", "fmt_duration", "trend_y_range",
           "MEANINGS"]
