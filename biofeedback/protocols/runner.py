"""A protocol in time: its timeline, the breathing pacer, the runner on the stream clock, a scripted patient."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from biofeedback.protocols.model import INHALE_FRACTION, Protocol, Step
from biofeedback.stream import Event


@dataclass(frozen=True)
class StepState:
    """Where a running protocol is at one moment: what the cue panel shows."""

    step: Step
    index: int
    n_steps: int
    elapsed_s: float
    remaining_s: float
    next_step: Step | None
    breathing_phase: float | None  # 0..1 through the current breath, None when the step has no pacer
    protocol_elapsed_s: float
    protocol_total_s: float
    protocol_title: str = ""

    @property
    def progress(self) -> float:
        """Share of the current step already done, 0..1."""
        d = self.step.duration_s
        return 1.0 if d <= 0 else min(1.0, max(0.0, self.elapsed_s / d))

    @property
    def breathing_in(self) -> bool | None:
        """True on the in-breath, False on the out-breath, None without a pacer."""
        if self.breathing_phase is None:
            return None
        return self.breathing_phase < INHALE_FRACTION


def timeline(protocol: Protocol, start_s: float = 0.0) -> list[tuple[float, float, Step]]:
    """``(start_s, end_s, step)`` for every step, in order."""
    out: list[tuple[float, float, Step]] = []
    t = float(start_s)
    for step in protocol.steps:
        out.append((t, t + step.duration_s, step))
        t += step.duration_s
    return out


def breathing_anchors(protocol: Protocol, start_s: float = 0.0) -> list[float | None]:
    """For each step, when its breathing cycle began (None without a pacer).

    Consecutive steps at the same pace share one continuous breathing rhythm; a
    new rhythm (after a contraction, say) begins with an in-breath, so the
    release cue that opens it falls on the in-breath.
    """
    anchors: list[float | None] = []
    prev_bpm: float | None = None
    anchor: float | None = None
    for start, _end, step in timeline(protocol, start_s):
        bpm = step.breathing_bpm
        if bpm is None:
            anchor = None
        elif anchor is None or bpm != prev_bpm:
            anchor = start
        anchors.append(anchor)
        prev_bpm = bpm
    return anchors


class ProtocolRunner:
    """Walks a protocol on the stream clock: step events as steps begin, and the state at any moment."""

    def __init__(self, protocol: Protocol, start_s: float = 0.0) -> None:
        self.protocol = protocol
        self.start_s = float(start_s)
        self._timeline = timeline(protocol, self.start_s)
        self._anchors = breathing_anchors(protocol, self.start_s)
        self._starts = np.array([t[0] for t in self._timeline])
        self.end_s = self.start_s + protocol.total_s
        self._emitted = 0          # steps whose event has been returned
        self._started = False
        self._ended = False

    @property
    def finished(self) -> bool:
        """True once :meth:`update` has passed the end of the last step."""
        return self._ended

    def update(self, t_s: float) -> list[Event]:
        """Events for everything that began by ``t_s`` (each stamped with its exact start time)."""
        events: list[Event] = []
        if t_s < self.start_s or self._ended:
            return events
        if not self._started:
            self._started = True
            events.append(Event(self.start_s, "protocol", "start",
                                {"name": self.protocol.name, "title": self.protocol.title,
                                 "total_s": self.protocol.total_s, "steps": len(self.protocol.steps)}))
        while self._emitted < len(self._timeline) and self._timeline[self._emitted][0] <= t_s:
            start, _end, step = self._timeline[self._emitted]
            events.append(Event(start, "step", step.cue, step.to_event_data(self._emitted, self.protocol.name)))
            self._emitted += 1
        if t_s >= self.end_s:
            self._ended = True
            events.append(Event(self.end_s, "protocol", "end", {"name": self.protocol.name}))
        return events

    def index_at(self, t_s: float) -> int | None:
        """Index of the step running at ``t_s`` (None before the start or after the end)."""
        if t_s < self.start_s or t_s >= self.end_s or not self._timeline:
            return None
        return int(np.searchsorted(self._starts, t_s, side="right") - 1)

    def current(self, t_s: float) -> StepState | None:
        """What is happening at ``t_s``: the step, its countdown, what comes next, the breathing phase."""
        i = self.index_at(t_s)
        if i is None:
            return None
        start, end, step = self._timeline[i]
        anchor = self._anchors[i]
        breathing = None
        if anchor is not None and step.breathing_bpm:
            breathing = float(((t_s - anchor) * step.breathing_bpm / 60.0) % 1.0)
        nxt = self._timeline[i + 1][2] if i + 1 < len(self._timeline) else None
        return StepState(step=step, index=i, n_steps=len(self._timeline), elapsed_s=t_s - start,
                         remaining_s=max(0.0, end - t_s), next_step=nxt, breathing_phase=breathing,
                         protocol_elapsed_s=t_s - self.start_s, protocol_total_s=self.protocol.total_s,
                         protocol_title=self.protocol.title)


def effort_script(protocol: Protocol, reaction_s: float = 0.35, start_s: float = 0.0,
                  seed: int = 0) -> Callable[[Any], Any]:
    """``t_s -> target effort`` of a patient who follows the cues, each a little late (a human reaction delay).

    Each step's effort begins ``reaction_s`` (±20 %, fixed per step by ``seed``) after its cue;
    before the start and after the end the effort is 0. Accepts a float or a numpy array of times.
    """
    tl = timeline(protocol, start_s)
    rng = np.random.default_rng(seed)
    delays = np.clip(rng.normal(reaction_s, 0.2 * reaction_s, len(tl)), 0.5 * reaction_s, 1.5 * reaction_s)
    starts = np.array([s for s, _, _ in tl] + [start_s + protocol.total_s]) + np.append(delays, delays[-1])
    efforts = np.array([st.effort for _, _, st in tl] + [0.0])

    def script(t_s: Any) -> Any:
        t = np.asarray(t_s, dtype=np.float64)
        idx = np.searchsorted(starts, t, side="right") - 1
        out = np.where(idx >= 0, efforts[np.clip(idx, 0, len(efforts) - 1)], 0.0)
        return float(out) if out.ndim == 0 else out

    return script
