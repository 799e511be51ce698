import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from biofeedback.errors import UserError
from biofeedback.signal.chain import ChainSettings, SignalChain, emg_bandpass_sos, envelope_offline
from biofeedback.stream import Block, Channel, StreamInfo

EMG2 = StreamInfo((Channel("pfm"), Channel("abd")), 2000.0)
MIXED = StreamInfo((Channel("pfm"), Channel("rms", "emg_rms"), Channel("pressure", "pressure", "cmH2O")), 1000.0)


def _signal(n, n_ch, seed=0, offset=0.0):
    return np.random.default_rng(seed).standard_normal((n, n_ch)) * 20.0 + offset


def _chunked(info, x, cuts, settings=None):
    chain = SignalChain(info, settings)
    edges = [0, *sorted(set(c for c in cuts if 0 < c < x.shape[0])), x.shape[0]]
    outs = [chain.process(Block(a, x[a:b])) for a, b in zip(edges[:-1], edges[1:])]
    return np.concatenate([o.filtered for o in outs]), np.concatenate([o.envelope for o in outs])


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(0, 3000), max_size=12), notch=st.sampled_from([None, 50]),
       with_gap=st.booleans(), seed=st.integers(0, 1000))
def test_any_chunking_gives_the_same_output(cuts, notch, with_gap, seed):
    x = _signal(3000, 3, seed, offset=7.0)
    if with_gap:
        x[1000:1300, 0] = np.nan
    s = ChainSettings(notch_hz=notch)
    f1, e1 = envelope_offline(x, MIXED, s)
    f2, e2 = _chunked(MIXED, x, cuts, s)
    np.testing.assert_array_equal(np.isnan(e1), np.isnan(e2))
    ok = ~np.isnan(e1)
    scale = np.nanmax(np.abs(e1))
    assert np.max(np.abs(e1[ok] - e2[ok])) <= 1e-9 * scale
    assert np.nanmax(np.abs(f1 - f2)) <= 1e-9 * np.nanmax(np.abs(f1))


@settings(max_examples=25, deadline=None)
@given(notch=st.sampled_from([None, 50]), with_gap=st.booleans(), seed=st.integers(0, 1000),
       block=st.sampled_from([64, 997, 65536]))
def test_a_thread_per_channel_gives_the_same_bits(notch, with_gap, seed, block):
    """The review runs one thread a channel; EMG, RMS and pressure channels (with a tare) come out identical."""
    x = _signal(3000, 3, seed, offset=7.0)
    if with_gap:
        x[1000:1300, 0] = np.nan
        x[200:260, 2] = np.nan
    s = ChainSettings(notch_hz=notch, tare={"pressure": 3.0})
    f1, e1 = envelope_offline(x.astype(np.float32), MIXED, s, block_samples=block)
    f2, e2 = envelope_offline(x.astype(np.float32), MIXED, s, block_samples=block, threads=3)
    np.testing.assert_array_equal(f1, f2)
    np.testing.assert_array_equal(e1, e2)


def test_matches_a_one_shot_scipy_reference():
    x = _signal(8000, 2, 3, offset=50.0)
    f, e = _chunked(EMG2, x, [17, 500, 501, 4000])
    sos = emg_bandpass_sos(2000.0, ChainSettings())
    zi = signal.sosfilt_zi(sos)[:, :, None] * x[0][None, None, :]
    ref, _ = signal.sosfilt(sos, x, axis=0, zi=zi)
    np.testing.assert_allclose(f, ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())
    w = 400
    sq = np.concatenate([np.zeros((w - 1, 2)), ref ** 2])
    csum = np.cumsum(np.concatenate([np.zeros((1, 2)), sq]), axis=0)
    counts = np.minimum(np.arange(1, 8001), w)[:, None]
    rms_ref = np.sqrt((csum[w:] - csum[:-w]) / counts)
    np.testing.assert_allclose(e, rms_ref, rtol=1e-9, atol=1e-9)


