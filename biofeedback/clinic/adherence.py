"""Adherence: sessions done against sessions prescribed, per week and per protocol.

This is what a therapist checks first when progress stalls (CLINICAL.md). Weeks are counted
from the first programme's start day (week 1 = its first seven days). Each week is read
against the programme in force that week: the most recently written one whose days overlap
it, so a newer programme replaces the schedule from its start on and earlier weeks keep the
schedule they had. Sessions count wherever they took place (home or clinic); the week also
says how many were at home and how many at the clinic.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from biofeedback.clinic.library import ProgrammeSchedule, SessionRecord


@dataclass(frozen=True)
class ProtocolWeek:
    prescribed: int
    done: int


@dataclass(frozen=True)
class WeekAdherence:
    week: int                       # 1 = the first programme's first seven days
    start: dt.date
    end: dt.date
    programme_id: str
    protocols: dict[str, ProtocolWeek] = field(default_factory=dict)
    home: int = 0                   # sessions at home this week (any protocol)
    clinic: int = 0                 # sessions at the clinic this week (any protocol)

    @property
    def prescribed(self) -> int:
        return sum(p.prescribed for p in self.protocols.values())

    @property
    def done(self) -> int:
        """Prescribed sessions done (extra sessions of a protocol do not make up for another)."""
        return sum(min(p.done, p.prescribed) for p in self.protocols.values())

    def to_dict(self) -> dict[str, Any]:
        return {"week": self.week, "from": self.start.isoformat(), "to": self.end.isoformat(),
                "prescribed": self.prescribed, "done": self.done, "home": self.home, "clinic": self.clinic,
                "protocols": {name: {"prescribed": p.prescribed, "done": p.done}
                              for name, p in self.protocols.items()}}


def _in_force(programmes: list[ProgrammeSchedule], start: dt.date, end: dt.date) -> ProgrammeSchedule | None:
    overlapping = [p for p in programmes if p.start_day <= end and p.end_day >= start]
    return max(overlapping, key=lambda p: p.written_at) if overlapping else None


def weekly_adherence(programmes: Iterable[ProgrammeSchedule], sessions: Iterable[SessionRecord],
                     places: dict[int, str], today: dt.date | None = None, first: dt.date | None = None,
                     last: dt.date | None = None) -> list[WeekAdherence]:
    """One entry per programme week up to ``today`` (optionally only weeks touching ``first``..``last``)."""
    programmes = sorted(programmes, key=lambda p: p.written_at)
    if not programmes:
        return []
    today = today or dt.date.today()
    anchor = min(p.start_day for p in programmes)
    stop = min(max(p.end_day for p in programmes), today)
    by_day: dict[dt.date, list[SessionRecord]] = {}
    for s in sessions:
        by_day.setdefault(s.day, []).append(s)
    out = []
    week = 0
    while anchor + dt.timedelta(days=7 * week) <= stop:
        start = anchor + dt.timedelta(days=7 * week)
        end = start + dt.timedelta(days=6)
        week += 1
        if (first and end < first) or (last and start > last):
            continue
        schedule = _in_force(programmes, start, end)
        if schedule is None:
            continue
        in_week = [s for i in range(7) for s in by_day.get(start + dt.timedelta(days=i), [])]
        done = {name: sum(1 for s in in_week if s.protocol == name) for name in schedule.protocols}
        out.append(WeekAdherence(week, start, end, schedule.programme_uid,
                                 {n: ProtocolWeek(t, done[n]) for n, t in schedule.protocols.items()},
                                 home=sum(1 for s in in_week if places.get(s.id) == "home"),
                                 clinic=sum(1 for s in in_week if places.get(s.id, "clinic") == "clinic")))
    return out


def adherence_lines(weeks: Iterable[WeekAdherence]) -> list[str]:
    """One plain line per week, e.g. ``week 3 (15 Nov): 8 of 9 — relaxation 7/7, work-rest 1/2; 8 at home``."""
    lines = []
    for w in weeks:
        per = ", ".join(f"{name} {p.done}/{p.prescribed}" for name, p in w.protocols.items())
        where = f"{w.home} at home" + (f", {w.clinic} at the clinic" if w.clinic else "")
        lines.append(f"week {w.week} ({w.start.day} {w.start:%b}): {w.done} of {w.prescribed} — {per}; {where}")
    return lines


def this_week(programmes: Iterable[ProgrammeSchedule], sessions: Iterable[SessionRecord], places: dict[int, str],
              day: dt.date | None = None) -> WeekAdherence | None:
    """The programme week holding ``day`` (default today), for home mode's "today": None outside any programme."""
    day = day or dt.date.today()
    weeks = weekly_adherence(programmes, sessions, places, today=day, first=day, last=day)
    return weeks[-1] if weeks else None
