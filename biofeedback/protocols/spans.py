"""Where each exercise step lies on a recording's clock: the one rule, for analysis, reports and replay.

A step lasts from its ``step`` event until the first of: its own planned end, the next step's event,
the protocol's ``end`` event, and the end of the recording. A session stopped early, a step skipped
by hand or a recording cut short therefore never stretches a step over time that belonged to another.
"""
from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from biofeedback.protocols.model import Protocol, Step
from biofeedback.protocols.runner import timeline
from biofeedback.stream import Event

__all__ = ["StepSpan", "step_spans", "spans_from_protocol", "span_at"]


@dataclass(frozen=True)
class StepSpan:
    """One step on the recording's clock (seconds from its start)."""

    index: int
    start_s: float
    end_s: float
    step: Step
    #: the recorded ``step`` event it comes from (None for a span laid from a protocol's plan); reports read
    #: its label and data to shade steps written by other programs, which carry no ``kind``
    event: Event | None = field(default=None, compare=False, repr=False)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def _is_protocol_end(e: Event) -> bool:
    return e.kind == "protocol" and str(e.label).lower() == "end"


def _step_of(e: Event) -> Step:
    """The step an event recorded; a damaged event still marks where a step began (a free step, no plan)."""
    data: dict[str, Any] = e.data if isinstance(e.data, dict) else {}
    try:
        return Step.from_event_data(data, e.label)
    except (TypeError, ValueError):
        return Step.from_event_data({}, e.label)


def _index_of(e: Event, position: int) -> int:
    value = e.data.get("index") if isinstance(e.data, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return position


def step_spans(events: Iterable[Event], end_s: float, t0_s: float = 0.0) -> list[StepSpan]:
    """The steps recorded as ``step`` events, in time order, each cut as the module docstring says.

    ``end_s`` is the end of the recording; ``t0_s`` is subtracted from the event times (events on
    another clock). Steps that would last no time (begun at or after the end) are left out.
    """
    events = list(events)
    steps = sorted((e for e in events if e.kind == "step"), key=lambda e: e.time_s)
    ends = sorted(e.time_s - t0_s for e in events if _is_protocol_end(e))
    spans: list[StepSpan] = []
    for i, ev in enumerate(steps):
        step = _step_of(ev)
        start = ev.time_s - t0_s
        stop = start + step.duration_s if step.duration_s > 0 else end_s
        if i + 1 < len(steps):
            stop = min(stop, steps[i + 1].time_s - t0_s)
        later_end = next((t for t in ends if t > start), None)
        if later_end is not None:
            stop = min(stop, later_end)
        stop = min(stop, end_s)
        if stop > start:
            spans.append(StepSpan(_index_of(ev, i), start, stop, step, ev))
    return spans


def spans_from_protocol(protocol: Protocol, end_s: float, start_s: float = 0.0) -> list[StepSpan]:
    """Steps from a protocol's plan laid from ``start_s``, for a recording without step events (cut at its end)."""
    return [StepSpan(i, a, min(b, end_s), st) for i, (a, b, st) in enumerate(timeline(protocol, start_s))
            if a < end_s]


def span_at(spans: Sequence[StepSpan], t_s: float) -> StepSpan | None:
    """The span running at ``t_s`` (spans as :func:`step_spans` gives them: ordered, not overlapping)."""
    i = bisect.bisect_right([s.start_s for s in spans], t_s) - 1
    if i >= 0 and t_s < spans[i].end_s:
        return spans[i]
    return None
