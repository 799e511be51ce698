"""Progress over the weeks: trend series from sessions and diary, and goals met with the date first met.

Pure data: takes library records (or plain dicts) and returns series in date order. The
history view, the progress report and ``biofeedback history --json`` all read from here.

Series and goals keep to one modality: EMG (µV) and pressure (cmH2O) figures are not comparable,
so a session's value counts towards a metric only when the session measured that modality. Keys
with a unit (``resting_tone_uv``, ``resting_tone_cmh2o``) say which; the others (release time,
variability, time in band, ...) are EMG under their own name (``release_latency_s``, the default a
goal is written for) and pressure under ``pressure_<name>`` (``pressure_release_latency_s``). A
session's modality is its summary's main channel (``unit``); the pressure channel recorded beside
EMG counts for the pressure series through the summary's ``channels``.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from biofeedback.clinic.adherence import WeekAdherence, weekly_adherence
from biofeedback.clinic.catalogue import EMG, METRICS, PRESSURE, Metric, parse_goal
from biofeedback.clinic.library import Client, DiaryEntry, Goal, Library, SessionRecord

__all__ = ["EMG", "METRICS", "PRESSURE", "GoalStatus", "Metric", "Progress", "Trend", "TrendPoint", "client_progress",
           "client_goals", "first_met", "goal_status", "metric_value", "parse_goal", "plotted_keys", "session_modality",
           "summary_value", "trends", "update_milestones"]


#: The trends the history view and progress report plot, in this order.
TREND_KEYS = ("resting_tone_uv", "release_latency_s", "contraction_peak_uv", "pain_intercourse", "mood")
#: Pressure twins plotted when a client trains with a pressure probe only.
_PRESSURE_TWINS = {"resting_tone_uv": "resting_tone_cmh2o", "contraction_peak_uv": "contraction_peak_cmh2o",
                   "release_latency_s": "pressure_release_latency_s"}


def plotted_keys(series: dict[str, Trend]) -> list[str]:
    """The trends worth a plot, in order: EMG measures, or their pressure twins when only those exist."""
    out = []
    for key in TREND_KEYS:
        for candidate in (key, _PRESSURE_TWINS.get(key)):
            if candidate and series.get(candidate) and series[candidate].points:
                out.append(candidate)
                break
    return out


@dataclass(frozen=True)
class TrendPoint:
    day: dt.date
    value: float
    when: str = ""        # ISO date-time of the session, or the diary day
    protocol: str = ""    # the session's protocol ("" for the diary): series of different protocols are not joined

    @property
    def moment(self) -> dt.datetime:
        """When on the calendar: the session's time of day (so several sessions on one day stand apart),
        a diary day at noon. Naive local time, for plotting."""
        if len(self.when) > 10:
            try:
                t = dt.datetime.fromisoformat(self.when)
                return t.replace(tzinfo=None) if t.tzinfo is None else t.astimezone().replace(tzinfo=None)
            except ValueError:
                pass
        return dt.datetime(self.day.year, self.day.month, self.day.day, 12)


@dataclass
class Trend:
    metric: Metric
    points: list[TrendPoint] = field(default_factory=list)

    @property
    def days(self) -> list[dt.date]:
        return [p.day for p in self.points]

    @property
    def values(self) -> list[float]:
        return [p.value for p in self.points]

    @property
    def protocols(self) -> list[str]:
        """The protocols in this series, in order of first appearance."""
        return list(dict.fromkeys(p.protocol for p in self.points))

    def of_protocol(self, protocol: str) -> Trend:
        """The points of one protocol only."""
        return Trend(self.metric, [p for p in self.points if p.protocol == protocol])

    def weekly(self, first_day: dt.date | None = None) -> list[tuple[int, float]]:
        """(week number from the first day, mean value that week) in week order."""
        if not self.points:
            return []
        start = first_day or self.points[0].day
        weeks: dict[int, list[float]] = {}
        for p in self.points:
            weeks.setdefault((p.day - start).days // 7, []).append(p.value)
        return [(w, sum(v) / len(v)) for w, v in sorted(weeks.items())]


@dataclass(frozen=True)
class GoalStatus:
    goal: Goal
    metric: Metric
    met_on: dt.date | None      # first day the goal was met (stored or found in the data)
    latest: float | None        # most recent value
    met_now: bool               # the most recent value meets the goal

    @property
    def description(self) -> str:
        if self.goal.label:
            text = self.goal.label
        else:
            words = {"<": "under", "<=": "at most", ">": "over", ">=": "at least"}[self.goal.comparison]
            text = f"{self.metric.label} {words} {self.metric.format(self.goal.target)}"
        if self.metric.source != "session":
            return text
        protocol = goal_protocol(self.goal)
        return f"{text} · {protocol} sessions only" if protocol else f"{text} · every exercise"


def _finite(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def summary_value(summary: dict[str, Any], key: str) -> float | None:
    """A metric from a session summary (missing, None or NaN give None)."""
    return _finite(summary.get(key)) if isinstance(summary, dict) else None


def session_modality(summary: dict[str, Any]) -> str:
    """"pressure" when a summary's main channel is a pressure probe (unit cmH2O), else "emg".

    A summary without a unit (written by hand or by an older version) is pressure when it holds
    only cmH2O figures.
    """
    if not isinstance(summary, dict):
        return EMG
    unit = summary.get("unit")
    if isinstance(unit, str) and unit.strip():
        return PRESSURE if unit.strip().lower().startswith("cmh2o") else EMG
    if summary.get("channel") == "pressure":
        return PRESSURE
    keys = [k for k in summary if isinstance(k, str)]
    if any(k.endswith("_cmh2o") for k in keys) and not any(k.endswith("_uv") for k in keys):
        return PRESSURE
    return EMG


def _modality_part(summary: dict[str, Any], modality: str) -> dict[str, Any]:
    """The part of a session summary for one modality: the summary itself, or the channel of that kind beside it."""
    if session_modality(summary) == modality:
        return summary
    channels = summary.get("channels") if isinstance(summary, dict) else None
    if isinstance(channels, dict):
        for part in channels.values():
            if isinstance(part, dict) and session_modality(part) == modality:
                return part
    return {}


def metric_value(summary: dict[str, Any], key: str) -> float | None:
    """A metric's value in a session summary, only when the session measured the metric's modality.

    ``release_latency_s`` is the EMG release time: a pressure session gives None for it and its own
    under ``pressure_release_latency_s``. Unit-suffixed keys name their modality themselves.
    """
    metric = METRICS.get(key)
    if metric is None or metric.modality is None:
        return summary_value(summary, key)
    if metric.field.endswith(("_uv", "_cmh2o")):
        value = summary_value(summary, metric.field)
        return value if value is not None else summary_value(_modality_part(summary, metric.modality), metric.field)
    return summary_value(_modality_part(summary, metric.modality), metric.field)


def trends(sessions: Iterable[SessionRecord], diary: Iterable[DiaryEntry],
           keys: Iterable[str] | None = None) -> dict[str, Trend]:
    """One date-ordered series per metric (a session or diary day without the value is left out).

    A session counts towards a metric's series only when it measured the metric's modality (EMG or pressure).
    """
    sessions = sorted(sessions, key=lambda s: (s.started_at, s.id))
    diary = sorted(diary, key=lambda d: (d.day, d.id))
    out: dict[str, Trend] = {}
    for key in (keys or METRICS):
        metric = METRICS[key]
        trend = Trend(metric)
        if metric.source == "session":
            for s in sessions:
                v = metric_value(s.summary, key)
                if v is not None:
                    trend.points.append(TrendPoint(s.day, v, s.started_at, s.protocol or ""))
        else:
            for d in diary:
                v = _finite(getattr(d, key))
                if v is not None:
                    trend.points.append(TrendPoint(d.day, v, d.day.isoformat()))
        out[key] = trend
    return out


def shared_date_range(series: Iterable[Trend], start: dt.date | None = None,
                      end: dt.date | None = None) -> tuple[dt.date, dt.date] | None:
    """The one date range every chart of a view or report uses (sessions and diary alike), so that pain
    lines up with the muscle: the period asked for, else the first to the last point of any series."""
    days = [p.day for t in series for p in t.points]
    if not days and not (start and end):
        return None
    lo = start or min(days)
    hi = end or max(days)
    return (min(lo, hi), max(lo, hi))


def trends_by_protocol(sessions: Iterable[SessionRecord],
                       keys: Iterable[str] | None = None) -> dict[str, dict[str, Trend]]:
    """Session trends split by protocol (a relaxation session and a Glazer assessment are not one series)."""
    sessions = list(sessions)
    out: dict[str, dict[str, Trend]] = {}
    for protocol in dict.fromkeys(s.protocol or "" for s in sessions):
        mine = [s for s in sessions if (s.protocol or "") == protocol]
        wanted = [k for k in (keys or METRICS) if METRICS[k].source == "session"]
        out[protocol] = {k: t for k, t in trends(mine, [], wanted).items() if t.points}
    return out


def goal_protocol(goal: Goal) -> str:
    """The protocol a goal is about; "" when it applies to all protocols (said so explicitly in its text)."""
    return goal.protocol or ""


def first_met(goal: Goal, trend: Trend) -> dt.date | None:
    """The first day in the series that meets the goal."""
    for p in trend.points:
        if goal.is_met_by(p.value):
            return p.day
    return None


def goal_status(goals: Iterable[Goal], series: dict[str, Trend]) -> list[GoalStatus]:
    """Each goal with the day it was first met (the earlier of the stored day and the data).

    A goal applies to its metric's modality only (``release_latency_s`` is EMG; write
    ``pressure_release_latency_s`` for a pressure goal), so a pressure session never meets an EMG goal.
    """
    out = []
    for g in goals:
        trend = series.get(g.metric) or Trend(METRICS[g.metric])
        if goal_protocol(g):            # only sessions of the goal's own protocol can meet it
            trend = trend.of_protocol(goal_protocol(g))
        found = first_met(g, trend)
        met_on = min(d for d in (g.met_on, found) if d) if (g.met_on or found) else None
        latest = trend.points[-1].value if trend.points else None
        out.append(GoalStatus(g, METRICS[g.metric], met_on, latest, g.is_met_by(latest)))
    return out


@dataclass
class Progress:
    """Everything the history view and the progress report show for one client."""

    client: Client
    sessions: list[SessionRecord]
    diary: list[DiaryEntry]
    trends: dict[str, Trend]
    goals: list[GoalStatus]
    start: dt.date | None = None
    end: dt.date | None = None
    places: dict[int, str] = field(default_factory=dict)          # session id -> "home" | "clinic"
    adherence: list[WeekAdherence] = field(default_factory=list)  # per programme week (clinic/adherence.py)
    #: the release targets she trained against, (day set, target in µV), oldest first (shaping, issue 11)
    target_steps: list[tuple[dt.date, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (``biofeedback history --json``)."""
        return {
            "client": self.client.name,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "sessions": [{"started_at": s.started_at, "protocol": s.protocol, "duration_s": s.duration_s,
                          "recording": s.recording_path, "place": self.places.get(s.id, "clinic"),
                          "modality": session_modality(s.summary),
                          "metrics": {k: metric_value(s.summary, k) for k in METRICS
                                      if METRICS[k].source == "session" and metric_value(s.summary, k) is not None}}
                         for s in self.sessions],
            "diary": [{"day": d.day.isoformat(), "pain_intercourse": d.pain_intercourse, "pain_pelvic": d.pain_pelvic,
                       "mood": d.mood, "minutes_practised": d.minutes_practised, "notes": d.notes} for d in self.diary],
            "trends": {k: {"label": t.metric.label, "unit": t.metric.unit, "modality": t.metric.modality,
                           "points": [{"day": p.day.isoformat(), "value": p.value} for p in t.points]}
                       for k, t in self.trends.items() if t.points},
            "goals": [{"goal": g.description, "metric": g.goal.metric, "comparison": g.goal.comparison,
                       "target": g.goal.target, "protocol": g.goal.protocol or None,
                       "met_on": g.met_on.isoformat() if g.met_on else None,
                       "latest": g.latest, "met_now": g.met_now} for g in self.goals],
            "date_range": [d.isoformat() for d in rng] if (rng := self.date_range) else None,
            "release_target_steps": [{"day": day.isoformat(), "release_target_uv": target}
                                     for day, target in self.target_steps],
            "trends_by_protocol": {
                protocol or "free practice": {
                    k: {"label": t.metric.label, "unit": t.metric.unit, "modality": t.metric.modality,
                        "points": [{"day": p.day.isoformat(), "when": p.when, "value": p.value} for p in t.points]}
                    for k, t in series.items()}
                for protocol, series in trends_by_protocol(self.sessions).items()},
            "adherence": [w.to_dict() for w in self.adherence],
        }

    @property
    def date_range(self) -> tuple[dt.date, dt.date] | None:
        """The one date range of every chart (sessions and diary alike)."""
        return shared_date_range(self.trends.values(), self.start, self.end)


