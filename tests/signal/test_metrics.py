"""Clinical measures on synthetic envelopes with a known truth."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from biofeedback.signal import metrics as m

RATE = 1000.0


def rise_release(total_s: float, rest: float, level: float, on_s: float, off_s: float, tau_rise: float,
                 tau_release: float, rate: float = RATE) -> np.ndarray:
    """Rest, a first-order rise to ``level`` at ``on_s``, an exponential release from ``off_s``."""
    t = np.arange(int(total_s * rate)) / rate
    a = np.full(t.size, rest)
    up = (t >= on_s) & (t < off_s)
    a[up] = level + (rest - level) * np.exp(-(t[up] - on_s) / tau_rise)
    a_off = level + (rest - level) * math.exp(-(off_s - on_s) / tau_rise)
    down = t >= off_s
    a[down] = rest + (a_off - rest) * np.exp(-(t[down] - off_s) / tau_release)
    return a


def test_rest_stats_mean_sd_cv():
    t = np.arange(int(30 * RATE)) / RATE
    env = 5.0 + 0.5 * np.sin(2 * np.pi * 0.7 * t)
    r = m.rest_stats(env, RATE, 0.0, 30.0)
    assert r.mean == pytest.approx(5.0, rel=2e-3)
    assert r.sd == pytest.approx(0.5 / math.sqrt(2), rel=2e-2)
    assert r.cv_pct == pytest.approx(100 * 0.5 / math.sqrt(2) / 5.0, rel=2e-2)
    # the first second is left out: a spike there does not count
    env2 = env.copy()
    env2[: int(0.9 * RATE)] = 500.0
    assert m.rest_stats(env2, RATE, 0.0, 30.0).mean == pytest.approx(5.0, rel=2e-3)
    assert m.rest_stats(np.full(100, np.nan), RATE, 0, 0.1).mean is None


def test_contraction_peak_work_mean_and_onset():
    rest, level, on, tau = 4.0, 40.0, 10.3, 0.15
    env = rise_release(30, rest, level, on, 20.3, tau, 0.3)
    cs = m.contraction_stats(env, RATE, 10.0, 20.0)
    assert cs.peak == pytest.approx(level, rel=1e-3)
    assert cs.work_mean == pytest.approx(level, rel=0.01)
    # onset: rest + (level-rest)(1-exp(-x/tau)) = 0.75 * work_mean
    x = -tau * math.log(1 - (0.75 * cs.work_mean - rest) / (level - rest))
    assert cs.onset_latency_s == pytest.approx(0.3 + x, abs=2 / RATE)
    assert cs.flags == ()


def test_quick_flick_peak_after_its_cue_ends_is_found():
    # a 2 s flick cue; the patient reacts 0.4 s late, so she is still squeezing after the cue ended
    env = rise_release(20, 3.0, 50.0, 10.4, 12.4, 0.05, 0.2)
    cs = m.contraction_stats(env, RATE, 10.0, 12.0, next_end_s=22.0)
    assert cs.peak == pytest.approx(50.0, rel=0.01)


def test_contraction_lost_to_a_gap_is_flagged_not_dropped():
    flat = np.full(int(20 * RATE), np.nan)
    cs = m.contraction_stats(flat, RATE, 10.0, 15.0)
    assert cs.peak is None and cs.work_mean is None and "no_data" in cs.flags
    # the signal drops out just as she squeezes: the work mean comes from the second half, onset is never seen
    env = np.full(int(20 * RATE), 5.0)
    env[int(10 * RATE):int(13 * RATE)] = np.nan
    env[int(13 * RATE):int(15 * RATE)] = 40.0
    cs = m.contraction_stats(env, RATE, 10.0, 15.0)
    assert cs.work_mean == pytest.approx(40.0) and cs.onset_latency_s == pytest.approx(3.0)


@pytest.mark.parametrize("tau_release", [0.1, 0.3, 0.8, 1.5])
def test_release_latency_matches_the_true_crossing(tau_release):
    rest, sd, level, off = 5.0, 0.5, 40.0, 20.35
    env = rise_release(40, rest, level, 10.3, off, 0.1, tau_release)
    thr = m.release_threshold(rest, sd)
    assert thr == 6.0
    rs = m.release_stats(env, RATE, 20.0, 30.0, thr, level)
    true = off + tau_release * math.log((level - rest) / (thr - rest)) - 20.0
    assert rs.release_latency_s == pytest.approx(true, abs=2 / RATE)
    true37 = off + tau_release * math.log((level - rest) / (0.375 * level - rest)) - 20.0
    assert rs.release_37_latency_s == pytest.approx(true37, abs=2 / RATE)
    assert ("slow_release" in rs.flags) == (true > 2.0)


def test_incomplete_release_is_reported_as_never_released():
    # the muscle only comes down to 2x its resting tone: never within mean + 2 SD
    env = rise_release(40, 10.0, 40.0, 10.3, 20.3, 0.1, 0.5)
    env[int(20 * RATE):] = np.maximum(env[int(20 * RATE):], 10.0)
    rs = m.release_stats(env, RATE, 20.0, 30.0, m.release_threshold(5.0, 0.5), 40.0)
    assert rs.release_latency_s is None and "not_released" in rs.flags
    assert rs.release_37_latency_s is not None  # 37.5 % of 40 = 15 > 10: that one is reached
    rs = m.release_stats(env, RATE, 20.0, 30.0, None, None)
    assert rs.release_latency_s is None and rs.release_37_latency_s is None


def test_release_already_in_band_at_the_cue_is_zero():
    env = np.full(int(10 * RATE), 5.0)
    rs = m.release_stats(env, RATE, 2.0, 8.0, 6.0, 40.0)
    assert rs.release_latency_s == 0.0 and rs.release_37_latency_s == 0.0 and rs.flags == ()


def test_nan_gap_never_counts_as_a_release():
    env = np.full(int(10 * RATE), 30.0)
    env[int(2 * RATE):int(3 * RATE)] = np.nan
    env[int(4 * RATE):] = 5.0
    rs = m.release_stats(env, RATE, 2.0, 8.0, 6.0, 30.0)
    assert rs.release_latency_s == pytest.approx(2.0) and "gap_before_release" in rs.flags


def test_time_in_band():
    env = np.concatenate([np.full(300, 5.0), np.full(700, 50.0)])
    assert m.time_in_band_pct(env, RATE, 0, 1.0, None, 6.0) == pytest.approx(30.0)
    assert m.time_in_band_pct(env, RATE, 0, 1.0, 40.0, 70.0) == pytest.approx(70.0)
    assert m.time_in_band_pct(env, RATE, 0, 1.0, 60.0, 70.0) == 0.0
    assert m.time_in_band_pct(env, RATE, 0, 1.0, None, None) is None


def test_median_frequency_of_known_spectra():
    rate = 2000.0
    t = np.arange(int(rate)) / rate
    assert m.median_frequency(np.sin(2 * np.pi * 80 * t), rate) == pytest.approx(80, abs=4)
    rng = np.random.default_rng(1)
    sos = signal.butter(4, [50, 150], btype="bandpass", fs=rate, output="sos")
    x = signal.sosfilt(sos, rng.standard_normal(int(rate)))
    assert 80 < m.median_frequency(x, rate) < 120


def test_endurance_decline_and_median_frequency_slope():
    rate = 2000.0
    dur = 60.0
    n = int(dur * rate)
    t = np.arange(n) / rate
    env = 30.0 * (1 - 0.25 * t / dur)          # falls by 25 % over the hold
    # EMG whose centre frequency slides from 120 Hz down to 80 Hz (fatigue)
    rng = np.random.default_rng(0)
    filtered = np.empty(n)
    for k in range(int(dur)):
        fc = 120 - 40 * k / dur
        sos = signal.butter(2, [fc - 20, fc + 20], btype="bandpass", fs=rate, output="sos")
        seg = signal.sosfilt(sos, rng.standard_normal(int(rate) + 400))[400:]
        filtered[k * int(rate):(k + 1) * int(rate)] = seg
    es = m.endurance_stats(env, filtered, rate, 0.0, dur)
    assert es.amplitude_decline_pct == pytest.approx(25.0, abs=1.0)
    assert es.mean == pytest.approx(30 * (1 - 0.25 * 30.5 / 60), rel=0.01)
    assert es.median_freq_slope_hz_per_s == pytest.approx(-40 / dur, rel=0.25)
    assert es.median_freq_start_hz == pytest.approx(120, abs=8)
    no_raw = m.endurance_stats(env, None, rate, 0.0, dur)
    assert no_raw.median_freq_slope_hz_per_s is None and no_raw.amplitude_decline_pct == pytest.approx(25, abs=1)


def test_coactivation_share():
    pfm = np.full(int(10 * RATE), 40.0)
    abd = np.full(int(10 * RATE), 10.0)
    assert m.coactivation_pct(pfm, abd, RATE, 0, 10) == pytest.approx(25.0)
    assert m.coactivation_pct(np.zeros(100), abd[:100], RATE, 0, 0.1) is None


def test_smoothed_peak_ignores_single_sample_spikes():
    env = np.full(int(5 * RATE), 20.0)
    env[2500] = 200.0
    assert m.smoothed_peak(env, RATE) == pytest.approx(20.0 + 180.0 / 500, rel=1e-6)


def test_mean_of_skips_missing():
    assert m.mean_of([1.0, None, 3.0]) == 2.0 and m.mean_of([None]) is None




@settings(max_examples=80, deadline=None)
@given(rest=st.floats(1.0, 20.0), ratio=st.floats(2.5, 20.0), sd=st.floats(0.05, 0.3),
       tau=st.floats(0.05, 3.0), reaction=st.floats(0.0, 0.8))
def test_release_latency_property(rest, ratio, sd, tau, reaction):
    """Any exponential release: the latency is the analytic crossing, or None when it comes after the rest ends."""
    level = rest * ratio
    sd_abs = sd * rest
    env = rise_release(30, rest, level, 5.0, 15.0 + reaction, 0.1, tau)
    thr = m.release_threshold(rest, sd_abs)
    rs = m.release_stats(env, RATE, 15.0, 25.0, thr, level)
    true = reaction + tau * math.log((env[int((15.0 + reaction) * RATE)] - rest) / (thr - rest))
    if true <= 10.0 - 2 / RATE:
        assert rs.release_latency_s == pytest.approx(true, abs=2 / RATE)
        assert ("slow_release" in rs.flags) == (rs.release_latency_s > 2.0)
    elif true > 10.0:
        assert rs.release_latency_s is None and "not_released" in rs.flags


def test_a_momentary_dip_into_the_band_is_not_a_release():
    env = np.full(int(10 * RATE), 30.0)
    env[int(3.0 * RATE):int(3.03 * RATE)] = 5.0       # 30 ms noise dip
    env[int(4.0 * RATE):] = 5.0                       # really let go at 4 s
    rs = m.release_stats(env, RATE, 2.0, 8.0, 6.0, 30.0)
    assert rs.release_latency_s == pytest.approx(2.0)
    assert m.first_crossing(env, RATE, 2.0, 8.0, 6.0, below=True) == pytest.approx(1.0)  # without a dwell
    # a release that begins in the last 0.1 s of the rest still counts
    late = np.full(int(10 * RATE), 30.0)
    late[int(7.95 * RATE):] = 5.0
    assert m.release_stats(late, RATE, 2.0, 8.0, 6.0, 30.0).release_latency_s == pytest.approx(5.95)
