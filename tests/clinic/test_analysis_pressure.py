"""Pressure sits on the probe's resting pressure: its squeeze measures are the rise above rest."""
from __future__ import annotations

import math

import numpy as np
import pytest

from biofeedback.clinic.analysis import format_table
from biofeedback.protocols import load_protocol, spans_from_protocol, timeline
from biofeedback.stream import Channel
from tests.clinic.test_analysis import RATE, _analyze, _info, session_amplitude

REST = 25.0
LEVELS = {"flicks": 50.0, "tonic": 45.0, "endurance": 40.0}


def _pressure_glazer(fade_cmh2o: float = 0.0) -> np.ndarray:
    p = load_protocol("glazer")
    amp = session_amplitude(p, rest_uv=REST, levels=LEVELS, wobble=0.01)
    # the endurance hold fades linearly by ``fade_cmh2o`` from its start to its end
    a, b, _ = next(x for x in timeline(p) if x[2].phase == "endurance")
    i0, i1 = int(a * RATE), int(b * RATE)
    amp[i0:i1] -= np.linspace(0.0, fade_cmh2o, i1 - i0)
    return amp


def _pressure(env):
    return _analyze(env, load_protocol("glazer"), info=_info(Channel("pressure", "pressure", "cmH2O")))


def test_pressure_release_to_37_5_percent_is_measured_above_rest():
    res = _pressure(_pressure_glazer())
    s = res["summary"]
    # rest + 37.5 % of the rise: 25 + 0.375 * 20 = 32.5 cmH2O,
    # reached 0.3 + 0.3 ln(20 / 7.5) ≈ 0.59 s after a tonic rest cue
    tonic = [t for t in res["trials"] if t["phase"] == "tonic"]
    assert all("not_below_37" not in t["flags"] for t in res["trials"])
    for t in tonic:
        assert t["release_37_latency_s"] == pytest.approx(0.3 + 0.3 * math.log(20 / 7.5), abs=0.06)
    assert s["release_37_latency_lower_bound"] is False
    assert s["release_37_latency_s"] < 1.0
    table = format_table(res)
    assert "not below 37" not in table and "at least" not in table
    assert "rest + 37.5 % of the rise" in table


def test_pressure_peak_and_work_mean_are_the_rise_above_rest_and_resting_pressure_stays():
    s = _pressure(_pressure_glazer())["summary"]
    assert s["resting_tone_cmh2o"] == pytest.approx(REST, rel=0.01)
    assert s["contraction_baseline_cmh2o"] == pytest.approx(REST, rel=0.01)
    tonic = s["by_phase"]["tonic"]
    assert tonic["work_mean_cmh2o"] == pytest.approx(45.0 - REST, rel=0.03)
    assert tonic["peak_cmh2o"] == pytest.approx(45.0 - REST, rel=0.05)
    assert s["contraction_max_cmh2o"] == pytest.approx(50.0 - REST, rel=0.05)   # the flicks
    assert s["contraction_peak_cmh2o"] < 26.0                                 # never the absolute ~45-50
    # onset: rest + 75 % of the rise = 40 cmH2O, reached 0.3 + 0.1 ln(20 / 5) ≈ 0.44 s after the cue
    res = _pressure(_pressure_glazer())
    for t in (t for t in res["trials"] if t["phase"] == "tonic"):
        assert t["onset_latency_s"] == pytest.approx(0.3 + 0.1 * math.log(4.0), abs=0.05)
    table = format_table(res)
    assert "above rest" in table and "peak rise cmH2O" in table
    # pressure states the lag of its 5 Hz low-pass like EMG states its envelope's (issue 11)
    assert res["summary"]["filter_lag_s"] == pytest.approx(0.045, abs=0.001)
    assert "pressure filter's lag of about 0.045 s" in table


def test_pressure_endurance_decline_is_of_the_rise_and_has_no_median_frequency():
    res = _pressure(_pressure_glazer(fade_cmh2o=7.5))
    s = res["summary"]
    # the rise falls from 15 to 7.5 cmH2O: half of it (on absolute pressure it would read only ~19 %)
    assert s["endurance_decline_pct"] == pytest.approx(50.0, abs=3.0)
    assert s["endurance_median_freq_slope_hz_per_s"] is None and s["endurance_median_freq_start_hz"] is None
    assert s["endurance_mean_cmh2o"] == pytest.approx(15.0 - 7.5 / 2, abs=0.6)
    table = format_table(res)
    assert "Hz/s" not in table and "median frequency" not in table
    endurance_line = next(line for line in table.splitlines() if line.strip().startswith("Endurance"))
    assert "above rest" in endurance_line


def test_emg_keeps_absolute_measures():
    p = load_protocol("glazer")
    amp = session_amplitude(p, rest_uv=5.0, levels={"flicks": 50.0, "tonic": 35.0, "endurance": 20.0})
    res = _analyze(amp, p)
    s = res["summary"]
    assert "contraction_baseline_uv" not in s and "contraction_baseline_cmh2o" not in s
    assert s["by_phase"]["tonic"]["work_mean_uv"] == pytest.approx(35.0, rel=0.03)
    table = format_table(res)
    assert "peak µV" in table and "37.5 % of work" in table and "above rest" not in table


def test_pressure_without_any_resting_level_reports_no_rise():
    p = load_protocol("work-rest")
    spans = [s for s in spans_from_protocol(p, p.total_s) if s.step.phase != "pre_baseline"]
    env = session_amplitude(p, rest_uv=REST, levels={"work": 45.0}, wobble=0.01)
    res = _analyze(env, p, info=_info(Channel("pressure", "pressure", "cmH2O")), spans=spans)
    s = res["summary"]
    # the first step is a contraction: no rest before it, and no calibration to say what rest is
    assert s["contraction_baseline_cmh2o"] is None and s["contraction_peak_cmh2o"] is None
    assert all("no_rest_level" in t["flags"] for t in res["trials"])
    # with a calibrated resting pressure the rise is measured from it
    res = _analyze(env, p, info=_info(Channel("pressure", "pressure", "cmH2O")), spans=spans,
                   meta={"calibration": {"mvc": 60.0, "rest_mean": REST, "unit": "cmH2O", "channel": "pressure"}})
    assert res["summary"]["contraction_baseline_cmh2o"] == REST
    assert res["summary"]["contraction_mean_cmh2o"] == pytest.approx(20.0, rel=0.03)
