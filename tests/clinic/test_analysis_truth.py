"""Acceptance (issue 11): recordings of known truth through the real chain, with hum and a motion artefact.

Band-limited noise (30 Hz to 0.4 x rate, at most 300 Hz; scaled so its RMS after the chain's band-pass
is 1) times a known amplitude along the Glazer timeline, at 250 Hz, 1 kHz and 2 kHz, with 1 µV RMS of 50 Hz hum and one
motion spike (8 ms, 250 µV) in the resting baseline. The analysis (notch ``auto``) must give resting tone,
peak and work mean within 5 %, and onset and both release latencies within 0.1 s of the truth plus the
documented lag (half the RMS window), and classify "never released" and "not applicable" correctly.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from biofeedback.clinic.analysis import analyze_arrays, spans_from_protocol
from biofeedback.protocols import load_protocol, timeline
from biofeedback.signal.chain import ChainSettings, emg_bandpass_sos
from biofeedback.stream import Channel, StreamInfo

LEVELS = {"flicks": 50.0, "tonic": 35.0, "endurance": 20.0}
REACTION_S, TAU_RISE, TAU_RELEASE = 0.3, 0.08, 0.3
HUM_UV = 1.0
DELAY = 0.1          # documented lag: half the 200 ms RMS window


def amplitude(rate: float, rest_uv: float, levels: dict[str, float], held: set[int] = frozenset(),
              held_uv: float = 0.0) -> np.ndarray:
    """True amplitude: first-order rise to each level, exponential release to rest (or to ``held_uv`` above
    rest for the contraction numbers in ``held``: a muscle that never lets go)."""
    p = load_protocol("glazer")
    n = int(round(p.total_s * rate))
    t = np.arange(n) / rate
    amp = np.full(n, rest_uv)
    a0, k_contraction = rest_uv, 0
    tl = timeline(p)
    for k, (a, _b, st) in enumerate(tl):
        i0 = int(round((a + REACTION_S) * rate)) if k else 0
        i1 = int(round((tl[k + 1][0] + REACTION_S) * rate)) if k + 1 < len(tl) else n
        i1 = min(i1, n)
        if st.is_contraction:
            target, tau = levels[st.phase], TAU_RISE
            k_contraction += 1
        else:
            target = rest_uv + (held_uv if k_contraction in held else 0.0)
            tau = TAU_RELEASE
        tt = t[i0:i1] - t[i0]
        amp[i0:i1] = target + (a0 - target) * np.exp(-tt / tau)
        a0 = amp[i1 - 1]
    return amp


def noise(rate: float, n: int, seed: int) -> np.ndarray:
    """Band-limited noise whose RMS after the chain's own band-pass (no notch) is 1."""
    sos = signal.butter(4, [30.0, min(300.0, 0.4 * rate)], btype="bandpass", fs=rate, output="sos")
    x = signal.sosfilt(sos, np.random.default_rng(seed).standard_normal(n + int(rate)))[int(rate):]
    passed = signal.sosfilt(emg_bandpass_sos(rate, ChainSettings()), x)[int(rate):]
    return x / passed.std()


def record(rate: float, amp: np.ndarray, seed: int = 1) -> np.ndarray:
    t = np.arange(amp.size) / rate
    raw = amp * noise(rate, amp.size, seed) + HUM_UV * np.sqrt(2.0) * np.sin(2 * np.pi * 50.0 * t + 0.3)
    i = int(30.0 * rate)                                   # the motion spike in the pre-baseline
    raw[i:i + max(1, int(round(0.008 * rate)))] += 250.0
    return raw[:, None]


def run(rate: float, amp: np.ndarray, seed: int = 1) -> dict:
    p = load_protocol("glazer")
    info = StreamInfo((Channel("pfm", "emg", "uV"),), rate, source="truth")
    return analyze_arrays(record(rate, amp, seed), info, spans_from_protocol(p, amp.size / rate),
                          protocol_name="glazer")


def first(t: np.ndarray, mask: np.ndarray) -> float | None:
    idx = np.flatnonzero(mask)
    return float(t[idx[0]]) if idx.size else None


