"""First versus latest: two sessions of one client laid over each other, aligned at the protocol's steps.

Each squeeze of the chosen phase (e.g. the five tonic squeezes of a Glazer assessment) is cut from
``BEFORE_S`` before its cue to the end of the rest that follows, on a time axis where 0 is the squeeze
cue; squeeze k of the first session is paired with squeeze k of the latest. The mean over the squeezes
shows the change in how she lets go in one picture. Qt-free (the window and the report draw it).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from biofeedback.errors import UserError
from biofeedback.stream import primary_channel

#: Seconds shown before each squeeze cue.
BEFORE_S = 2.0
#: Phases tried, in this order, when none is asked for (the first one both sessions have).
PREFERRED_PHASES = ("tonic", "work", "release", "flicks", "endurance")


@dataclass
class SessionTrials:
    """One session's squeezes of one phase, each on a time axis from its cue."""

    label: str                    # e.g. "first, 3 Nov 2026"
    started_at: str
    unit: str
    t: np.ndarray                 # seconds from the squeeze cue (shared by all its trials)
    trials: list[np.ndarray]      # envelope of each squeeze and the rest after it (NaN where it ended sooner)
    squeeze_s: float              # how long the squeeze step lasts (the rest begins there)

    @property
    def mean(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.nanmean(np.vstack(self.trials), axis=0) if self.trials else np.empty(0)


@dataclass
class Overlay:
    phase: str
    first: SessionTrials
    latest: SessionTrials
    notes: list[str] = field(default_factory=list)

    @property
    def pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return list(zip(self.first.trials, self.latest.trials))


def _phase_trials(path: str | os.PathLike) -> tuple[dict[str, list[tuple[float, float, float]]], np.ndarray,
                                                     float, str, str]:
    """{phase: [(cue_s, squeeze_s, rest_s)]}, the main channel's envelope, rate, unit, start time."""
    from biofeedback.files.offline import recording_envelope
    from biofeedback.files.recording import Recording
    from biofeedback.protocols.spans import step_spans
    with Recording.open(path) as rec:
        data, info, events, started = rec.read(), rec.info, list(rec.events), rec.started_at
        env = recording_envelope(rec, data)
    col = primary_channel(info)
    spans = step_spans(events, len(data) / info.rate)
    out: dict[str, list[tuple[float, float, float]]] = {}
    for k, s in enumerate(spans):
        if not s.step.is_contraction:
            continue
        nxt = spans[k + 1] if k + 1 < len(spans) else None
        rest = nxt.duration_s if nxt is not None and not nxt.step.is_contraction else 0.0
        out.setdefault(s.step.phase, []).append((s.start_s, s.duration_s, rest))
    return out, np.asarray(env[:, col]), info.rate, info.channels[col].unit, started


def _cut(env: np.ndarray, rate: float, trials: list[tuple[float, float, float]], length_s: float,
         label: str, started: str, unit: str) -> SessionTrials:
    n = int(round((BEFORE_S + length_s) * rate))
    t = np.arange(n) / rate - BEFORE_S
    cuts = []
    for cue, squeeze, rest in trials:
        a = int(round((cue - BEFORE_S) * rate))
        stop = int(round((cue + squeeze + rest) * rate))
        seg = np.full(n, np.nan)
        lo, hi = max(0, a), min(len(env), stop, a + n)
        if hi > lo:
            seg[lo - a:hi - a] = env[lo:hi]
        cuts.append(seg)
    squeeze_s = float(np.median([s for _, s, _ in trials])) if trials else 0.0
    return SessionTrials(label, started, unit, t, cuts, squeeze_s)


def _day(started_at: str) -> str:
    import datetime as dt
    try:
        d = dt.datetime.fromisoformat(started_at)
    except (TypeError, ValueError):
        return started_at[:10]
    return f"{d.day} {d:%b %Y}"


def align_sessions(first: str | os.PathLike, latest: str | os.PathLike, phase: str | None = None) -> Overlay:
    """Squeezes of ``phase`` (default: the first of :data:`PREFERRED_PHASES` both have) from both recordings,
    paired in order and aligned at their cues."""
    a, env_a, rate_a, unit_a, start_a = _phase_trials(first)
    b, env_b, rate_b, unit_b, start_b = _phase_trials(latest)
    if unit_a != unit_b:
        raise UserError(f"{Path(first).name} and {Path(latest).name} measure different things ({unit_a} and "
                        f"{unit_b}); compare sessions recorded with the same kind of probe")
    common = [p for p in a if p in b]
    if phase is None:
        phase = next((p for p in PREFERRED_PHASES if p in common), common[0] if common else None)
    if phase is None or phase not in common:
        raise UserError("these two sessions have no squeezes of the same exercise to lay over each other")
    n = min(len(a[phase]), len(b[phase]))
    ta, tb = a[phase][:n], b[phase][:n]
    length = max(s + r for _, s, r in ta + tb)
    notes = []
    if len(a[phase]) != len(b[phase]):
        notes.append(f"only the first {n} squeezes of each are compared")
    return Overlay(phase, _cut(env_a, rate_a, ta, length, f"first, {_day(start_a)}", start_a, unit_a),
                   _cut(env_b, rate_b, tb, length, f"latest, {_day(start_b)}", start_b, unit_b), notes)


def overlay_pair(sessions: list) -> tuple | None:
    """(first, latest) library sessions to compare: the protocol of the most recent session that has an
    earlier session with a recording still on disk; None when there is no such pair."""
    kept = [s for s in sorted(sessions, key=lambda s: s.started_at) if s.recording_path and
            Path(s.recording_path).exists()]
    for latest in reversed(kept):
        same = [s for s in kept if s.protocol == latest.protocol and s.started_at < latest.started_at]
        if same:
            return same[0], latest
    return None
