"""Recording -> phases -> metrics -> summary, on synthetic sessions with a known truth."""
from __future__ import annotations

import json

import numpy as np
import pytest

from biofeedback.clinic.analysis import analyze_arrays, format_table
from biofeedback.errors import UserError
from biofeedback.protocols import load_protocol, spans_from_protocol, timeline
from biofeedback.stream import Channel, StreamInfo

RATE = 500.0


def session_amplitude(protocol, rest_uv=5.0, levels=None, tau_rise=0.1, tau_release=0.3, reaction_s=0.3,
                      wobble=0.06, rate=RATE, extra_s=0.0, residual=0.0):
    """True muscle amplitude of a patient following ``protocol``: first-order rises and exponential releases.

    ``levels`` maps a step's phase to its contraction amplitude (µV); ``residual`` is the share of the
    contraction left after a release (an overactive muscle that does not come all the way down).
    """
    levels = levels or {"flicks": 50.0, "tonic": 35.0, "endurance": 20.0, "work": 30.0}
    total = protocol.total_s + extra_s
    n = int(round(total * rate))
    t = np.arange(n) / rate
    tl = timeline(protocol)
    switches = [(a + reaction_s, (levels[s.phase] if s.is_contraction else None)) for a, _b, s in tl]
    amp = np.empty(n)
    a0 = rest_uv
    last_level = rest_uv
    bounds = [int(round(sw * rate)) for sw, _ in switches] + [n]
    amp[:bounds[0]] = rest_uv
    for k, (_sw, lvl) in enumerate(switches):
        i0, i1 = min(bounds[k], n), min(bounds[k + 1], n)
        if i0 >= i1:
            continue
        target = lvl if lvl is not None else rest_uv + residual * (last_level - rest_uv)
        tau = tau_rise if target > a0 else tau_release
        tt = t[i0:i1] - t[i0]
        amp[i0:i1] = target + (a0 - target) * np.exp(-tt / tau)
        a0 = amp[i1 - 1]
        if lvl is not None:
            last_level = lvl
    return amp + rest_uv * wobble * np.sin(2 * np.pi * 0.27 * t)  # a slow resting instability


def _info(*channels):
    return StreamInfo(channels=tuple(channels) or (Channel("pfm", "emg", "uV"),), rate=RATE, source="synthetic")


def _analyze(env, protocol, info=None, meta=None, spans=None):
    info = info or _info()
    env2 = env if env.ndim == 2 else env[:, None]
    spans = spans if spans is not None else spans_from_protocol(protocol, len(env2) / RATE)
    return analyze_arrays(np.zeros_like(env2), info, spans, meta=meta, envelope=env2, filtered=np.zeros_like(env2),
                          protocol_name=protocol.name, phases_from="protocol")


