"""The sound synthesiser, tested offline: what she hears is measured back from the rendered audio.

Pitch is measured from the WAV by the peak of a short-time spectrum, never taken from the synthesiser's
own state, so the tests check what a listener would hear.
"""
from __future__ import annotations

import wave

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal as sp

from biofeedback.cli import main
from biofeedback.files.recording import Recording
from biofeedback.files.wav import render_recording
from biofeedback.session.headless import record_headless
from biofeedback.signal.calibration import placeholder_bands
from biofeedback.signal.chain import envelope_offline
from biofeedback.signal.sound import (
    CHIME_HZ,
    PITCH_LOW_HZ,
    PITCH_OCTAVES,
    RELAX_LOW_HZ,
    SoundScale,
    Synthesiser,
    breath_shape,
    scale_from_bands,
)

RATE = 22050
FRAME = 2048          # 93 ms frames, 46 ms hop: fine enough for a breath and a squeeze


def read_wav(path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32767.0
    return x, rate


def pitch_track(x: np.ndarray, rate: int, fmin: float = 100.0, fmax: float = 1200.0):
    """(frame times, peak frequency, frame RMS) by short-time spectrum, with parabolic peak refinement."""
    f, t, z = sp.stft(x, fs=rate, nperseg=FRAME, noverlap=FRAME // 2, boundary=None, padded=False)
    mag = np.abs(z)
    band = (f >= fmin) & (f <= fmax)
    fb, mb = f[band], mag[band]
    k = np.argmax(mb, axis=0)
    k = np.clip(k, 1, mb.shape[0] - 2)
    cols = np.arange(mb.shape[1])
    a, b, c = np.log(mb[k - 1, cols] + 1e-12), np.log(mb[k, cols] + 1e-12), np.log(mb[k + 1, cols] + 1e-12)
    shift = 0.5 * (a - c) / np.where(a - 2 * b + c == 0, -1e-12, a - 2 * b + c)
    peak = fb[k] + shift * (fb[1] - fb[0])
    frames = np.lib.stride_tricks.sliding_window_view(x, FRAME)[::FRAME // 2]
    rms = np.sqrt(np.mean(frames[:len(t)] ** 2, axis=1))
    return t, peak, rms


def envelope_at(path, times: np.ndarray) -> tuple[np.ndarray, float]:
    with Recording.open(path) as rec:
        _, env = envelope_offline(rec.read(), rec.info)
        rate = rec.rate
    return np.interp(times, np.arange(env.shape[0]) / rate, env[:, 0]), rate


@pytest.fixture(scope="module")
def work_rest(tmp_path_factory):
    """4.5 minutes of 5 s squeezes and 10 s rests by a simulated hypertonic patient (500 Hz to keep it quick)."""
    path = tmp_path_factory.mktemp("sound") / "work-rest.bfr"
    record_headless("sim:hypertonic?rate=500&seed=3", path, None, speed=None, protocol="work-rest-5-10")
    return path


@pytest.fixture(scope="module")
def relaxation(tmp_path_factory):
    """The relaxation protocol (breathing at 6 a minute, gentle squeezes) by a healthy simulated patient."""
    path = tmp_path_factory.mktemp("sound") / "relaxation.bfr"
    record_headless("sim:healthy?rate=500&seed=4", path, None, speed=None, protocol="relaxation")
    return path


def test_pitch_follows_the_envelope_over_a_session(work_rest, tmp_path):
    wav = render_recording(work_rest, tmp_path / "pitch.wav", mode="pitch")
    x, rate = read_wav(wav)
    assert rate == RATE
    t, f0, _ = pitch_track(x, rate)
    env, _ = envelope_at(work_rest, t)
    b = placeholder_bands()
    expected = scale_from_bands(b.contraction_high, b.release_high).fraction(env)
    measured = np.log2(f0 / PITCH_LOW_HZ) / PITCH_OCTAVES
    ok = np.ones_like(t, dtype=bool)
    r = np.corrcoef(measured[ok], expected[ok])[0, 1]
    assert r > 0.95, r
    # and the pitch itself: within a quarter tone of the mapping, most of the time
    err_semitones = 12 * np.abs(np.log2(f0 / (PITCH_LOW_HZ * 2 ** (PITCH_OCTAVES * expected))))
    assert np.median(err_semitones) < 0.5


def test_relax_mode_is_quiet_under_the_target_and_rises_as_she_tightens(relaxation, tmp_path):
    wav = render_recording(relaxation, tmp_path / "relax.wav", mode="relax")
    x, rate = read_wav(wav)
    t, f0, rms = pitch_track(x, rate)
    env, _ = envelope_at(relaxation, t)
    target = placeholder_bands().release_high
    chime_free = np.ones_like(t, dtype=bool)
    with Recording.open(relaxation) as rec:
        for e in rec.events:
            if e.kind == "step":
                chime_free &= ~((t > e.time_s - 0.2) & (t < e.time_s + 0.7))
    under = chime_free & (env < 0.8 * target)
    tight = chime_free & (env > 2.5 * target)
    assert under.sum() > 1000 and tight.sum() > 50          # she rested most of the time and squeezed 6 times
    # quiet: under a fifth of full loudness while she stays under the target, and low in pitch
    assert np.percentile(rms[under], 95) < 0.2 * np.median(rms[tight])
    assert np.median(f0[under]) == pytest.approx(RELAX_LOW_HZ, rel=0.03)
    assert np.median(f0[tight]) > 1.3 * RELAX_LOW_HZ


def test_pacer_period_matches_the_breathing_rate(relaxation, tmp_path):
    wav = render_recording(relaxation, tmp_path / "pacer.wav", mode="pacer")
    x, rate = read_wav(wav)
    t, f0, _ = pitch_track(x, rate, fmin=150, fmax=400)
    first = t < 58.0                                     # the first 60 s step breathes at 6 a minute
    y = f0[first] - f0[first].mean()
    ac = np.correlate(y, y, mode="full")[y.size - 1:]
    hop = t[1] - t[0]
    lags = np.arange(ac.size) * hop
    search = (lags > 5.0) & (lags < 20.0)
    period = lags[search][np.argmax(ac[search])]
    assert period == pytest.approx(60.0 / 6.0, abs=0.15)
    # rising on the in-breath: the pitch climbs during the first 4 s of a breath and falls after
    assert f0[np.argmin(np.abs(t - 3.5))] > f0[np.argmin(np.abs(t - 0.5))]
    assert f0[np.argmin(np.abs(t - 9.0))] < f0[np.argmin(np.abs(t - 4.5))]


def test_a_chime_marks_each_step(work_rest, tmp_path):
    wav = render_recording(work_rest, tmp_path / "chime.wav", mode="pacer")
    x, rate = read_wav(wav)
    f, t, z = sp.stft(x, fs=rate, nperseg=1024, noverlap=512)
    row = np.abs(z[np.argmin(np.abs(f - CHIME_HZ[0]))])
    loud = row > 0.25 * row.max()
    onsets = t[loud & ~np.r_[False, loud[:-1]]]
    with Recording.open(work_rest) as rec:
        steps = np.array([e.time_s for e in rec.events if e.kind == "step"])
    assert len(onsets) == len(steps)
    assert np.max(np.abs(onsets - steps)) < 0.1


def test_no_clicks_when_the_level_jumps():
    """A jump of the envelope from rest to the top glides: no sample-to-sample step beyond the oscillator's own."""
    synth = Synthesiser("pitch", rate=RATE, volume=1.0, scale=SoundScale(0.0, 8.0, 50.0))
    level = np.r_[np.full(RATE // 2, 3.0), np.full(RATE // 2, 60.0), np.full(RATE // 2, 0.0)]
    y = synth.render(level)
    f_max = PITCH_LOW_HZ * 2 ** PITCH_OCTAVES
    assert np.max(np.abs(np.diff(y))) < 1.2 * 2 * np.pi * f_max / RATE * 0.6 * 1.3


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(1, 4999), max_size=8, unique=True),
       mode=st.sampled_from(["pitch", "relax", "pacer"]), seed=st.integers(0, 1000),
       chime_at=st.integers(0, 4999))
def test_chunk_invariance(cuts, mode, seed, chime_at):
    """The audio does not depend on how it is cut into blocks (phase and smoothing kept between blocks)."""
    rng = np.random.default_rng(seed)
    level = np.repeat(rng.uniform(0, 60, 50), 100)
    whole = Synthesiser(mode, rate=8000, pacer=True)
    a = np.concatenate([whole.render(level[:chime_at]), (whole.chime(), whole.render(level[chime_at:]))[1]])
    parts = Synthesiser(mode, rate=8000, pacer=True)
    bounds = sorted(set(cuts) | {chime_at, 0, level.size})
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        if lo == chime_at:
            parts.chime()
        out.append(parts.render(level[lo:hi]))
    np.testing.assert_allclose(np.concatenate(out), a, atol=2e-5)


def test_breath_shape_rises_on_the_in_breath_and_falls_on_the_out_breath():
    phase = np.linspace(0, 1, 101)
    s = breath_shape(phase)
    assert s[0] == pytest.approx(0) and s[40] == pytest.approx(1) and s[100] == pytest.approx(0, abs=1e-9)
    assert np.all(np.diff(s[:41]) >= 0) and np.all(np.diff(s[40:]) <= 0)


def test_sound_command_never_overwrites_and_errors_in_one_line(work_rest, tmp_path, capsys):
    out = tmp_path / "s.wav"
    assert main(["sound", str(work_rest), "--out", str(out), "--mode", "relax"]) == 0
    size = out.stat().st_size
    assert main(["sound", str(work_rest), "--out", str(out)]) == 2
    assert out.stat().st_size == size
    assert main(["sound", str(tmp_path / "missing.bfr"), "--out", str(tmp_path / "m.wav")]) == 2
    assert main(["sound", str(work_rest), "--out", str(tmp_path / "s.mp3")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("biofeedback: ") for line in err)
    assert "already exists" in err[0]


def test_the_pacer_sound_breathes_like_the_pacer_on_screen():
    from biofeedback import protocols
    from biofeedback.signal import sound
    assert sound.INHALE_FRACTION == protocols.INHALE_FRACTION
