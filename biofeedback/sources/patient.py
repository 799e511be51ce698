"""The simulated patient: realistic surface EMG (and optionally pressure) from a muscle activation level.

The muscle follows a target effort (0..1) with the profile's dynamics: a rise
time constant, a release time constant, and for the overactive (hypertonic)
profile an incomplete release: guarding that decays slowly after each
contraction, some trials held far longer (never back to rest within a 10 s rest),
and a resting tone that creeps up with the work (post-baseline above
pre-baseline), with a smaller squeeze above her raised baseline. Fatigue (the
amplitude fade and the falling median frequency) builds at a profile's own rate.
The EMG is band-limited noise whose RMS follows the activation, on top of an
unstable resting tone, plus mains hum (``hum`` µV RMS at ``mains`` Hz), an
electrode noise floor, slow motion bumps (mostly removed by the 20 Hz high-pass)
and, on request, artefacts that survive it: broadband electrode pops and cable
movement (``artefacts`` per minute). Everything is deterministic for a seed
and independent of how the samples are requested (any chunking gives the same
samples), so recordings can be checked against a regenerated reference.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import signal

from biofeedback.errors import SourceError
from biofeedback.stream import Channel, StreamInfo

CONTROL_RATE = 100.0  # Hz: activation dynamics are integrated at this rate and interpolated
FATIGUE_RECOVER_S = 20.0   # fatigue recovers with this time constant at rest
FATIGUE_SLOW_SHARE = 0.8   # share of the EMG power moved to low frequencies when fully fatigued
CONTRACTING = 0.15         # a cued effort above this is a contraction


@dataclass(frozen=True)
class PatientProfile:
    name: str
    description: str
    rest_uv: float            # resting tone, µV RMS
    rest_instability: float   # relative SD of the slow wander of resting tone
    mvc_uv: float             # amplitude at maximal voluntary contraction, µV RMS
    rise_tau_s: float         # time constant of contracting
    release_tau_s: float      # time constant of letting go
    release_residual: float   # share of the contraction still held right after letting go (guarding)
    guarding_s: float         # time constant over which that residual guarding fades
    abd_coupling: float       # abdominal co-activation per unit of pelvic-floor effort
    pressure_rest_cmh2o: float
    pressure_mvc_cmh2o: float  # squeeze above rest at maximal effort
    held_share: float = 0.0         # share of releases that stay held (an incomplete release)
    held_residual: float = 0.0      # share of the contraction still held in such a trial
    held_guarding_s: float = 20.0   # and how slowly that fades
    tone_build_per_s: float = 0.0   # resting tone rises by this share per second of full effort
    tone_recover_s: float = 300.0   # and settles back with this time constant
    fatigue_build_s: float = 90.0   # a full-effort hold fatigues the muscle over about this long
    fatigue_amplitude: float = 0.3  # share of contraction amplitude lost when fully fatigued


PROFILES: dict[str, PatientProfile] = {
    p.name: p for p in (
        PatientProfile("healthy", "resting tone 2-4 µV, releases within about half a second",
                       rest_uv=3.0, rest_instability=0.08, mvc_uv=60.0, rise_tau_s=0.12, release_tau_s=0.12,
                       release_residual=0.0, guarding_s=1.0, abd_coupling=0.12,
                       pressure_rest_cmh2o=25.0, pressure_mvc_cmh2o=30.0, fatigue_build_s=90.0,
                       fatigue_amplitude=0.3),
        PatientProfile("hypertonic", "overactive: raised, unstable resting tone 8-15 µV; slow, incomplete release, "
                                     "some trials never let go, a smaller squeeze above the raised tone",
                       rest_uv=11.0, rest_instability=0.22, mvc_uv=42.0, rise_tau_s=0.2, release_tau_s=0.9,
                       release_residual=0.12, guarding_s=6.0, abd_coupling=0.35,
                       pressure_rest_cmh2o=40.0, pressure_mvc_cmh2o=18.0, held_share=0.3, held_residual=0.6,
                       held_guarding_s=40.0, tone_build_per_s=0.004, tone_recover_s=400.0, fatigue_build_s=60.0,
                       fatigue_amplitude=0.35),
        PatientProfile("weak", "low maximum contraction, abdominals compensate, tires quickly",
                       rest_uv=2.5, rest_instability=0.1, mvc_uv=18.0, rise_tau_s=0.3, release_tau_s=0.2,
                       release_residual=0.0, guarding_s=1.0, abd_coupling=0.6,
                       pressure_rest_cmh2o=20.0, pressure_mvc_cmh2o=8.0, fatigue_build_s=45.0,
                       fatigue_amplitude=0.45),
    )
}

ABD_REST_UV = 3.5
ABD_MAX_UV = 40.0
MAINS_UV = 0.3
NOISE_FLOOR_UV = 0.4


def profile(name: str) -> PatientProfile:
    try:
        return PROFILES[name or "healthy"]
    except KeyError:
        raise SourceError(f"unknown simulated patient profile {name!r}; choose one of {', '.join(PROFILES)}") from None


class _Activation:
    """Muscle activation on a 100 Hz control grid, extended lazily and deterministically."""

    def __init__(self, prof: PatientProfile, seed: int) -> None:
        self.prof = prof
        self._rng = np.random.default_rng([seed, 1])
        self.k = 0                 # next grid index to compute
        self.a = 0.0               # activation 0..1
        self.guard = 0.0           # residual guarding level
        self.wander = 0.0          # OU process for resting-tone instability (unit SD)
        self.fatigue = 0.0         # 0..1: builds during sustained contraction, recovers at rest
        self.tone = 0.0            # share by which the resting tone has crept up with the work
        self.held = False          # this trial is one she does not let go of
        self.was_contracting = False
        self._trial_rng = np.random.default_rng([seed, 7])
        self.values: list[tuple[float, float, float]] = []  # (activation, rest factor, fatigue) per grid index
        self.base = 0

    def extend_to(self, k_end: int, target: Callable[[float], float]) -> None:
        p, dt = self.prof, 1.0 / CONTROL_RATE
        rise = 1.0 - math.exp(-dt / p.rise_tau_s)
        fall = 1.0 - math.exp(-dt / p.release_tau_s)
        ou_a = math.exp(-dt / 2.0)
        ou_b = math.sqrt(1.0 - ou_a * ou_a)
        tone_fade = math.exp(-dt / max(p.tone_recover_s, 1e-3))
        while self.k < k_end:
            e = min(1.0, max(0.0, float(target(self.k * dt))))
            contracting = e > CONTRACTING
            if contracting and not self.was_contracting:   # a new trial: will she let go of this one?
                self.held = p.held_share > 0 and float(self._trial_rng.random()) < p.held_share
            self.was_contracting = contracting
            if e >= self.a:
                self.a += (e - self.a) * rise
            else:  # letting go: slowly for an overactive muscle, and not below the guarding level
                self.a += (max(e, self.guard) - self.a) * fall
            if contracting:
                residual = p.held_residual if self.held else p.release_residual
                self.guard = max(self.guard, residual * self.a)
                self.tone += dt * p.tone_build_per_s * self.a
            else:
                self.guard *= math.exp(-dt / max(p.held_guarding_s if self.held else p.guarding_s, 1e-3))
            self.tone *= tone_fade
            self.wander = ou_a * self.wander + ou_b * float(self._rng.standard_normal())
            rest_factor = max(0.3, (1.0 + self.tone)
                              * (1.0 + p.rest_instability * self.wander * (1.0 + 2.0 * self.guard)))
            if contracting and self.a > 0.2:   # held guarding is not work: it does not tire the muscle
                self.fatigue = min(1.0, self.fatigue + dt * self.a / p.fatigue_build_s)
            else:
                self.fatigue -= dt * self.fatigue / FATIGUE_RECOVER_S
            self.values.append((self.a, rest_factor, self.fatigue))
            self.k += 1

    def trim_before(self, k: int) -> None:
        drop = k - self.base
        if drop > 1000:
            del self.values[:drop]
            self.base += drop

    def grid(self, k0: int, k1: int) -> np.ndarray:
        return np.asarray(self.values[k0 - self.base:k1 - self.base])


class SimulatedPatient:
    """Generates a simulated patient's signals; ``generate(n)`` continues where the last call stopped."""

    def __init__(self, profile: str | PatientProfile = "healthy", rate: float = 2000.0, seed: int = 0,
                 abdominal: bool = False, pressure: bool = False, emg: bool = True, hum_uv: float | None = None,
                 mains_hz: float = 50.0, artefacts_per_min: float = 0.0) -> None:
        self.profile = profile if isinstance(profile, PatientProfile) else globals()["profile"](profile)
        if not (rate >= 50):
            raise SourceError(f"simulated sample rate must be at least 50 Hz, got {rate}")
        if not (emg or pressure):
            raise SourceError("the simulated patient needs an EMG or a pressure channel")
        self.rate = float(rate)
        self.seed = int(seed)
        if mains_hz not in (50.0, 60.0):
            raise SourceError(f"mains must be 50 or 60 Hz, got {mains_hz:g}")
        if hum_uv is not None and not (0.0 <= hum_uv <= 1000.0):
            raise SourceError(f"hum must be between 0 and 1000 µV RMS, got {hum_uv:g}")
        if not (0.0 <= artefacts_per_min <= 600.0):
            raise SourceError(f"artefacts must be between 0 and 600 a minute, got {artefacts_per_min:g}")
        self.mains_hz = float(mains_hz)
        # hum_uv is RMS; the default is the small hum of an ordinary room (0.3 µV peak)
        self.hum_amplitude = MAINS_UV if hum_uv is None else float(hum_uv) * math.sqrt(2.0)
        channels = []
        if emg:
            channels.append(Channel("pfm", "emg", "uV"))
            if abdominal:
                channels.append(Channel("abd", "emg", "uV"))
        if pressure:
            channels.append(Channel("pressure", "pressure", "cmH2O"))
        self.info = StreamInfo(tuple(channels), self.rate, source=f"sim:{self.profile.name}",
                               device="simulated patient")
        self.effort = 0.0
        self.script: Callable[[float], float] | None = None
        self._n = 0
        self._act = _Activation(self.profile, self.seed)
        n_emg = sum(c.kind == "emg" for c in channels)
        hi = min(250.0, 0.4 * self.rate)
        self._shape_sos = signal.butter(4, [min(30.0, hi / 2), hi], btype="bandpass", fs=self.rate, output="sos")
        imp = signal.sosfilt(self._shape_sos, np.r_[1.0, np.zeros(int(self.rate * 2))])
        self._shape_gain = 1.0 / math.sqrt(float(np.sum(imp * imp)))
        self._shape_zi = np.zeros((self._shape_sos.shape[0], 2, n_emg))
        # fatigue shifts power to low frequencies (the median frequency falls during a long hold)
        self._slow_sos = signal.butter(4, [min(20.0, hi / 3), min(70.0, 0.6 * hi)], btype="bandpass", fs=self.rate,
                                       output="sos")
        imp = signal.sosfilt(self._slow_sos, np.r_[1.0, np.zeros(int(self.rate * 2))])
        self._slow_gain = 1.0 / math.sqrt(float(np.sum(imp * imp)))
        self._slow_zi = np.zeros((self._slow_sos.shape[0], 2, n_emg))
        self._slow_rng = np.random.default_rng([self.seed, 6])
        self._noise_rng = np.random.default_rng([self.seed, 2])
        self._floor_rng = np.random.default_rng([self.seed, 3])
        self._press_rng = np.random.default_rng([self.seed, 4])
        self._artefacts = self._artefact_times(np.random.default_rng([self.seed, 5]))
        self._pops = self._pop_plan(np.random.default_rng([self.seed, 8]), artefacts_per_min)

    def _target(self, t: float) -> float:
        script = self.script
        return script(t) if script is not None else self.effort

    @staticmethod
    def _artefact_times(rng: np.random.Generator) -> np.ndarray:
        """Start times of motion artefacts: on average one every 45 s, for the first 24 h."""
        gaps = rng.exponential(45.0, size=2000)
        return np.cumsum(gaps)

    @property
    def samples_generated(self) -> int:
        return self._n

    def generate(self, n: int) -> np.ndarray:
        """The next ``n`` samples, shape (n, n_channels), in µV / cmH2O."""
        n = int(n)
        out = np.empty((n, self.info.n_channels))
        if n <= 0:
            return out
        p, rate = self.profile, self.rate
        idx = self._n + np.arange(n)
        t = idx / rate
        kg = t * CONTROL_RATE
        k0 = int(math.floor(kg[0]))
        k1 = int(math.floor(kg[-1])) + 2
        self._act.extend_to(k1, self._target)
        g = self._act.grid(k0, k1)
        pos = kg - k0
        act = np.interp(pos, np.arange(g.shape[0]), g[:, 0])
        rest_factor = np.interp(pos, np.arange(g.shape[0]), g[:, 1])
        fatigue = np.interp(pos, np.arange(g.shape[0]), g[:, 2])
        col = 0
        n_emg = self._shape_zi.shape[2]
        if n_emg:
            white = self._noise_rng.standard_normal((n, n_emg))
            shaped, self._shape_zi = signal.sosfilt(self._shape_sos, white, axis=0, zi=self._shape_zi)
            shaped *= self._shape_gain
            slow, self._slow_zi = signal.sosfilt(self._slow_sos, self._slow_rng.standard_normal((n, n_emg)), axis=0,
                                                 zi=self._slow_zi)
            w_slow = (FATIGUE_SLOW_SHARE * fatigue)[:, None]
            shaped = np.sqrt(1.0 - w_slow) * shaped + np.sqrt(w_slow) * slow * self._slow_gain
            pfm_amp = p.rest_uv * rest_factor + act * (1.0 - p.fatigue_amplitude * fatigue) * (p.mvc_uv - p.rest_uv)
            floor = self._floor_rng.standard_normal((n, n_emg)) * NOISE_FLOOR_UV
            hum = self.hum_amplitude * np.sin(2 * np.pi * self.mains_hz * t)
            artefact = self._artefact(t) + self._surviving_artefacts(t)
            out[:, 0] = shaped[:, 0] * pfm_amp + floor[:, 0] + hum + artefact
            col = 1
            if n_emg > 1:
                abd_amp = ABD_REST_UV + act * p.abd_coupling * ABD_MAX_UV
                out[:, 1] = shaped[:, 1] * abd_amp + floor[:, 1] + hum + 0.5 * artefact
                col = 2
        if self.info.channels[-1].kind == "pressure":
            breathing = 0.6 * np.sin(2 * np.pi * 0.2 * t)
            noise = self._press_rng.standard_normal(n) * 0.08
            tone = (rest_factor - 1.0) * 2.0
            out[:, col] = p.pressure_rest_cmh2o + tone + act * p.pressure_mvc_cmh2o + breathing + noise
        self._n += n
        self._act.trim_before(k0)
        return out

    #: a surviving artefact lasts at most this long
    POP_S = 0.4

    def _pop_plan(self, rng: np.random.Generator, per_min: float) -> list[tuple[float, str, float, np.ndarray]]:
        """(start, kind, amplitude, burst) of each artefact that survives the high-pass, for the first 24 h."""
        if per_min <= 0:
            return []
        starts = np.cumsum(rng.exponential(60.0 / per_min, size=int(per_min * 24 * 60) + 1))
        plan = []
        n = int(self.POP_S * self.rate)
        for s in starts:
            if rng.random() < 0.5:   # an electrode pop: a sharp step that drains away (broadband)
                plan.append((float(s), "pop", float(rng.uniform(80.0, 300.0)) * rng.choice([-1.0, 1.0]),
                             np.empty(0)))
            else:                    # cable movement: a burst of broadband noise
                burst = rng.standard_normal(n) * float(rng.uniform(10.0, 40.0)) * np.hanning(n)
                plan.append((float(s), "cable", 0.0, burst))
        return plan

    def _surviving_artefacts(self, t: np.ndarray) -> np.ndarray:
        """Electrode pops and cable movement: energy well above 20 Hz, so the high-pass keeps them."""
        out = np.zeros_like(t)
        if not self._pops:
            return out
        starts = np.array([p[0] for p in self._pops])
        i0 = int(np.searchsorted(starts, t[0] - self.POP_S))
        i1 = int(np.searchsorted(starts, t[-1]))
        for s, kind, amp, burst in self._pops[i0:i1]:
            m = (t >= s) & (t < s + self.POP_S)
            if not m.any():
                continue
            if kind == "pop":
                out[m] += amp * np.exp(-(t[m] - s) / 0.03)
            else:
                idx = np.round((t[m] - s) * self.rate).astype(int)
                out[m] += burst[np.clip(idx, 0, burst.size - 1)]
        return out

    def _artefact(self, t: np.ndarray) -> np.ndarray:
        """Motion artefacts: 0.3 s half-sine bumps of 40 µV (mostly removed by the 20 Hz high-pass)."""
        starts = self._artefacts
        i0 = int(np.searchsorted(starts, t[0] - 0.3))
        i1 = int(np.searchsorted(starts, t[-1]))
        out = np.zeros_like(t)
        for s in starts[i0:i1]:
            m = (t >= s) & (t < s + 0.3)
            out[m] += 40.0 * np.sin(np.pi * (t[m] - s) / 0.3)
        return out
