"""Robust resting statistics, mains hum and the signal-quality light, on signals of known truth."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from biofeedback.signal import hum, quality, rest
from biofeedback.signal.chain import ChainSettings, envelope_offline
from biofeedback.stream import Channel, StreamInfo


def emg(rate: float, seconds: float, uv: float, seed: int = 0) -> np.ndarray:
    sos = signal.butter(4, [30.0, min(300.0, 0.4 * rate)], btype="bandpass", fs=rate, output="sos")
    x = signal.sosfilt(sos, np.random.default_rng(seed).standard_normal(int((seconds + 1) * rate)))[int(rate):]
    return uv * x / x.std()


def chain(raw: np.ndarray, rate: float, notch=None):
    f, e = envelope_offline(raw[:, None], StreamInfo((Channel("pfm"),), rate), ChainSettings(notch_hz=notch))
    return f[:, 0], e[:, 0]


def test_one_spike_does_not_move_the_resting_figures():
    rate = 1000.0
    raw = emg(rate, 60.0, 2.0)
    clean = rest.robust_rest(rate, [(1.0, 60.0)], *chain(raw, rate)[::-1])
    raw[30000:30008] += 250.0                                 # 8 ms, 250 µV
    f, e = chain(raw, rate)
    plain_sd = float(np.std(e[1000:]))
    robust = rest.robust_rest(rate, [(1.0, 60.0)], e, f)
    assert robust.mean == pytest.approx(clean.mean, rel=0.01)
    assert robust.envelope_sd == pytest.approx(clean.envelope_sd, rel=0.05)
    assert plain_sd > 5 * robust.envelope_sd                  # what the plain SD would have said
    assert 0.4 <= robust.excluded_s <= 1.0 and clean.excluded_s == 0.0


def test_outlying_windows_without_raw_spikes_are_rejected():
    levels = np.r_[np.full(40, 3.0) + 0.1 * np.sin(np.arange(40)), 12.0, 3.1]
    bad = rest.outlier_windows(levels)
    assert bad.tolist() == [False] * 40 + [True, False]


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_hum_is_found_and_measured(mains):
    rate = 1000.0
    t = np.arange(int(30 * rate)) / rate
    raw = emg(rate, 30.0, 2.0) + np.sqrt(2.0) * 1.0 * np.sin(2 * np.pi * mains * t)
    e = hum.estimate(raw, rate)
    assert e.detected and e.mains_hz == mains and e.fundamental_uv == pytest.approx(1.0, rel=0.1)
    hz, reason = hum.notch_choice("auto", [e])
    assert hz == mains and "hum" in reason
    assert not hum.estimate(emg(rate, 30.0, 2.0, seed=5), rate).detected
    assert hum.notch_choice("auto", [hum.estimate(emg(rate, 30.0, 2.0, seed=5), rate)])[0] is None
    assert hum.notch_choice("off", [e])[0] is None and hum.notch_choice("60", [e])[0] == 60.0
    with pytest.raises(ValueError):
        hum.notch_choice("55", [e])


def test_live_hum_meter_warns_with_what_to_do():
    rate = 500.0
    t = np.arange(int(8 * rate)) / rate
    raw = emg(rate, 8.0, 3.0) + 1.5 * np.sqrt(2) * np.sin(2 * np.pi * 50 * t)
    meter = hum.HumMeter(rate, 1)
    for i in range(0, raw.size, 37):                       # odd block sizes, as a device sends them
        meter.feed(raw[i:i + 37, None])
    assert meter.estimates[0].detected
    assert "reference electrode" in (meter.warning(0) or "")


def test_quality_light():
    rate = 1000.0
    raw = emg(rate, 20.0, 3.0)
    f, _ = chain(raw, rate)
    good = quality.assess(raw, f, rate)
    assert good.light == "green" and good.noise_floor_uv == pytest.approx(3.0, rel=0.2)
    flat = np.full(raw.size, 5.0)
    assert quality.assess(flat, chain(flat, rate)[0], rate).light == "red"
    clipped = np.clip(raw * 20, -40, 40)
    q = quality.assess(clipped, chain(clipped, rate)[0], rate)
    assert q.light == "red" and "clipping" in q.problems
    t = np.arange(raw.size) / rate
    hummy = raw + 2.0 * np.sin(2 * np.pi * 60 * t)
    q = quality.assess(hummy, chain(hummy, rate)[0], rate)
    assert q.light == "amber" and q.mains_hz == 60.0 and "hum" in q.sentence.lower()
    assert set(q.to_dict()) >= {"light", "sentence", "hum_uv", "noise_floor_uv", "artefacts_per_min"}


def test_live_quality_meter():
    rate = 500.0
    raw = emg(rate, 6.0, 3.0)
    f, _ = chain(raw, rate)
    meter = quality.QualityMeter(rate, 1)
    assert meter.quality(0) is None
    meter.feed(raw[:, None], f[:, None])
    q = meter.quality(0)
    assert q is not None and q.light == "green"
