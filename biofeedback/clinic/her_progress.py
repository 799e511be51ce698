"""Her progress, for her: days practised this week, a gentle calendar, this week against her first week,
and milestones in plain words.

The history view is the therapist's table; this is what the patient practising at home sees. Pure data
(no Qt), so the words can be tested. Rules of tone (CLINICAL.md, "Home practice"): small wins
celebrated, a day without practice is simply a day (never "missed"), no µV jargon.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from biofeedback.clinic.library import Client, Library
from biofeedback.clinic.progress import Trend, goal_status, trends

#: what she compares with her first week: (words, metrics in order of preference, lower is calmer/better)
COMPARED = (
    ("Resting tone", ("resting_tone_uv", "resting_tone_cmh2o"), "softer"),
    ("Letting go", ("release_latency_s", "pressure_release_latency_s"), "quicker"),
    ("Pain", ("pain_intercourse", "pain_pelvic"), "less"),
)
CALENDAR_WEEKS = 4


@dataclass(frozen=True)
class Comparison:
    """One "first week / this week" picture: both values on the same scale, and a kind sentence."""

    title: str
    first_week: float | None
    this_week: float | None
    words: str

    @property
    def shown(self) -> bool:
        return self.first_week is not None and self.this_week is not None


@dataclass
class HerProgress:
    name: str
    today: dt.date
    practised_days: set[dt.date] = field(default_factory=set)
    comparisons: list[Comparison] = field(default_factory=list)
    milestones: list[str] = field(default_factory=list)

    @property
    def week(self) -> list[dt.date]:
        """Monday to Sunday of this week."""
        monday = self.today - dt.timedelta(days=self.today.weekday())
        return [monday + dt.timedelta(days=i) for i in range(7)]

    @property
    def days_this_week(self) -> int:
        return sum(d in self.practised_days for d in self.week)

    def calendar(self, weeks: int = CALENDAR_WEEKS) -> list[list[tuple[dt.date, bool]]]:
        """The last ``weeks`` weeks, Monday first, each day with whether she practised (future days included)."""
        monday = self.week[0] - dt.timedelta(weeks=weeks - 1)
        return [[(d, d in self.practised_days) for d in
                 (monday + dt.timedelta(days=7 * w + i) for i in range(7))] for w in range(weeks)]

    @property
    def week_words(self) -> str:
        """This week in one kind sentence; a week without practice yet is a fresh start, never a failure."""
        n = self.days_this_week
        if n == 0:
            return "A fresh week. Whenever you are ready, a few calm minutes are enough."
        if n == 1:
            return "You practised on 1 day this week. Every session counts."
        return f"You practised on {n} days this week. Well done for making time for yourself."


def _mean_between(trend: Trend | None, first: dt.date, last: dt.date) -> float | None:
    if trend is None:
        return None
    values = [p.value for p in trend.points if first <= p.day <= last]
    return sum(values) / len(values) if values else None


def _compare(title: str, keys: tuple[str, ...], better: str, series: dict[str, Trend], start: dt.date,
             today: dt.date) -> Comparison:
    trend = next((series[k] for k in keys if k in series and series[k].points), None)
    first = _mean_between(trend, start, start + dt.timedelta(days=6))
    now = _mean_between(trend, today - dt.timedelta(days=6), today)
    if first is None or now is None:
        return Comparison(title, first, now, "Your picture appears after a few sessions.")
    if (today - start).days < 7:
        return Comparison(title, first, now, "This is your first week: this is where you start from.")
    if now < first * 0.95:
        words = f"{better.capitalize()} than in your first week."
    elif now > first * 1.05:
        words = "A little higher this week. Ups and downs are part of it; keep going gently."
    else:
        words = "About the same as in your first week. Steady is good."
    return Comparison(title, first, now, words)


def _milestones(library: Library, client: Client, series: dict[str, Trend], sessions: int) -> list[str]:
    out = []
    for status in goal_status(library.goals(client), series):
        if status.met_on is not None:
            what = status.goal.label or "a goal you and your therapist set"
            out.append(f"{status.met_on.strftime('%d %B').lstrip('0')}: you reached {what}.")
    for n in (1, 5, 10, 20, 50, 100):
        if sessions >= n:
            small = "Your first session: the hardest step." if n == 1 else f"{n} sessions practised."
            out.append(small)
    return out


def her_progress(library: Library, client: Client | str, today: dt.date | None = None) -> HerProgress:
    """Everything the home screen's progress panel shows for ``client``."""
    if isinstance(client, str):
        client = library.client(client)
    today = today or dt.date.today()
    sessions = library.sessions(client)
    diary = library.diary(client)
    series = trends(sessions, diary)
    days = {dt.date.fromisoformat(s.started_at[:10]) for s in sessions if s.started_at}
    progress = HerProgress(client.name, today, days)
    first_day = min([*days, *(d.day for d in diary)], default=today)
    progress.comparisons = [_compare(t, k, b, series, first_day, today) for t, k, b in COMPARED]
    progress.milestones = _milestones(library, client, series, len(sessions))
    return progress