def test_glazer_summary_matches_the_truth():
    p = load_protocol("glazer")
    amp = session_amplitude(p, rest_uv=5.0, tau_release=0.4)
    res = _analyze(amp, p)
    s = res["summary"]
    pre = amp[int(1 * RATE):int(60 * RATE)]
    # statistics on 0.5 s RMS windows; the release criterion on the envelope the crossing is tested on
    windows = np.sqrt(np.mean(pre[:pre.size // 250 * 250].reshape(-1, 250) ** 2, axis=1))
    assert s["resting_tone_uv"] == pytest.approx(5.0, rel=0.01)
    assert s["resting_sd_uv"] == pytest.approx(windows.std(ddof=1), abs=1e-3)
    assert s["resting_variability_pct"] == pytest.approx(100 * windows.std(ddof=1) / windows.mean(), abs=0.1)
    assert s["resting_excluded_s"] == 0.0
    thr = pre.mean() + 2 * pre.std(ddof=1)
    assert s["release_threshold_uv"] == pytest.approx(thr, abs=1e-3)
    # the true crossing of every trial, from the amplitude itself
    t = np.arange(amp.size) / RATE
    trues = []
    for k, (_a, b, st) in enumerate(timeline(p)):
        if st.is_contraction:
            rest_start, rest_end = b, timeline(p)[k + 1][1]
            idx = np.flatnonzero((t >= rest_start) & (t < rest_end) & (amp <= thr))
            trues.append(t[idx[0]] - rest_start)
    got = [tr["release_latency_s"] for tr in res["trials"]]
    assert len(got) == 11 and got == pytest.approx(trues, abs=2 / RATE)
    assert s["release_latency_s"] == pytest.approx(np.mean(trues), abs=2 / RATE)
    assert s["trials"] == 11 and s["trials_released"] == 11 and s["trials_not_released"] == 0
    by = s["by_phase"]
    assert by["flicks"]["peak_uv"] == pytest.approx(50.0, rel=0.08)
    assert by["tonic"]["work_mean_uv"] == pytest.approx(35.0, rel=0.08)
    assert by["endurance"]["work_mean_uv"] == pytest.approx(20.0, rel=0.08)
    assert s["post_resting_tone_uv"] == pytest.approx(5.0, rel=0.03)
    assert s["post_pre_ratio"] == pytest.approx(1.0, abs=0.03)
    assert s["onset_latency_s"] == pytest.approx(0.3 + 0.1 * np.log(4), abs=0.05)
    # no calibration stored: no contraction band is made up, so only the release band's time is measured
    assert s["contraction_band_uv"] is None and s["time_in_contraction_band_pct"] is None
    assert s["time_in_band_pct"] == s["time_in_release_band_pct"] is not None
    assert s["bands_from"] == "session" and s["envelope_delay_s"] == 0.1
    for key in ("resting_tone_uv", "resting_variability_pct", "post_resting_tone_uv", "contraction_peak_uv",
                "onset_latency_s", "release_latency_s", "time_in_band_pct"):
        assert s[key] is not None, key
    json.dumps(res)  # the whole result is JSON


def test_a_slow_incomplete_release_shows_as_higher_tone_and_longer_latency():
    p = load_protocol("glazer")
    healthy = _analyze(session_amplitude(p, rest_uv=4.0, tau_release=0.25), p)["summary"]
    tight = _analyze(session_amplitude(p, rest_uv=9.0, tau_release=1.2, residual=0.1), p)["summary"]
    assert tight["resting_tone_uv"] > 2 * healthy["resting_tone_uv"]
    assert tight["release_latency_s"] > healthy["release_latency_s"] + 0.5
    assert tight["post_pre_ratio"] > healthy["post_pre_ratio"]


def test_trials_that_never_release_are_reported_not_dropped():
    p = load_protocol("work-rest")
    amp = session_amplitude(p, rest_uv=5.0, residual=0.5, tau_release=0.5)
    res = _analyze(amp, p)
    s = res["summary"]
    assert s["trials"] == 10 and s["trials_not_released"] == 10 and s["trials_released"] == 0
    # never released: the mean counts each trial's whole rest and says it is only a lower bound
    assert s["release_latency_s"] == 10.0 and s["release_latency_lower_bound"] is True
    assert s["release_latency_released_s"] is None
    assert all(t["release_latency_s"] is None and "not_released" in t["flags"] for t in res["trials"])
    rest_rows = [r for r in res["phases"] if r["phase"] == "work" and r["kind"] == "rest"]
    assert all("not_released" in r["flags"] for r in rest_rows)
    text = format_table(res)
    assert "not released" in text and "at least 10.00 s to her resting level" in text


def test_a_partly_released_session_is_not_flattered_by_its_released_trials():
    p = load_protocol("work-rest")
    amp = session_amplitude(p, rest_uv=5.0, tau_release=0.3)
    t = np.arange(amp.size) / RATE
    # trials 2, 5 and 8 never come back down
    for k in (2, 5, 8):
        a, b = 60 + 20 * (k - 1) + 10, 60 + 20 * k
        amp[(t >= a + 0.5) & (t < b)] = 15.0
    s = _analyze(amp, p)["summary"]
    assert s["trials_not_released"] == 3 and s["release_latency_lower_bound"] is True
    quick = s["release_latency_released_s"]
    assert quick < 2.5
    assert s["release_latency_s"] == pytest.approx((7 * quick + 3 * 10.0) / 10, abs=0.01)
    all_released = _analyze(session_amplitude(p, rest_uv=5.0, tau_release=0.3), p)["summary"]
    assert all_released["release_latency_lower_bound"] is False
    assert all_released["release_latency_s"] == all_released["release_latency_released_s"]


def test_recorded_bands_are_used_for_time_in_band():
    p = load_protocol("work-rest")
    amp = session_amplitude(p, rest_uv=5.0, levels={"work": 30.0}, wobble=0.0)
    res = _analyze(amp, p, meta={"bands": {"contraction": [20.0, 40.0], "release": [0.0, 6.0]}})
    s = res["summary"]
    assert s["bands_from"] == "recording" and s["contraction_band_uv"] == [20.0, 40.0] and s["release_band_uv"] == 6.0
    work = [r for r in res["phases"] if r["kind"] == "contract"]
    # 10 s step, 0.3 s reaction, 0.1 s rise to 30: about 96 % of the step is in the band
    assert all(94.0 <= r["time_in_band_pct"] <= 98.0 for r in work)
    pre = res["phases"][0]
    assert pre["time_in_band_pct"] == 100.0
    keyed = _analyze(amp, p, meta={"bands": {"pfm": {"contraction": [100.0, 200.0]}}})["summary"]
    assert keyed["time_in_contraction_band_pct"] == 0.0


def test_bands_as_the_live_window_stores_them():
    p = load_protocol("work-rest")
    amp = session_amplitude(p, rest_uv=5.0, levels={"work": 30.0}, wobble=0.0)
    window_bands = {"contraction_low": 20.0, "contraction_high": 40.0, "release_high": 6.0, "unit": "uV",
                    "mvc": 50.0, "channel": "pfm", "contraction_pct": [40.0, 80.0], "release_pct": 12.0}
    s = _analyze(amp, p, meta={"bands": window_bands})["summary"]
    assert s["contraction_band_uv"] == [20.0, 40.0] and s["release_band_uv"] == 6.0 and s["bands_from"] == "recording"
    # bands stored for another channel do not apply; the window's calibration still gives the contraction band
    other = dict(window_bands, channel="abd")
    cal = {"rest_mean": 5.0, "rest_sd": 0.3, "mvc": 60.0, "effort_peaks": [55.0, 60.0, 58.0], "unit": "uV",
           "channel": "pfm"}
    s = _analyze(amp, p, meta={"bands": other, "calibration": cal})["summary"]
    assert s["contraction_band_uv"] == [24.0, 42.0] and s["release_band_uv"] == s["release_threshold_uv"]
    s = _analyze(amp, p, meta={"calibration": dict(cal, channel="pressure")})["summary"]
    assert s["contraction_band_uv"] is None and s["bands_from"] == "session"


def test_contraction_band_from_a_calibrated_maximum():
    p = load_protocol("work-rest")
    amp = session_amplitude(p, rest_uv=5.0, levels={"work": 30.0})
    s = _analyze(amp, p, meta={"calibration": {"mvc_uv": 50.0, "rest_mean_uv": 5.0}})["summary"]
    assert s["contraction_band_uv"] == [20.0, 35.0] and s["bands_from"] == "recording"
    assert 90 < s["time_in_contraction_band_pct"] < 98
    # pressure: the band sits above the resting pressure
    info = _info(Channel("pressure", "pressure", "cmH2O"))
    pressure = session_amplitude(p, rest_uv=20.0, levels={"work": 35.0}, wobble=0.02)
    sp = _analyze(pressure, p, info=info, meta={"calibration": {"pressure": {"mvc_cmh2o": 45.0, "rest_cmh2o": 20.0}}})
    assert sp["summary"]["contraction_band_cmh2o"] == [30.0, 37.5]
    assert sp["summary"]["time_in_contraction_band_pct"] > 90


def test_abdominal_coactivation_and_pressure_channel():
    p = load_protocol("work-rest")
    pfm = session_amplitude(p, rest_uv=5.0, levels={"work": 40.0})
    abd = session_amplitude(p, rest_uv=3.0, levels={"work": 10.0})
    pressure = session_amplitude(p, rest_uv=20.0, levels={"work": 45.0}, wobble=0.02)
    info = _info(Channel("pfm", "emg", "uV"), Channel("abd", "emg", "uV"), Channel("pressure", "pressure", "cmH2O"))
    res = _analyze(np.column_stack([pfm, abd, pressure]), p, info=info)
    s = res["summary"]
    assert s["channel"] == "pfm"
    assert s["abd_coactivation_pct"] == pytest.approx(25.0, rel=0.05)
    assert s["resting_tone_cmh2o"] == pytest.approx(20.0, rel=0.02)
    # the squeeze is the rise above the resting pressure (45 - 20), the resting pressure stays beside it
    assert s["contraction_peak_cmh2o"] == pytest.approx(25.0, rel=0.08)
    assert s["contraction_baseline_cmh2o"] == pytest.approx(20.0, rel=0.02)
    assert s["channels"]["pressure"]["release_latency_s"] is not None
    assert set(s["channels"]) == {"pfm", "pressure"}
    only = _analyze(pressure, p, info=_info(Channel("pressure", "pressure", "cmH2O")))["summary"]
    assert only["channel"] == "pressure" and "resting_tone_cmh2o" in only and "resting_tone_uv" not in only
    assert only["envelope_delay_s"] is None
    assert "cmH2O" in format_table(_analyze(pressure, p, info=_info(Channel("pressure", "pressure", "cmH2O"))))


def test_stopped_session_still_analyses_what_was_done():
    p = load_protocol("glazer")
    amp = session_amplitude(p)[: int(130 * RATE)]  # stopped during the tonic contractions
    res = _analyze(amp, p)
    s = res["summary"]
    assert s["trials"] >= 6 and s["post_resting_tone_uv"] is None and s["endurance_mean_uv"] is None
    assert res["phases"][-1]["start_s"] < 130


def test_no_steps_is_a_user_error():
    p = load_protocol("glazer")
    with pytest.raises(UserError, match="no exercise steps"):
        _analyze(np.ones(100), p, spans=[])


def test_table_is_aligned_and_readable():
    p = load_protocol("glazer")
    res = _analyze(session_amplitude(p), p)
    text = format_table(res)
    lines = text.splitlines()
    header, rule = lines[0], lines[1]
    assert header.split()[:4] == ["#", "phase", "trial", "step"]
    assert set(rule.replace(" ", "")) == {"-"}
    body = lines[2:2 + len(p.steps)]
    assert len(body) == len(p.steps)
    assert all(len(line) <= len(rule) for line in body)
    assert "Resting tone (pre)" in text and "Release latency" in text and "µV" in text
    assert "pre_baseline" in body[0] and "post_baseline" in body[-1]


def test_lost_samples_are_left_out_not_counted_as_rest_or_release():
    p = load_protocol("work-rest")
    amp = session_amplitude(p)
    t = np.arange(amp.size) / RATE
    env = amp.copy()
    env[(t >= 20) & (t < 25)] = np.nan                 # a gap in the pre-baseline
    env[(t >= 100) & (t < 110.5)] = np.nan             # the whole 3rd contraction lost, and its release's start
    res = _analyze(env, p)
    s = res["summary"]
    assert s["resting_tone_uv"] == pytest.approx(5.0, rel=0.02)
    third = res["trials"][2]
    assert third["peak_uv"] is None and "no_data" in third["flags"] and "gap" in third["flags"]
    assert "gap_before_release" in third["flags"] and "gap_before_release" in res["phases"][6]["flags"]
    assert "gap" not in res["trials"][3]["flags"]
    assert s["trials"] == 10 and s["contraction_peak_uv"] == pytest.approx(30.0, rel=0.08)
    json.dumps(res)


def test_rms_only_device_channel():
    p = load_protocol("work-rest")
    amp = session_amplitude(p)
    res = _analyze(amp, p, info=_info(Channel("pfm", "emg_rms", "uV")))
    s = res["summary"]
    assert s["resting_tone_uv"] == pytest.approx(5.0, rel=0.02) and s["endurance_median_freq_slope_hz_per_s"] is None


def test_dilator_windows():
    p = load_protocol("dilator")
    t = np.arange(int(p.total_s * RATE)) / RATE
    env = np.full(t.size, 5.0) + 0.2 * np.sin(2 * np.pi * 0.3 * t)
    levels = {"anticipation": 8.0, "during": 7.0, "after": 6.0}
    for a, b, st in timeline(p):
        if st.window:
            env[(t >= a) & (t < b)] += levels[st.window] - 5.0
    res = _analyze(env, p)
    s = res["summary"]
    assert s["trials"] == 0 and s["release_latency_s"] is None
    assert s["window_means_uv"] == pytest.approx(levels, rel=0.02)
    assert list(s["window_means_uv"]) == ["anticipation", "during", "after"]
    text = format_table(res)
    assert "Dilator windows" in text and "anticipation 8.0" in text and "Release latency" not in text
