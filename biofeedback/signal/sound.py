"""Sound for eyes-closed practice: a synthesiser fed with the envelope, rendering audio blocks.

Clinical units offer a tone whose pitch follows the muscle, a downtraining sound
that stays quiet while she is under the release target and rises as she
tightens, and a breath pacer (a soft rising tone on the in-breath, falling on
the out-breath). A short chime marks each new step (CLINICAL.md, "Sound").

Pure numpy, no Qt and no audio device: the live output (``ui/sound_output.py``)
and the offline renderer (``biofeedback sound``) share this one synthesiser.

Why it is built this way:

- Every voice keeps its oscillator phase between blocks and the level reaching
  the oscillators is smoothed by a one-pole filter with kept state, so pitch and
  loudness glide (no clicks) and the output does not depend on how the audio is
  cut into blocks (chunk invariance, tested).
- The level is given per audio sample (the renderer interpolates the envelope)
  or as one number per block (the live stream holds the newest envelope value).
- The smoothing time constant (30 ms) keeps envelope-to-sound well inside the
  100 ms budget while taking the edge off the envelope's ripple.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal as _sp

MODES = ("pitch", "relax", "pacer")
AUDIO_RATE = 22050                # enough for tones below 2 kHz; the live stream may use another rate
DEFAULT_BREATHING_BPM = 6.0
INHALE_FRACTION = 0.4             # 4 s in, 6 s out at 6 a minute (protocols.INHALE_FRACTION; signal/ cannot import it)
SMOOTHING_S = 0.03                # level smoothing before the oscillators
PITCH_LOW_HZ, PITCH_OCTAVES = 220.0, 2.0
RELAX_LOW_HZ = 165.0              # the soft tone while she stays under the target
RELAX_SOFT = 0.08                 # its loudness relative to full
PACER_LOW_HZ, PACER_HIGH_HZ = 196.0, 330.0
PACER_GAIN = 0.45                 # under the level voice when both play
CHIME_S = 0.45
CHIME_HZ = (784.0, 1176.0)        # G5 and a fifth above: bright, short, not alarming


@dataclass(frozen=True)
class SoundScale:
    """Where the level sits, in the channel's unit: ``zero`` (0 %), the release target, and the top of the scale."""

    zero: float = 0.0
    release_target: float = 8.0
    top: float = 52.0

    def fraction(self, level: np.ndarray) -> np.ndarray:
        """0 at ``zero``, 1 at ``top`` (clipped)."""
        span = max(self.top - self.zero, 1e-9)
        return np.clip((level - self.zero) / span, 0.0, 1.0)

    def over_target(self, level: np.ndarray) -> np.ndarray:
        """0 at or under the release target, 1 at the top: how far she has tightened past it."""
        span = max(self.top - self.release_target, 1e-9)
        return np.clip((level - self.release_target) / span, 0.0, 1.0)


def scale_from_bands(contraction_high: float, release_high: float, zero: float = 0.0,
                     mvc: float | None = None) -> SoundScale:
    """The sound's scale from her bands: the top is her maximum when known, else a little above the contraction band."""
    top = mvc if mvc is not None and mvc > zero else zero + 1.3 * max(contraction_high - zero, 1e-6)
    return SoundScale(zero=zero, release_target=release_high, top=max(top, release_high * 1.5))


def breath_shape(phase: np.ndarray, inhale: float = INHALE_FRACTION) -> np.ndarray:
    """0 at the bottom of the breath, rising smoothly to 1 at the end of the in-breath, back to 0 on the out-breath."""
    phase = np.mod(phase, 1.0)
    up = 0.5 - 0.5 * np.cos(np.pi * np.clip(phase / inhale, 0.0, 1.0))
    down = 0.5 + 0.5 * np.cos(np.pi * np.clip((phase - inhale) / (1.0 - inhale), 0.0, 1.0))
    return np.where(phase < inhale, up, down)


