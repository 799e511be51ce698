"""A simulated home programme over many weeks, built fast through the library (for the bench and tests).

Real parts throughout: real recording files (small: a few seconds of a simulated envelope-like
signal at a low rate), a real library, real programme schedules. Only the session summaries are
modelled rather than analysed, so twenty weeks build in seconds: resting tone and release time
fall slowly over the weeks, pain eases, home practice happens on most days, and the clinic sees
her every two weeks.
"""
from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import numpy as np

from biofeedback.clinic.library import Client, Library, ProgrammeSchedule
from biofeedback.files.recording import RecordingWriter
from biofeedback.stream import Block, Channel, StreamInfo

_RATE = 100.0


def write_small_recording(path: str | Path, started_at: str, protocol: str, resting_tone_uv: float,
                          seconds: float = 4.0, seed: int = 0) -> Path:
    """A short real recording (one EMG-like channel at 100 Hz) that starts at ``started_at``."""
    info = StreamInfo((Channel("pfm"),), _RATE, source="sim:demo")
    rng = np.random.default_rng(seed)
    n = int(seconds * _RATE)
    data = (resting_tone_uv + rng.standard_normal((n, 1)) * resting_tone_uv * 0.2).astype(np.float32)
    with RecordingWriter(path, info, {"started_at": started_at, "protocol": protocol}) as writer:
        writer.append(Block(0, data))
    return Path(path)


def _summary(week: float, place: str, rng: np.random.Generator) -> dict[str, float | str]:
    """A plausible session summary for ``week`` weeks into the programme (she improves, not in a straight line)."""
    progress = min(1.0, week / 16.0)
    clinic_tone = 1.0 if place == "clinic" else 0.0       # a little tenser at the clinic
    return {"unit": "uV",
            "resting_tone_uv": round(float(12.0 - 7.0 * progress + clinic_tone + rng.normal(0, 0.6)), 2),
            "release_latency_s": round(float(max(0.4, 2.6 - 1.8 * progress + rng.normal(0, 0.2))), 2),
            "contraction_peak_uv": round(float(30.0 + 6.0 * progress + rng.normal(0, 2.0)), 1)}


def build_demo_programme(library: Library, name: str, folder: str | Path, weeks: int = 20,
                         start: dt.date | None = None, seed: int = 0) -> Client:
    """Add ``name`` with a ``weeks``-long programme: relaxation 7x and work-rest 2x a week at home
    (done on most days), a clinic Glazer assessment every two weeks, and a diary entry every few days."""
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    start = start or dt.date.today() - dt.timedelta(days=7 * weeks - 1)
    client = library.add_client(name, notes="simulated programme")
    library.add_programme(client, ProgrammeSchedule(str(uuid.uuid4()), f"{start.isoformat()}T09:00:00+00:00",
                                                    start, weeks, {"relaxation": 7, "work-rest": 2},
                                                    "Gently, most days; a missed day is fine."))
    for day_index in range(7 * weeks):
        day = start + dt.timedelta(days=day_index)
        if day > dt.date.today():                 # practice happens up to today only
            break
        week = day_index / 7.0
        plan = []
        if rng.random() < 0.85:
            plan.append(("relaxation", "home", "19:30"))
        if day.weekday() in (1, 4) and rng.random() < 0.7:
            plan.append(("work-rest", "home", "08:15"))
        if day_index % 14 == 3:
            plan.append(("glazer", "clinic", "10:00"))
        for protocol, place, clock in plan:
            started = f"{day.isoformat()}T{clock}:00+00:00"
            summary = _summary(week, place, rng)
            path = write_small_recording(folder / f"{day.isoformat()}-{protocol}.bfr", started, protocol,
                                         float(summary["resting_tone_uv"]), seed=day_index)
            if place == "home":
                library.add_home_session(client, path, started, protocol, 4.0, summary)
            else:
                library.add_session(client, path, started, protocol, 4.0, summary)
        if day_index % 3 == 0:
            pain = max(0.0, round(7.0 - 5.0 * min(1.0, week / 18.0) + rng.normal(0, 0.7)))
            mood = int(np.clip(round(2 + week / 7), 1, 5))
            library.add_diary(client, day, pain_intercourse=min(10.0, pain), mood=mood, minutes_practised=15.0,
                              notes="felt calmer" if day_index % 21 == 0 else "")
    return client
