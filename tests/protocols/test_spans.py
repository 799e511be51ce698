"""Where recorded steps lie on a recording's clock: the one rule that analysis, reports and replay share."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.protocols import ProtocolRunner, StepSpan, load_protocol, span_at, step_spans
from biofeedback.reports.content import shaded_steps
from biofeedback.stream import Event


def _step(t: float, duration_s: float | None = None, kind: str = "rest", index: int | None = None) -> Event:
    data: dict = {"kind": kind, "cue": f"{kind} at {t}"}
    if duration_s is not None:
        data["duration_s"] = duration_s
    if index is not None:
        data["index"] = index
    return Event(t, "step", data["cue"], data)


def test_phases_from_recorded_events_follow_the_events_not_the_plan():
    p = load_protocol("work-rest")
    runner = ProtocolRunner(p, start_s=3.0)
    events = runner.update(1e9)
    spans = step_spans(events, end_s=200.0)  # the session was stopped at 200 s
    assert spans[0].start_s == 3.0 and spans[-1].end_s == 200.0
    assert [s.step for s in spans] == list(p.steps[:len(spans)])
    assert all(a.end_s == b.start_s for a, b in zip(spans, spans[1:]))
    shifted = step_spans(events, end_s=500.0, t0_s=3.0)
    assert shifted[0].start_s == 0.0 and shifted[-1].end_s == pytest.approx(p.total_s)


def test_span_duration():
    assert StepSpan(0, 1.0, 3.5, load_protocol("glazer").steps[0]).duration_s == 2.5


@settings(max_examples=50, deadline=None)
@given(name=st.sampled_from(["glazer", "work-rest", "relaxation", "dilator", "quick-flicks"]),
       start=st.floats(0, 30), stop_frac=st.floats(0.01, 1.2))
def test_spans_from_a_protocol_run(name, start, stop_frac):
    """Whatever the start and wherever the recording stops: contiguous steps, inside the recording, in order."""
    p = load_protocol(name)
    end_s = start + stop_frac * p.total_s
    events = ProtocolRunner(p, start_s=start).update(end_s)
    spans = step_spans(events, end_s)
    assert spans, "a step began before the end"
    assert [sp.index for sp in spans] == list(range(len(spans)))
    assert all(0 <= sp.start_s < sp.end_s <= end_s + 1e-9 for sp in spans)
    assert all(abs(a.end_s - b.start_s) < 1e-9 for a, b in zip(spans, spans[1:]))
    assert all(sp.step == p.steps[sp.index] for sp in spans)
    assert spans[-1].end_s == pytest.approx(min(end_s, start + p.total_s))


# any recorded step events: shuffled, overlapping plans, steps without a planned length, a protocol end
_times = st.lists(st.floats(0, 500, allow_nan=False), min_size=1, max_size=25)
_durations = st.one_of(st.none(), st.just(0.0), st.floats(0.01, 120))


@settings(max_examples=200, deadline=None)
@given(times=_times, durations=st.lists(_durations, min_size=25, max_size=25),
       end_s=st.floats(1, 600, allow_nan=False), protocol_end=st.one_of(st.none(), st.floats(0, 600)))
def test_spans_are_ordered_do_not_overlap_and_run_from_each_step_to_the_next(times, durations, end_s, protocol_end):
    events = [_step(t, d) for t, d in zip(times, durations)]
    if protocol_end is not None:
        events.append(Event(protocol_end, "protocol", "end", {}))
    spans = step_spans(reversed(events), end_s)          # the order events arrive in does not matter
    starts = sorted(times)
    assert [s.start_s for s in spans] == sorted(s.start_s for s in spans)
    for a, b in zip(spans, spans[1:]):
        assert a.end_s <= b.start_s                        # never overlapping
    for s in spans:
        assert 0 <= s.start_s < s.end_s <= end_s           # inside the recording, never empty
        assert s.start_s in starts                         # each begins at its step event
        later = [t for t in starts if t > s.start_s]
        if later:
            assert s.end_s <= min(later)                   # ... and is over by the next one
        if protocol_end is not None and protocol_end > s.start_s:
            assert s.end_s <= protocol_end                 # ... and by the protocol's end
        planned = s.step.duration_s
        if planned > 0:
            assert s.end_s <= s.start_s + planned + 1e-9   # ... and by its own planned end
        else:                                              # without a plan it runs until something stops it
            stops = [end_s] + later + ([protocol_end] if protocol_end is not None and protocol_end > s.start_s else [])
            assert s.end_s == pytest.approx(min(stops))
    # every step event before the end (and before the protocol's end) has its span
    live = {t for t in times if t < end_s and (protocol_end is None or t < protocol_end)}
    assert {s.start_s for s in spans} >= live


def test_a_step_without_a_planned_length_runs_to_the_next_step():
    spans = step_spans([_step(0.0), _step(7.5, 10.0), _step(12.0)], end_s=30.0)
    assert [(s.start_s, s.end_s) for s in spans] == [(0.0, 7.5), (7.5, 12.0), (12.0, 30.0)]


def test_a_stopped_protocol_ends_its_last_step():
    events = [_step(0.0, 60.0), Event(20.0, "protocol", "end", {}), _step(40.0, 10.0)]
    spans = step_spans(events, end_s=100.0)
    assert [(s.start_s, s.end_s) for s in spans] == [(0.0, 20.0), (40.0, 50.0)]


def test_a_damaged_step_event_still_marks_a_step():
    events = [Event(0.0, "step", "Rest", {"duration_s": "ten", "kind": "rest"}), Event(5.0, "step", "Squeeze", "x")]
    spans = step_spans(events, end_s=9.0)
    assert [(s.start_s, s.end_s, s.step.cue) for s in spans] == [(0.0, 5.0, "Rest"), (5.0, 9.0, "Squeeze")]
    assert [s.index for s in spans] == [0, 1]


def test_span_at_finds_the_running_step():
    spans = step_spans([_step(1.0, 2.0), _step(5.0, 5.0)], end_s=20.0)
    assert span_at(spans, 0.5) is None and span_at(spans, 4.0) is None and span_at(spans, 10.0) is None
    assert span_at(spans, 1.0) is spans[0] and span_at(spans, 2.99) is spans[0] and span_at(spans, 9.99) is spans[1]
    assert span_at([], 3.0) is None


def test_report_shading_uses_the_same_spans():
    p = load_protocol("glazer")
    events = ProtocolRunner(p).update(150.0)
    shaded, spans = shaded_steps(events, 150.0), step_spans(events, 150.0)
    assert [(s.start_s, s.end_s) for s in shaded] == [(s.start_s, s.end_s) for s in spans]
    assert shaded[0].kind == "rest" and {"contract", "release"} <= {s.kind for s in shaded}