def _chime_table(rate: float) -> np.ndarray:
    t = np.arange(int(CHIME_S * rate)) / rate
    attack = np.clip(t / 0.006, 0.0, 1.0)
    decay = np.exp(-t / 0.12)
    tail = np.clip((CHIME_S - t) / 0.05, 0.0, 1.0)          # reaches exactly zero: no click at the end
    tone = np.sin(2 * np.pi * CHIME_HZ[0] * t) + 0.4 * np.sin(2 * np.pi * CHIME_HZ[1] * t)
    return (0.5 * attack * decay * tail * tone).astype(np.float64)


class Synthesiser:
    """Stateful: ``render(level, n)`` continues where the last call stopped."""

    def __init__(self, mode: str = "pitch", rate: float = AUDIO_RATE, volume: float = 0.5,
                 scale: SoundScale | None = None, pacer: bool | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown sound mode {mode!r}; choose {', '.join(MODES)}")
        self.mode = mode
        self.rate = float(rate)
        self.volume = float(np.clip(volume, 0.0, 1.0))
        self.scale = scale or SoundScale()
        #: the breath pacer voice; on by itself in pacer mode, layered under the level voice when asked
        self.pacer_on = mode == "pacer" if pacer is None else bool(pacer)
        self.breathing_bpm: float | None = DEFAULT_BREATHING_BPM if mode == "pacer" else None
        self.breath_phase = 0.0
        self.muted = False
        a = math.exp(-1.0 / (SMOOTHING_S * self.rate))
        self._smooth_b, self._smooth_a = np.array([1.0 - a]), np.array([1.0, -a])
        self._smooth_zi: np.ndarray | None = None          # set from the first level (no glide up from 0 at start)
        self.level_now = float("nan")                       # the smoothed level the oscillators last followed
        self._phase_level = 0.0
        self._phase_pacer = 0.0
        self._pacer_gain_zi = np.zeros(1)                   # the pacer fades in and out when breathing starts/stops
        self._chime = _chime_table(self.rate)
        self._chime_pos: int | None = None

    # ------------------------------------------------------------------ control
    def set_breathing(self, bpm: float | None, phase: float | None = None) -> None:
        """Breathing pace for the pacer (None: no pacer now); ``phase`` (0..1) resynchronises to the screen."""
        self.breathing_bpm = float(bpm) if bpm else None
        if phase is not None:
            self.breath_phase = float(phase) % 1.0

    def chime(self) -> None:
        """A short chime from the next rendered sample (a new step began)."""
        self._chime_pos = 0

    # ------------------------------------------------------------------ audio
    def render(self, level: float | np.ndarray, n: int | None = None) -> np.ndarray:
        """``n`` mono float32 samples in -1..1; ``level`` is one value per sample, or one value held for ``n``."""
        lv = np.asarray(level, dtype=np.float64)
        if lv.ndim == 0:
            if n is None:
                raise ValueError("give n with a single level")
            lv = np.full(int(n), float(lv))
        n = lv.shape[0]
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        lv = np.where(np.isfinite(lv), lv, self.scale.zero)    # a lost sample is silence, not noise
        if self._smooth_zi is None:
            self._smooth_zi = np.array([lv[0] * -self._smooth_a[1]])
        smooth, self._smooth_zi = _sp.lfilter(self._smooth_b, self._smooth_a, lv, zi=self._smooth_zi)
        self.level_now = float(smooth[-1])
        out = np.zeros(n)
        if self.mode == "pitch":
            out += self._level_voice(*self._pitch(smooth))
        elif self.mode == "relax":
            out += self._level_voice(*self._relax(smooth))
        if self.pacer_on:
            out += self._pacer_voice(n) * (PACER_GAIN if self.mode != "pacer" else 1.0)
        out += self._chime_voice(n)
        out *= 0.0 if self.muted else self.volume
        return np.clip(out, -1.0, 1.0).astype(np.float32)

    def _pitch(self, smooth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pitch rises two octaves from zero to the top of her scale; loudness steady."""
        x = self.scale.fraction(smooth)
        return PITCH_LOW_HZ * 2.0 ** (PITCH_OCTAVES * x), np.full_like(x, 0.6)

    def _relax(self, smooth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Soft and low under the release target; higher and louder the more she tightens past it."""
        u = self.scale.over_target(smooth)
        return RELAX_LOW_HZ * 2.0 ** (PITCH_OCTAVES * u), 0.6 * (RELAX_SOFT + (1.0 - RELAX_SOFT) * np.sqrt(u))

    def _level_voice(self, freq: np.ndarray, amp: np.ndarray) -> np.ndarray:
        phase = self._phase_level + np.cumsum(2 * np.pi * freq / self.rate)
        self._phase_level = float(phase[-1] % (2 * np.pi))
        # a soft timbre: the fundamental with a little second harmonic
        return amp * (np.sin(phase) + 0.15 * np.sin(2 * phase)) / 1.15

    def _pacer_voice(self, n: int) -> np.ndarray:
        bpm = self.breathing_bpm
        step = (bpm or 0.0) / 60.0 / self.rate
        breath = self.breath_phase + step * np.arange(1, n + 1)
        self.breath_phase = float(breath[-1] % 1.0)
        shape = breath_shape(breath)
        target = np.full(n, 1.0 if bpm else 0.0)
        a = math.exp(-1.0 / (0.3 * self.rate))
        gain, self._pacer_gain_zi = _sp.lfilter([1.0 - a], [1.0, -a], target, zi=self._pacer_gain_zi)
        freq = PACER_LOW_HZ + (PACER_HIGH_HZ - PACER_LOW_HZ) * shape
        phase = self._phase_pacer + np.cumsum(2 * np.pi * freq / self.rate)
        self._phase_pacer = float(phase[-1] % (2 * np.pi))
        return gain * 0.5 * (0.45 + 0.55 * shape) * np.sin(phase)

    def _chime_voice(self, n: int) -> np.ndarray:
        out = np.zeros(n)
        if self._chime_pos is None:
            return out
        part = self._chime[self._chime_pos:self._chime_pos + n]
        out[:part.shape[0]] = part
        self._chime_pos += part.shape[0]
        if self._chime_pos >= self._chime.shape[0]:
            self._chime_pos = None
        return out


@dataclass(frozen=True)
class StepCue:
    """A step as the renderer needs it: when it began and its breathing pace (None without a pacer)."""

    time_s: float
    breathing_bpm: float | None


def render_session(envelope: np.ndarray, env_rate: float, steps: list[StepCue], synth: Synthesiser,
                   block_s: float = 1.0):
    """Yield audio blocks (float32) of what she heard: ``envelope`` (one channel) at ``env_rate``, chimes at ``steps``.

    Each step that changes the breathing pace starts a new breath on the in-breath, as the
    protocol runner's pacer does (``protocols.breathing_anchors``).
    """
    env = np.asarray(envelope, dtype=np.float64).ravel()
    duration_s = env.shape[0] / env_rate
    n_total = int(round(duration_s * synth.rate))
    env_t = np.arange(env.shape[0]) / env_rate
    bounds = sorted({int(round(s.time_s * synth.rate)) for s in steps if 0 <= s.time_s < duration_s})
    by_sample = {int(round(s.time_s * synth.rate)): s for s in sorted(steps, key=lambda s: s.time_s)}
    block = max(1, int(block_s * synth.rate))
    cuts = sorted(set(range(0, n_total, block)) | set(bounds) | {n_total})
    for a, b in zip(cuts[:-1], cuts[1:]):
        step = by_sample.get(a)
        if step is not None:
            if step.breathing_bpm != synth.breathing_bpm:
                synth.set_breathing(step.breathing_bpm, 0.0 if step.breathing_bpm else None)
            synth.chime()
        t = np.arange(a, b) / synth.rate
        yield synth.render(np.interp(t, env_t, env))


def to_pcm16(block: np.ndarray) -> bytes:
    """Float samples in -1..1 as little-endian 16-bit PCM (what a WAV file holds)."""
    return (np.clip(block, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
