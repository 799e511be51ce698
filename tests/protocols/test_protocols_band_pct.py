"""A step's own contraction band in percent of the maximum (``band_pct``): format, events, analysis."""
from __future__ import annotations

import json

import pytest

from biofeedback.errors import UserError
from biofeedback.protocols import ProtocolRunner, Step, load_protocol, parse_protocol, step_spans
from biofeedback.stream import Channel
from tests.clinic.test_analysis import _analyze, _info, session_amplitude


def _doc(**step):
    base = {"kind": "contract", "duration_s": 5, "cue": "Gently squeeze"}
    return {"name": "t", "steps": [dict(base, **step)]}


def test_relaxation_gentle_squeezes_carry_a_20_to_40_percent_band():
    p = load_protocol("relaxation")
    squeezes = [s for s in p.steps if s.is_contraction]
    assert len(squeezes) == 6 and all(s.band_pct == (20.0, 40.0) and s.effort == 0.3 for s in squeezes)
    assert all(s.band_pct is None for s in p.steps if not s.is_contraction)
    assert all(s.band_pct is None for s in load_protocol("glazer").steps)


def test_band_pct_travels_in_the_step_event_and_back():
    p = load_protocol("relaxation")
    events = [e for e in ProtocolRunner(p).update(p.total_s + 1) if e.kind == "step"]
    squeeze = next(e for e in events if e.data["kind"] == "contract")
    assert squeeze.data["band_pct"] == [20.0, 40.0]
    json.dumps(squeeze.to_dict())
    assert Step.from_event_data(squeeze.data, squeeze.label) == p.steps[squeeze.data["index"]]
    assert Step.from_event_data(dict(squeeze.data, band_pct="junk")).band_pct is None
    assert Step.from_event_data(dict(squeeze.data, band_pct=[50, 10])).band_pct is None


@pytest.mark.parametrize("value, words", [
    ([20], "[low, high]"), ("20-40", "[low, high]"), ([20, "x"], "band_pct high must be a number"),
    ([40, 20], "low must be below high"), ([-5, 20], "between 0 and 100"), ([20, 140], "between 0 and 100"),
    ([True, 40], "must be a number"),
])
def test_bad_band_pct_gives_one_clear_line(value, words):
    with pytest.raises(UserError) as exc:
        parse_protocol(_doc(band_pct=value))
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_band_pct_needs_a_contraction_band_step():
    with pytest.raises(UserError, match="contraction band"):
        parse_protocol(_doc(kind="rest", band_pct=[20, 40]))
    assert parse_protocol(_doc(band_pct=[20, 40])).steps[0].band_pct == (20.0, 40.0)


def _relaxation_session(mvc_uv: float):
    """A patient who squeezes gently to 30 % of her maximum, as the relaxation protocol asks."""
    p = load_protocol("relaxation")
    amp = session_amplitude(p, rest_uv=3.0, levels={"downtraining": 0.3 * mvc_uv}, wobble=0.02)
    events = [e for e in ProtocolRunner(p).update(p.total_s + 1)]
    return p, amp, step_spans(events, p.total_s)


def test_gentle_squeezes_are_scored_against_their_own_band_when_the_maximum_is_known():
    p, amp, spans = _relaxation_session(50.0)
    cal = {"calibration": {"mvc": 50.0, "rest_mean": 3.0, "rest_sd": 0.3, "unit": "uV", "channel": "pfm"}}
    res = _analyze(amp, p, meta=cal, spans=spans)
    rows = [r for r in res["phases"] if r["kind"] == "contract"]
    assert all(r["band_pct"] == [20.0, 40.0] and r["contraction_band_uv"] == [10.0, 20.0] for r in rows)
    # 15 µV squeezes sit in 10-20 µV for all but the rise (the default 20-35 µV would put them all outside)
    assert all(r["time_in_band_pct"] > 80 for r in rows)
    assert res["summary"]["time_in_contraction_band_pct"] > 80
    assert res["summary"]["contraction_band_uv"] == [20.0, 35.0]   # the session's band is unchanged

    # the same from stored live-window bands (their mvc)
    bands = {"bands": {"contraction_low": 20.0, "contraction_high": 35.0, "release_high": 4.0, "unit": "uV",
                       "mvc": 50.0, "channel": "pfm", "zero": 0.0}}
    assert _analyze(amp, p, meta=bands, spans=spans)["summary"]["time_in_contraction_band_pct"] > 80


def test_without_a_maximum_the_sessions_band_applies():
    p, amp, spans = _relaxation_session(50.0)
    bands = {"bands": {"contraction_low": 20.0, "contraction_high": 35.0, "release_high": 4.0, "unit": "uV",
                       "mvc": None, "channel": "pfm"}}
    res = _analyze(amp, p, meta=bands, spans=spans)
    rows = [r for r in res["phases"] if r["kind"] == "contract"]
    assert all("band_pct" not in r for r in rows)
    assert res["summary"]["time_in_contraction_band_pct"] < 5


def test_pressure_band_pct_sits_above_the_resting_pressure():
    p = load_protocol("relaxation")
    env = session_amplitude(p, rest_uv=20.0, levels={"downtraining": 20.0 + 0.3 * 30.0}, wobble=0.005)
    spans = step_spans(ProtocolRunner(p).update(p.total_s + 1), p.total_s)
    meta = {"calibration": {"pressure": {"mvc_cmh2o": 50.0, "rest_cmh2o": 20.0}}}
    res = _analyze(env, p, info=_info(Channel("pressure", "pressure", "cmH2O")), meta=meta, spans=spans)
    rows = [r for r in res["phases"] if r["kind"] == "contract"]
    assert all(r["contraction_band_cmh2o"] == [26.0, 32.0] for r in rows)
    assert res["summary"]["time_in_contraction_band_pct"] > 80