def test_envelope_measures_the_rms_of_band_limited_emg():
    rng = np.random.default_rng(1)
    sos = signal.butter(4, [40, 200], btype="bandpass", fs=2000, output="sos")
    noise = signal.sosfilt(sos, rng.standard_normal(40000))
    noise *= 10.0 / noise.std()  # 10 µV RMS
    _, e = envelope_offline(noise[:, None], StreamInfo((Channel("pfm"),), 2000.0))
    assert abs(np.median(e[1000:, 0]) - 10.0) < 0.5


def test_nan_gap_breaks_the_trace_but_does_not_poison_the_state():
    x = _signal(20000, 2, 2)
    x[5000:5400] = np.nan
    f, e = envelope_offline(x, EMG2)
    assert np.isnan(e[5000:5400]).all() and np.isnan(f[5000:5400]).all()
    assert not np.isnan(e[:5000]).any() and not np.isnan(e[5400:]).any()
    clean = envelope_offline(_signal(20000, 2, 2), EMG2)[1]
    # a second after the gap the envelope is back to what it would have been
    np.testing.assert_allclose(e[8000:], clean[8000:], rtol=0.05)


def test_seeded_start_has_no_long_transient():
    x = _signal(4000, 1, 5, offset=500.0)  # a large DC offset, as raw ADC counts have
    f, e = envelope_offline(x, StreamInfo((Channel("pfm"),), 2000.0))
    assert np.abs(f[:20]).max() < 100.0  # no 500 µV step ringing through the band-pass
    assert abs(np.median(e[600:, 0]) - np.median(e[2000:, 0])) < 2.0


def test_pressure_is_tared_and_low_passed():
    t = np.arange(5000) / 100.0
    x = (30.0 + 10.0 * (t > 20) + 2.0 * np.sin(2 * np.pi * 20.0 * t))[:, None]  # 20 Hz ripple
    info = StreamInfo((Channel("pressure", "pressure", "cmH2O"),), 100.0)
    f, e = envelope_offline(x, info, ChainSettings(tare={"pressure": 30.0}))
    assert abs(np.mean(e[500:1900, 0])) < 0.2
    assert abs(np.mean(e[2500:, 0]) - 10.0) < 0.2
    assert np.std(e[2500:, 0]) < 0.3  # ripple removed by the 5 Hz low-pass


def test_emg_rms_input_is_only_smoothed():
    x = np.full((400, 1), 12.0)
    x[200:] = 20.0
    info = StreamInfo((Channel("amp", "emg_rms"),), 20.0)
    f, e = envelope_offline(x, info)
    np.testing.assert_array_equal(f, x)
    assert e[100, 0] == pytest.approx(12.0) and e[399, 0] == pytest.approx(20.0)


def test_slow_devices_keep_the_upper_corner_below_nyquist():
    sos = emg_bandpass_sos(250.0, ChainSettings())
    w, h = signal.sosfreqz(sos, worN=2048, fs=250.0)
    assert np.all(np.isfinite(h))
    assert abs(h[np.argmin(abs(w - 60))]) > 0.9


@pytest.mark.parametrize("kwargs", [dict(bandpass_hz=(450, 20)), dict(notch_hz=55), dict(rms_window_s=0)])
def test_bad_settings_are_user_errors(kwargs):
    with pytest.raises(UserError):
        ChainSettings(**kwargs)


def test_settings_round_trip():
    s = ChainSettings(notch_hz=50, rms_window_s=0.25, tare={"pressure": 3.0})
    assert ChainSettings.from_dict(s.to_dict()) == s


def test_an_infinite_sample_is_a_lost_sample_not_the_end_of_the_session():
    x = _signal(20000, 2, 2)
    x[5000, 0] = np.inf
    x[6000, 1] = -np.inf
    f, e = envelope_offline(x, EMG2)
    assert np.isnan(e[5000, 0]) and np.isnan(e[6000, 1])
    assert np.isfinite(e[5001:, 0]).all() and np.isfinite(e[6001:, 1]).all()
    clean = envelope_offline(_signal(20000, 2, 2), EMG2)[1]
    np.testing.assert_allclose(e[9000:], clean[9000:], rtol=0.05)