def truths(rate: float, amp: np.ndarray, threshold: float) -> list[dict]:
    """The true onset and release times of every trial, on the true amplitude."""
    p = load_protocol("glazer")
    t = np.arange(amp.size) / rate
    tl, out = timeline(p), []
    for k, (a, b, st) in enumerate(tl):
        if not st.is_contraction:
            continue
        level = LEVELS[st.phase]
        rest_end = tl[k + 1][1]
        out.append({
            "onset": first(t[(t >= a) & (t < b)], amp[(t >= a) & (t < b)] >= 0.75 * level) - a,
            "release": (lambda x: None if x is None else x - b)(first(t[(t >= b) & (t < rest_end)],
                                                                      amp[(t >= b) & (t < rest_end)] <= threshold)),
            "release_37": first(t[(t >= b) & (t < rest_end)], amp[(t >= b) & (t < rest_end)] <= 0.375 * level) - b,
        })
    return out


@pytest.mark.parametrize("rate", [250.0, 1000.0, 2000.0])
def test_known_truth_with_hum_and_a_motion_spike(rate):
    amp = amplitude(rate, 2.0, LEVELS)
    res = run(rate, amp)
    s = res["summary"]
    assert s["notch_hz"] == 50.0 and "hum" in s["notch_reason"]
    assert s["hum"]["pfm"]["detected"] and s["hum"]["pfm"]["hum_uv"] == pytest.approx(HUM_UV, rel=0.15)
    assert s["quality"]["light"] == "amber" and "hum" in s["quality"]["problems"]
    assert s["resting_tone_uv"] == pytest.approx(2.0, rel=0.05)
    assert 0.4 <= s["resting_excluded_s"] <= 2.0                 # the spike's window(s), nothing more
    assert s["post_resting_tone_uv"] == pytest.approx(2.0, rel=0.05)
    by = s["by_phase"]
    for phase, level in LEVELS.items():
        assert by[phase]["peak_uv"] == pytest.approx(level, rel=0.05), phase
        assert by[phase]["work_mean_uv"] == pytest.approx(level, rel=0.05), phase
    assert s["envelope_delay_s"] == pytest.approx(DELAY) and s["filter_lag_s"] == pytest.approx(DELAY)
    true = truths(rate, amp, s["release_threshold_uv"])
    assert s["trials_not_released"] == 0 and s["release_37_not_applicable"] == 0
    for key, got in (("onset", "onset_latency_s"), ("release", "release_latency_s"),
                     ("release_37", "release_37_latency_s")):
        want = np.mean([tr[key] for tr in true]) + DELAY
        assert s[got] == pytest.approx(want, abs=0.1), (key, s[got], want)
        for tr, trial in zip(true, res["trials"]):
            assert trial[got] == pytest.approx(tr[key] + DELAY, abs=0.4), (key, trial)


@pytest.mark.parametrize("rate", [250.0, 2000.0])
def test_never_released_and_not_applicable(rate):
    # tonic trials 2 and 4 (contractions 7 and 9) stay 3 µV above rest: never released
    amp = amplitude(rate, 2.0, LEVELS, held={7, 9}, held_uv=3.0)
    res = run(rate, amp, seed=3)
    flagged = [t["trial"] for t in res["trials"] if "not_released" in t["flags"]]
    assert [t["phase"] for t in res["trials"] if "not_released" in t["flags"]] == ["tonic", "tonic"]
    assert flagged == [2, 4]
    assert res["summary"]["release_latency_lower_bound"] is True
    # a raised resting tone (12 µV) and a weak squeeze (20 µV): 37.5 % of the work is 7.5 µV, under rest
    amp = amplitude(rate, 12.0, {"flicks": 20.0, "tonic": 40.0, "endurance": 40.0})
    s = run(rate, amp, seed=4)["summary"]
    assert s["release_37_not_applicable"] == 5                   # the five flicks, not the tonic ones
    assert "resting tone" in s["release_37_note"]
    assert s["by_phase"]["flicks"]["release_latency_s"] is not None
    assert s["release_37_latency_s"] is not None                 # the tonic ones still count