def client_progress(library: Library, client: Client | str, start: dt.date | None = None,
                    end: dt.date | None = None) -> Progress:
    """Gather a client's sessions, diary, trends and goals (optionally between two days)."""
    if isinstance(client, str):
        client = library.client(client)
    sessions = library.sessions(client, start, end)
    diary = library.diary(client, start, end)
    places = library.session_places(client)
    adherence = weekly_adherence(library.programmes(client), sessions, places, first=start, last=end)
    steps = [(s["day"], float(s["target"])) for s in library.target_steps(client) if s.get("unit", "uV") == "uV"]
    # goals are judged over her whole history, so a date range never hides when a goal was first met
    return Progress(client, sessions, diary, trends(sessions, diary), client_goals(library, client),
                    start, end, places, adherence, steps)


def client_goals(library: Library, client: Client | str) -> list[GoalStatus]:
    """A client's goals, each judged over her whole history (sessions of the goal's protocol only)."""
    if isinstance(client, str):
        client = library.client(client)
    return goal_status(library.goals(client), trends(library.sessions(client), library.diary(client)))


def update_milestones(library: Library, client: Client | str) -> list[GoalStatus]:
    """Store the first-met day of goals newly met; returns the goals met for the first time."""
    newly = []
    for status in client_goals(library, client):
        if status.met_on and status.goal.met_on != status.met_on:
            library.mark_goal_met(status.goal, status.met_on)
            if status.goal.met_on is None:
                newly.append(status)
    return newly
