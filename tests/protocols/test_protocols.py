"""Protocol files, loader, timeline, runner and the scripted patient."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.errors import UserError
from biofeedback.protocols import (
    INHALE_FRACTION,
    Protocol,
    ProtocolRunner,
    Step,
    effort_script,
    list_protocols,
    load_protocol,
    parse_protocol,
    timeline,
    user_protocol_dir,
)

BUILTINS = ["glazer", "work-rest", "work-rest-5-10", "quick-flicks", "endurance", "relaxation", "dilator"]


def _shape(p: Protocol) -> list[tuple[str, float, str | None, str]]:
    return [(s.kind, s.duration_s, s.band, s.phase) for s in p.steps]


def test_builtins_all_load_in_order(tmp_path):
    names = [p.name for p in list_protocols(user_dir=tmp_path)]
    assert names == BUILTINS
    for p in list_protocols(user_dir=tmp_path):
        assert p.title and p.description and p.total_s > 0
        assert all(s.cue.strip() for s in p.steps)


def test_glazer_is_exactly_the_standard_assessment():
    p = load_protocol("glazer")
    expected = [("rest", 60.0, "release", "pre_baseline")]
    for _ in range(5):
        expected += [("quick", 2.0, "contraction", "flicks"), ("rest", 10.0, "release", "flicks")]
    for _ in range(5):
        expected += [("contract", 10.0, "contraction", "tonic"), ("rest", 10.0, "release", "tonic")]
    expected += [("hold", 60.0, "contraction", "endurance"), ("rest", 60.0, "release", "post_baseline")]
    assert _shape(p) == expected
    assert p.total_s == 60 + 5 * 12 + 5 * 20 + 60 + 60
    assert [s.trial for s in p.steps if s.phase == "flicks"] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert all(s.effort == 0 for s in p.steps if s.band == "release")
    assert all(s.effort > 0.5 for s in p.steps if s.band == "contraction")


def test_work_rest_protocols():
    p = load_protocol("work-rest")
    assert _shape(p)[0] == ("rest", 60.0, "release", "pre_baseline")
    assert _shape(p)[-1] == ("rest", 60.0, "release", "post_baseline")
    middle = _shape(p)[1:-1]
    assert middle == [("contract", 10.0, "contraction", "work"), ("rest", 10.0, "release", "work")] * 10
    v = load_protocol("work-rest-5-10")
    assert [s.duration_s for s in v.steps[1:-1]] == [5.0, 10.0] * 10


def test_relaxation_has_pacer_gentle_contractions_and_long_releases():
    p = load_protocol("relaxation")
    contractions = [s for s in p.steps if s.band == "contraction"]
    assert contractions and all(0.2 <= s.effort <= 0.4 for s in contractions)
    release_time = sum(s.duration_s for s in p.steps if s.band == "release")
    assert release_time >= 0.8 * p.total_s
    assert all(s.breathing_bpm == 6 for s in p.steps if s.band == "release")
    # every contraction is followed by a full release that opens on the in-breath
    runner = ProtocolRunner(p)
    for (_a, _b, s), (a2, _b2, s2) in zip(timeline(p), timeline(p)[1:]):
        if s.band == "contraction":
            assert s2.kind == "release"
            state = runner.current(a2 + 0.01)
            assert state.breathing_in is True and state.breathing_phase < 0.01
    slower = load_protocol("relaxation", breathing_bpm=4.5)
    assert {s.breathing_bpm for s in slower.steps if s.breathing_bpm} == {4.5}


def test_dilator_marks_the_three_windows_with_release_band_throughout():
    p = load_protocol("dilator")
    assert [s.window for s in p.steps if s.window] == ["anticipation", "during", "after"]
    assert all(s.band == "release" for s in p.steps)


def test_breathing_is_continuous_across_consecutive_paced_steps():
    p = load_protocol("relaxation")
    r = ProtocolRunner(p)
    tl = timeline(p)
    # release (20 s) then breathe (30 s): the rhythm carries on across the boundary
    i = next(k for k, (_, _, s) in enumerate(tl) if s.kind == "breathe" and k > 0)
    boundary = tl[i][0]
    before, after = r.current(boundary - 0.05), r.current(boundary + 0.05)
    assert abs(((after.breathing_phase - before.breathing_phase) % 1.0) - 0.1 / 10.0) < 1e-6
    # 6 a minute: in for 4 s, out for 6 s
    start = tl[i - 1][0]
    assert r.current(start + 3.9).breathing_in is True
    assert r.current(start + 4.1).breathing_in is False
    assert r.current(start + 10.05).breathing_in is True
    assert INHALE_FRACTION == 0.4


def test_runner_emits_each_step_once_at_its_exact_time_and_ends_once():
    p = load_protocol("glazer")
    r = ProtocolRunner(p, start_s=5.0)
    assert r.update(4.9) == [] and r.current(4.9) is None
    got = []
    for t in np.arange(4.0, 5.0 + p.total_s + 2.0, 0.37):
        got += r.update(float(t))
    steps = [e for e in got if e.kind == "step"]
    assert [e.data["index"] for e in steps] == list(range(len(p.steps)))
    assert [e.time_s for e in steps] == [a for a, _, _ in timeline(p, 5.0)]
    assert [e.label for e in steps] == [s.cue for s in p.steps]
    ends = [e for e in got if e.kind == "protocol" and e.label == "end"]
    assert len(ends) == 1 and ends[0].time_s == 5.0 + p.total_s
    assert r.finished and r.update(1e9) == []
    d = steps[3].data
    assert d["phase"] == "flicks" and d["trial"] == 2 and d["kind"] == "quick" and d["band"] == "contraction"
    assert d["duration_s"] == 2.0 and d["protocol"] == "glazer"
    json.dumps([e.to_dict() for e in got])  # events must be storable
    assert Step.from_event_data(d, steps[3].label) == p.steps[3]


def test_runner_catches_up_in_one_jump():
    p = load_protocol("work-rest")
    r = ProtocolRunner(p)
    events = r.update(p.total_s + 1)
    assert [e.kind for e in events].count("step") == len(p.steps)
    assert events[-1].label == "end" and r.finished


def test_current_countdown_and_next():
    p = load_protocol("glazer")
    r = ProtocolRunner(p)
    s = r.current(61.5)
    assert s.index == 1 and s.step.kind == "quick"
    assert s.elapsed_s == pytest.approx(1.5) and s.remaining_s == pytest.approx(0.5)
    assert s.progress == pytest.approx(0.75)
    assert s.next_step.kind == "rest"
    assert s.breathing_phase is None and s.breathing_in is None
    assert r.current(p.total_s - 0.01).next_step is None
    assert r.current(p.total_s) is None


def test_effort_script_follows_cues_with_reaction_delay():
    p = load_protocol("glazer")
    f = effort_script(p, reaction_s=0.35, start_s=2.0, seed=3)
    assert f(0.0) == 0.0 and f(61.9) == 0.0           # still resting just before the first flick (cue at 62 s)
    assert f(62.0 + 0.15) == 0.0                      # reaction delay (at least half of 0.35 s): not yet
    assert f(62.0 + 0.6) == pytest.approx(0.9)        # squeezing
    assert f(62.0 + 2.0 + 0.6) == 0.0                 # let go after the rest cue
    t = np.arange(0, p.total_s + 5, 0.01)
    e = f(t)
    assert e.shape == t.shape and e.max() <= 1 and e.min() == 0
    assert f(2.0 + p.total_s + 1.0) == 0.0
    # the delays differ per step but stay human: between 0.5x and 1.5x of reaction_s
    onsets = t[1:][(e[1:] > 0) & (e[:-1] == 0)]
    cues = np.array([a for a, _, s in timeline(p, 2.0) if s.effort > 0])
    delays = onsets - cues
    assert np.all(delays >= 0.17) and np.all(delays <= 0.535) and np.ptp(delays) > 0.01
    assert np.array_equal(effort_script(p, seed=3, start_s=2.0)(t), e)


def _write(folder, name, doc):
    path = folder / name
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


def test_user_folder_protocol_and_env_var(tmp_path, monkeypatch):
    doc = {"name": "my-breathing", "title": "Evening release", "steps": [
        {"kind": "breathe", "duration_s": 30, "cue": "Breathe and soften", "breathing_bpm": 5},
        {"repeat": 2, "phase": "practice", "steps": [
            {"kind": "contract", "duration_s": 3, "cue": "Gentle squeeze", "effort": 0.3},
            {"kind": "release", "duration_s": 12, "cue": "Let go", "breathing_bpm": 5}]}]}
    _write(tmp_path, "mine.json", doc)
    monkeypatch.setenv("BIOFEEDBACK_PROTOCOLS", str(tmp_path))
    assert user_protocol_dir() == tmp_path
    names = [p.name for p in list_protocols()]
    assert names[-1] == "my-breathing"
    p = load_protocol("my-breathing")
    assert p.total_s == 30 + 2 * 15 and [s.trial for s in p.steps] == [None, 1, 1, 2, 2]
    assert p.steps[1].band == "contraction" and p.steps[2].band == "release"
    assert load_protocol(str(tmp_path / "mine.json")) .name == "my-breathing"


@pytest.mark.parametrize("doc, words", [
    ("{not json", "not valid JSON"),
    ({"name": "x", "steps": []}, "steps must be a non-empty list"),
    ({"name": "x", "steps": [{"kind": "squat", "duration_s": 3, "cue": "a"}]}, "kind must be one of"),
    ({"name": "x", "steps": [{"kind": "rest", "duration_s": -1, "cue": "a"}]}, "duration_s must be between"),
    ({"name": "x", "steps": [{"kind": "rest", "cue": "a"}]}, "duration_s is missing"),
    ({"name": "x", "steps": [{"kind": "rest", "duration_s": 3, "cue": ""}]}, "cue must be"),
    ({"name": "x", "steps": [{"kind": "rest", "duration_s": 3, "cue": "a", "duraton": 2}]}, "unknown field 'duraton'"),
    ({"name": "x", "steps": [{"kind": "rest", "duration_s": 3, "cue": "a", "band": "green"}]}, "band must be"),
    ({"name": "x", "steps": [{"kind": "contract", "duration_s": 3, "cue": "a", "effort": 2}]}, "effort must be"),
    ({"name": "x", "steps": [{"repeat": 0, "steps": [{"kind": "rest", "duration_s": 1, "cue": "a"}]}]},
     "repeat must be"),
    ({"name": "x", "steps": [{"repeat": 2, "steps": [{"repeat": 2, "steps": []}]}]}, "cannot be nested"),
    ({"name": "Bad Name!", "steps": [{"kind": "rest", "duration_s": 3, "cue": "a"}]}, "name must be"),
    ({"name": "x", "steps": [{"kind": "rest", "duration_s": 3, "cue": "a", "window": "soon"}]}, "window must be"),
    ([1, 2], "one JSON object"),
])
def test_malformed_protocols_give_one_clear_line(tmp_path, doc, words):
    path = _write(tmp_path, "broken.json", doc)
    with pytest.raises(UserError) as err:
        load_protocol(str(path))
    msg = str(err.value)
    assert words in msg and "\n" not in msg and str(path) in msg


def test_broken_user_file_is_reported_not_fatal(tmp_path):
    _write(tmp_path, "broken.json", "{")
    _write(tmp_path, "glazer.json", {"name": "glazer", "steps": [{"kind": "rest", "duration_s": 1, "cue": "a"}]})
    errors: list[str] = []
    names = [p.name for p in list_protocols(tmp_path, errors)]
    assert names == BUILTINS
    assert len(errors) == 2 and "not valid JSON" in errors[0] and "already taken" in errors[1]
    assert load_protocol("glazer", user_dir=tmp_path).total_s == 340


def test_unknown_protocol_names_the_known_ones(tmp_path):
    with pytest.raises(UserError, match="unknown protocol 'glazr'; known protocols: glazer, work-rest"):
        load_protocol("glazr", user_dir=tmp_path)
    with pytest.raises(UserError, match="does not exist"):
        load_protocol(str(tmp_path / "nope.json"))


_step = st.fixed_dictionaries({
    "kind": st.sampled_from(["rest", "contract", "quick", "hold", "release", "breathe", "free"]),
    "duration_s": st.floats(0.5, 30, allow_nan=False).map(lambda x: round(x, 2)),
    "cue": st.just("Do it")})


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(_step, min_size=1, max_size=8), repeat=st.integers(1, 4),
       times=st.lists(st.floats(-5, 400, allow_nan=False), min_size=1, max_size=40))
def test_runner_properties(steps, repeat, times):
    """Any valid protocol: every step event comes once, in order, at its start; the end comes once, last."""
    p = parse_protocol({"name": "prop", "steps": [steps[0], {"repeat": repeat, "steps": steps}]})
    tl = timeline(p)
    assert tl[-1][1] == pytest.approx(p.total_s)
    assert all(b > a for a, b, _ in tl) and all(tl[k][1] == tl[k + 1][0] for k in range(len(tl) - 1))
    r = ProtocolRunner(p)
    events = []
    for t in sorted(times) + [p.total_s]:
        events += r.update(t)
        s = r.current(t)
        if s is not None:
            assert 0 <= s.elapsed_s <= s.step.duration_s + 1e-9 and s.remaining_s >= 0
    got = [e for e in events if e.kind == "step"]
    assert [e.data["index"] for e in got] == list(range(len(p.steps)))
    assert [e.time_s for e in got] == [a for a, _, _ in tl]
    assert [e.label for e in events if e.kind == "protocol"] == ["start", "end"] and events[-1].label == "end"


def test_protocols_command(tmp_path, monkeypatch, capsys):
    from biofeedback.cli import main
    _write(tmp_path, "broken.json", "{")
    monkeypatch.setenv("BIOFEEDBACK_PROTOCOLS", str(tmp_path))
    assert main(["protocols"]) == 0
    out, err = capsys.readouterr()
    assert [line.split()[0] for line in out.splitlines()[:len(BUILTINS)]] == BUILTINS
    assert str(tmp_path) in out and "broken.json" in err and "not valid JSON" in err
    assert main(["protocols", "glazer"]) == 0
    out = capsys.readouterr().out
    steps = [line for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert len(steps) == 23 and "Quick squeeze, then let go" in steps[1] and "flicks 1" in steps[1]
    assert main(["protocols", "nope"]) == 2
    assert "unknown protocol 'nope'" in capsys.readouterr().err
