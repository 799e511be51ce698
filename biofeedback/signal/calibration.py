"""Calibration and target bands (Qt-free).

A calibration has two parts, both measured on the amplitude envelope of one
channel (µV RMS for EMG, cmH2O for pressure):

* a **rest baseline**: mean and standard deviation of the envelope over a quiet
  rest of about 30-60 s (the first seconds are skipped while the patient settles);
* a **maximum voluntary contraction (MVC)**: three efforts of about 5 s; each
  effort's peak is the highest value of a 0.5 s moving mean of the envelope, and
  the MVC is the best of them.

Default bands follow the clinic: contraction 40-70 % of MVC. The release band's top is the
live **release target** (what shows green), a training goal chosen by :func:`release_target_rule`:
for a raised or unsteady resting tone it sits :data:`BELOW_REST_SHARE` below her resting mean (so green
means "softer than you rest now"), otherwise at resting tone + 2 SD; never under the noise floor
measured during the calibration's rest. A target the therapist typed survives re-calibration
(:func:`keep_typed_target`). :class:`Bands` keeps absolute values in the channel's unit and converts
to and from %MVC.

The rest baseline is robust (:mod:`biofeedback.signal.rest`): 0.5 s RMS windows of the envelope, with
windows far above the median left out as artefacts.

:class:`CalibrationRun` is the guided procedure as a pure state machine on the
stream clock: it says which phase and cue apply at a time, what effort a
simulated patient should make, collects envelope samples per phase, and turns
them into a :class:`Calibration`. The window's wizard only displays it.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from biofeedback.signal import rest as rest_mod

DEFAULT_CONTRACTION_PCT = (40.0, 70.0)
DEFAULT_RELEASE_SD = 2.0
PEAK_WINDOW_S = 0.5
#: A resting tone above this (µV RMS) is raised: healthy resting figures are roughly 2-6 µV
#: (Oleksy 2020, Kasper-Jedrzejewska 2025), orientation only since equipment differs.
RAISED_REST_UV = 6.0
#: A resting tone whose 0.5 s windows vary more than this (CV %) is unsteady.
UNSTEADY_CV_PCT = 15.0
#: For a raised or unsteady rest the target sits this share below her resting mean (10-20 % in practice).
BELOW_REST_SHARE = 0.15


# --------------------------------------------------------------------------- the release target


@dataclass(frozen=True)
class ReleaseTarget:
    """The live release target (top of the release band) and why it is where it is.

    ``rule``: ``below_rest`` (raised or unsteady rest: below her resting mean), ``rest_band`` (steady,
    normal rest: at or below rest + 2 SD), ``noise_floor`` (the rule's value lay under the noise floor, so
    the floor is used), ``typed`` (the therapist's own value).
    """

    value: float
    rule: str
    reason: str            # for the therapist, with figures
    patient_text: str      # for her: plain words, no µV

    def to_dict(self) -> dict[str, Any]:
        return {"release_target": self.value, "rule": self.rule, "reason": self.reason,
                "patient_text": self.patient_text}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReleaseTarget | None:
        try:
            return cls(float(d["release_target"]), str(d.get("rule", "")), str(d.get("reason", "")),
                       str(d.get("patient_text", "")))
        except (KeyError, TypeError, ValueError):
            return None


def release_target_rule(rest_mean: float, rest_sd: float, noise_floor: float | None = None, unit: str = "uV",
                        cv_pct: float | None = None, raised_uv: float = RAISED_REST_UV,
                        unsteady_cv_pct: float = UNSTEADY_CV_PCT,
                        below_share: float = BELOW_REST_SHARE) -> ReleaseTarget:
    """The default release target after a calibration (pure; the window and ``calibrate`` both call it).

    Raised (mean above ``raised_uv``) or unsteady (CV above ``unsteady_cv_pct``) rest: ``below_share``
    below the resting mean, so her present tone does not show as success. Otherwise rest + 2 SD. Never
    under ``noise_floor``. Pressure keeps rest + 2 SD (a probe's resting pressure is not a tone to train).
    ``cv_pct`` is the variability of her 0.5 s resting windows (default: SD / mean).
    """
    mean, sd = float(rest_mean), max(0.0, float(rest_sd))
    cv = float(cv_pct) if cv_pct is not None else (100.0 * sd / mean if mean > 0 else 0.0)
    if unit == "cmH2O":
        value = mean + DEFAULT_RELEASE_SD * sd
        return ReleaseTarget(value, "rest_band", f"resting pressure {mean:.1f} + 2 SD",
                             "Let go until the line is in the green band.")
    raised, unsteady = mean > raised_uv, cv > unsteady_cv_pct
    if raised or unsteady:
        why = " and ".join(w for w, on in (("raised", raised), ("unsteady", unsteady)) if on)
        value = mean * (1.0 - below_share)
        rule = "below_rest"
        reason = (f"resting tone {mean:.2f} µV is {why} (CV {cv:.0f} %): target {100 * below_share:.0f} % "
                  f"below it, {value:.2f} µV")
        patient = ("Your muscles are still a little busy when you rest. Green means softer than you rest now: "
                   "let go a little more, a little at a time.")
    else:
        value = mean + DEFAULT_RELEASE_SD * sd
        rule = "rest_band"
        reason = f"resting tone {mean:.2f} µV is low and steady: target at rest + 2 SD, {value:.2f} µV"
        patient = "Your resting level is already calm. Green means you are back at that calm, resting level."
    if noise_floor is not None and value < noise_floor:
        value = float(noise_floor)
        rule = "noise_floor"
        reason += f"; raised to the noise floor of the equipment, {noise_floor:.2f} µV"
        patient = ("Green means you are as relaxed as this sensor can show. Let go and stay soft.")
    return ReleaseTarget(float(value), rule, reason, patient)


def typed_target(value: float, unit: str = "uV") -> ReleaseTarget:
    """A target the therapist typed: kept as it is through later calibrations."""
    if not (math.isfinite(float(value)) and float(value) > 0):
        raise ValueError(f"a release target must be a positive number, got {value}")
    return ReleaseTarget(float(value), "typed", f"set by the therapist: {float(value):.2f} {unit}",
                         "Your therapist has chosen this target with you. Green means you are there.")


def shaped_target(value: float, previous: float, by: str = "therapist", unit: str = "uV") -> ReleaseTarget:
    """A shaping step (she met her target, the next one is lower), accepted ``by`` the therapist or her
    programme's rule: chosen on purpose like a typed target, so a later calibration keeps it too."""
    if not (math.isfinite(float(value)) and float(value) > 0):
        raise ValueError(f"a release target must be a positive number, got {value}")
    who = "her programme's rule" if by == "programme" else "the therapist"
    return ReleaseTarget(float(value), "shaping",
                         f"shaping step from {float(previous):.2f} to {float(value):.2f} {unit}, accepted by {who}",
                         "You have been letting go well. Green now asks you to soften a little more.")


#: target rules chosen on purpose (typed by the therapist, or a shaping step): re-calibration keeps them
KEPT_RULES = ("typed", "shaping")


def is_kept(target: ReleaseTarget | None) -> bool:
    """Whether ``target`` was chosen on purpose, so that re-calibration must not overwrite it."""
    return target is not None and target.rule in KEPT_RULES


def keep_typed_target(previous: ReleaseTarget | dict | None, new: ReleaseTarget, previous_unit: str | None = None,
                      unit: str | None = None) -> ReleaseTarget:
    """Re-calibration never silently overwrites a chosen target: a typed one (or a shaping step, see
    :func:`shaped_target`) wins over the rule's.

    Unless it was chosen in another unit (``previous_unit``, the unit of the calibration it belongs to, and
    ``unit``, the new one's, when known): 5 µV typed for her EMG sensor is no target for a pressure probe
    that reads 25 cmH2O at rest (she could never reach green), so the new calibration's rule applies.
    """
    if previous_unit and unit and previous_unit != unit:
        return new
    if isinstance(previous, dict):
        previous = ReleaseTarget.from_dict(previous)
    if is_kept(previous):
        assert previous is not None
        return previous
    return new


# --------------------------------------------------------------------------- bands


@dataclass(frozen=True)
class Bands:
    """The contraction band [low, high] and the release band [0, release_high], in the channel's unit.

    ``mvc`` is the reference for %MVC (``None`` until a calibration or a hand entry gives one).
    ``zero`` is where 0 % lies: 0 for EMG amplitude; the resting pressure for a pressure probe, whose
    squeeze is measured above the pressure of the probe at rest.
    """

    contraction_low: float
    contraction_high: float
    release_high: float
    unit: str = "uV"
    mvc: float | None = None
    channel: str = "pfm"
    zero: float = 0.0

    def __post_init__(self) -> None:
        lo, hi = float(self.contraction_low), float(self.contraction_high)
        if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(float(self.release_high))):
            raise ValueError("band limits must be finite numbers")
        if lo > hi:
            lo, hi = hi, lo
        object.__setattr__(self, "contraction_low", max(0.0, lo))
        object.__setattr__(self, "contraction_high", max(0.0, hi))
        object.__setattr__(self, "release_high", max(0.0, float(self.release_high)))
        if not math.isfinite(float(self.zero)):
            object.__setattr__(self, "zero", 0.0)
        if self.mvc is not None and not (math.isfinite(self.mvc) and self.mvc > self.zero and self.mvc > 0):
            object.__setattr__(self, "mvc", None)

    # -- %MVC ----------------------------------------------------------------
    def to_percent(self, value: float) -> float:
        """Absolute value -> %MVC (needs an MVC)."""
        if self.mvc is None:
            raise ValueError("no maximum voluntary contraction known: calibrate first or enter values "
                             "in absolute units")
        return 100.0 * (float(value) - self.zero) / (self.mvc - self.zero)

    def from_percent(self, pct: float) -> float:
        """%MVC -> absolute value in the channel's unit."""
        if self.mvc is None:
            raise ValueError("no maximum voluntary contraction known: calibrate first or enter values "
                             "in absolute units")
        return self.zero + float(pct) * (self.mvc - self.zero) / 100.0

    @property
    def contraction_pct(self) -> tuple[float, float]:
        return self.to_percent(self.contraction_low), self.to_percent(self.contraction_high)

    @property
    def release_pct(self) -> float:
        return self.to_percent(self.release_high)

    def with_contraction(self, low: float, high: float) -> Bands:
        return replace(self, contraction_low=low, contraction_high=high)

    def with_contraction_pct(self, low_pct: float, high_pct: float) -> Bands:
        return replace(self, contraction_low=self.from_percent(low_pct), contraction_high=self.from_percent(high_pct))

    def with_release(self, high: float) -> Bands:
        return replace(self, release_high=high)

    def with_release_pct(self, high_pct: float) -> Bands:
        return replace(self, release_high=self.from_percent(high_pct))

    # -- membership ------------------------------------------------------------
    def limits(self, band: str) -> tuple[float, float]:
        """(low, high) of ``"contraction"`` or ``"release"``."""
        if band == "contraction":
            return self.contraction_low, self.contraction_high
        if band == "release":
            return 0.0, self.release_high
        raise ValueError(f"unknown band {band!r}; expected 'contraction' or 'release'")

    def contains(self, band: str, value: float) -> bool:
        lo, hi = self.limits(band)
        return bool(lo <= value <= hi)

    # -- serialisation -----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"contraction_low": self.contraction_low, "contraction_high": self.contraction_high,
                             "release_high": self.release_high, "unit": self.unit, "mvc": self.mvc,
                             "channel": self.channel, "zero": self.zero}
        if self.mvc is not None:
            d["contraction_pct"] = list(self.contraction_pct)
            d["release_pct"] = self.release_pct
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Bands:
        mvc = d.get("mvc")
        return cls(contraction_low=float(d["contraction_low"]), contraction_high=float(d["contraction_high"]),
                   release_high=float(d["release_high"]), unit=str(d.get("unit", "uV")),
                   mvc=None if mvc is None else float(mvc), channel=str(d.get("channel", "pfm")),
                   zero=float(d.get("zero") or 0.0))


def placeholder_bands(unit: str = "uV", channel: str = "pfm") -> Bands:
    """Bands before any calibration: typical figures for a healthy pelvic floor (CLINICAL.md), no MVC."""
    if unit == "cmH2O":
        return Bands(contraction_low=10.0, contraction_high=25.0, release_high=3.0, unit=unit, channel=channel)
    return Bands(contraction_low=20.0, contraction_high=40.0, release_high=8.0, unit=unit, channel=channel)


# --------------------------------------------------------------------------- measures


@dataclass(frozen=True)
class RestBaseline:
    mean: float
    sd: float
    duration_s: float
    excluded_s: float = 0.0
    noise_floor: float | None = None
    cv_pct: float | None = None


def rest_baseline(envelope: np.ndarray, rate: float, skip_s: float = 0.0) -> RestBaseline:
    """Mean and SD of an envelope stretch (NaN samples ignored), skipping its first ``skip_s`` seconds.

    Mean and SD are those of the envelope the patient sees, over the 0.5 s windows left after artefact
    rejection (:func:`biofeedback.signal.rest.robust_rest`; at least three windows, else the plain figures);
    ``cv_pct`` is the variability of the windows' means (her slow unsteadiness, without the envelope's
    own noise).
    """
    env = np.asarray(envelope, dtype=np.float64).ravel()[int(round(skip_s * rate)):]
    good = env[np.isfinite(env)]
    if good.size < 2:
        raise ValueError("not enough rest samples for a baseline (the signal was missing); repeat the rest phase")
    rr = rest_mod.robust_rest(rate, [(0.0, env.size / rate)], env, rms=False)
    if rr.envelope_mean is not None and rr.envelope_sd is not None and rr.n_windows >= 3:
        return RestBaseline(mean=rr.envelope_mean, sd=rr.envelope_sd, duration_s=good.size / rate,
                            excluded_s=rr.excluded_s, noise_floor=noise_floor_of(env, rate), cv_pct=rr.cv_pct)
    return RestBaseline(mean=float(good.mean()), sd=float(good.std(ddof=1)), duration_s=good.size / rate)


def noise_floor_of(envelope: np.ndarray, rate: float) -> float | None:
    """The quietest 0.5 s RMS of a resting envelope (5th percentile of windows): the lowest the equipment shows."""
    levels, _ = rest_mod.window_levels(rate, 0.0, len(envelope) / rate, np.asarray(envelope, dtype=np.float64),
                                       rms=False)
    ok = levels[np.isfinite(levels)]
    return float(np.percentile(ok, 5)) if ok.size else None


def effort_peak(envelope: np.ndarray, rate: float, window_s: float = PEAK_WINDOW_S) -> float:
    """Peak of the ``window_s`` moving mean of an envelope stretch (windows holding NaN are skipped)."""
    env = np.asarray(envelope, dtype=np.float64).ravel()
    w = max(1, int(round(window_s * rate)))
    if env.size < w:
        raise ValueError(f"an effort needs at least {window_s:g} s of signal")
    finite = np.isfinite(env)
    c = np.concatenate(([0.0], np.cumsum(np.where(finite, env, 0.0))))
    k = np.concatenate(([0], np.cumsum(finite)))
    sums, counts = c[w:] - c[:-w], k[w:] - k[:-w]
    full = counts == w
    if not full.any():
        raise ValueError("the effort's signal was missing; repeat the effort")
    return float((sums[full] / w).max())


@dataclass
class Calibration:
    """Result of a calibration of one channel."""

    rest_mean: float
    rest_sd: float
    mvc: float
    effort_peaks: list[float]
    unit: str = "uV"
    channel: str = "pfm"
    rest_duration_s: float = 0.0
    created_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    noise_floor: float | None = None
    rest_excluded_s: float = 0.0
    target: ReleaseTarget | None = None
    rest_cv_pct: float | None = None
    quality: dict[str, Any] | None = None   # the signal check (biofeedback.signal.quality), when one was made

    def __post_init__(self) -> None:
        if self.target is None:
            self.target = release_target_rule(self.rest_mean, self.rest_sd, self.noise_floor, self.unit,
                                              self.rest_cv_pct)

    @property
    def release_target(self) -> float:
        assert self.target is not None
        return self.target.value

    def default_bands(self, contraction_pct: tuple[float, float] = DEFAULT_CONTRACTION_PCT,
                      release_sd: float | None = None) -> Bands:
        """Contraction ``contraction_pct`` of MVC; release at or below the release target (or, with
        ``release_sd``, rest mean + that many SD).

        For pressure the percentages are of the squeeze above resting pressure."""
        lo, hi = contraction_pct
        zero = self.rest_mean if self.unit == "cmH2O" else 0.0
        span = self.mvc - zero
        release = self.release_target if release_sd is None else self.rest_mean + release_sd * self.rest_sd
        return Bands(contraction_low=zero + lo * span / 100.0, contraction_high=zero + hi * span / 100.0,
                     release_high=release, unit=self.unit, mvc=self.mvc, channel=self.channel, zero=zero)

    def to_dict(self) -> dict[str, Any]:
        return {"rest_mean": self.rest_mean, "rest_sd": self.rest_sd, "mvc": self.mvc,
                "effort_peaks": list(self.effort_peaks), "unit": self.unit, "channel": self.channel,
                "rest_duration_s": self.rest_duration_s, "created_at": self.created_at,
                "noise_floor": self.noise_floor, "rest_excluded_s": self.rest_excluded_s,
                "rest_cv_pct": self.rest_cv_pct, "target": self.target.to_dict() if self.target else None,
                "quality": self.quality}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibration:
        floor = d.get("noise_floor")
        return cls(rest_mean=float(d["rest_mean"]), rest_sd=float(d["rest_sd"]), mvc=float(d["mvc"]),
                   effort_peaks=[float(x) for x in d.get("effort_peaks", [])], unit=str(d.get("unit", "uV")),
                   channel=str(d.get("channel", "pfm")), rest_duration_s=float(d.get("rest_duration_s", 0.0)),
                   created_at=str(d.get("created_at", "")), noise_floor=None if floor is None else float(floor),
                   rest_excluded_s=float(d.get("rest_excluded_s") or 0.0),
                   rest_cv_pct=None if d.get("rest_cv_pct") is None else float(d["rest_cv_pct"]),
                   quality=d["quality"] if isinstance(d.get("quality"), dict) else None,
                   target=ReleaseTarget.from_dict(d["target"]) if isinstance(d.get("target"), dict) else None)


def calibrate(rest_envelope: np.ndarray, efforts: list[np.ndarray], rate: float, unit: str = "uV",
              channel: str = "pfm", rest_skip_s: float = 0.0) -> Calibration:
    """Rest stretch + effort stretches -> :class:`Calibration` (MVC = best effort peak)."""
    if not efforts:
        raise ValueError("no maximum contraction efforts were recorded")
    base = rest_baseline(rest_envelope, rate, skip_s=rest_skip_s)
    peaks = [effort_peak(e, rate) for e in efforts]
    mvc = max(peaks)
    if not mvc > base.mean:
        raise ValueError("the maximum contraction was not above resting tone; check the sensor and repeat")
    return Calibration(rest_mean=base.mean, rest_sd=base.sd, mvc=mvc, effort_peaks=peaks, unit=unit,
                       channel=channel, rest_duration_s=base.duration_s, noise_floor=base.noise_floor,
                       rest_excluded_s=base.excluded_s, rest_cv_pct=base.cv_pct)


# --------------------------------------------------------------------------- guided procedure


@dataclass(frozen=True)
class Phase:
    kind: str          # "rest" | "prepare" | "contract" | "release"
    start_s: float
    duration_s: float
    cue: str
    effort: int = 0    # 1-based effort number for prepare/contract/release phases

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True)
class CalibrationPlan:
    """Timing of the guided calibration (seconds)."""

    rest_s: float = 40.0
    rest_skip_s: float = 5.0
    efforts: int = 3
    prepare_s: float = 3.0
    contract_s: float = 5.0
    release_s: float = 10.0
    #: effort a simulated patient makes when cued to contract as hard as she can
    sim_max_effort: float = 1.0

    def phases(self) -> list[Phase]:
        out = [Phase("rest", 0.0, self.rest_s, "Rest and breathe — let everything go")]
        t = self.rest_s
        for i in range(1, self.efforts + 1):
            out.append(Phase("prepare", t, self.prepare_s, f"Get ready for squeeze {i} of {self.efforts}", i))
            t += self.prepare_s
            out.append(Phase("contract", t, self.contract_s, "Squeeze as hard as you can", i))
            t += self.contract_s
            out.append(Phase("release", t, self.release_s, "Let go completely", i))
            t += self.release_s
        return out

    @property
    def duration_s(self) -> float:
        return self.rest_s + self.efforts * (self.prepare_s + self.contract_s + self.release_s)


class CalibrationRun:
    """The guided calibration as a state machine on the stream clock.

    ``start_s`` is the stream time at which the rest phase begins. Feed envelope
    samples with :meth:`feed` (times in stream seconds; repeated samples are
    ignored); after :attr:`done`, :meth:`result` gives the calibration.
    """

    #: seconds after the squeeze cue ends that still count toward the effort (human reaction delay)
    EFFORT_TAIL_S = 1.0

    def __init__(self, rate: float, start_s: float, plan: CalibrationPlan | None = None,
                 unit: str = "uV", channel: str = "pfm") -> None:
        self.plan = plan or CalibrationPlan()
        self.rate, self.start_s, self.unit, self.channel = float(rate), float(start_s), unit, channel
        self._phases = self.plan.phases()
        self._rest: list[np.ndarray] = []
        self._efforts: dict[int, list[np.ndarray]] = {i: [] for i in range(1, self.plan.efforts + 1)}
        self._last_t = -math.inf
        self._done = False

    @property
    def phases(self) -> list[Phase]:
        return list(self._phases)

    def phase_at(self, t_s: float) -> Phase | None:
        """The phase at stream time ``t_s`` (``None`` before the start or after the end)."""
        rel = t_s - self.start_s
        for ph in self._phases:
            if ph.start_s <= rel < ph.end_s:
                return ph
        return None

    def effort_at(self, t_s):
        """Target effort 0..1 for a simulated patient following the cues (the sim's script; float or array)."""
        t = np.asarray(t_s, dtype=np.float64) - self.start_s
        on = np.zeros(t.shape, dtype=bool)
        for ph in self._phases:
            if ph.kind == "contract":
                on |= (t >= ph.start_s) & (t < ph.end_s)
        out = np.where(on, self.plan.sim_max_effort, 0.0)
        return float(out) if out.ndim == 0 else out

    def progress(self, t_s: float) -> float:
        return float(np.clip((t_s - self.start_s) / self.plan.duration_s, 0.0, 1.0))

    def feed(self, t: np.ndarray, envelope: np.ndarray) -> None:
        """Collect envelope samples (1-D, one channel) at stream times ``t``."""
        t = np.asarray(t, dtype=np.float64)
        env = np.asarray(envelope, dtype=np.float64).ravel()
        new = t > self._last_t
        if not new.any():
            return
        t, env = t[new], env[new]
        self._last_t = float(t[-1])
        rel = t - self.start_s
        p = self.plan
        rest = (rel >= p.rest_skip_s) & (rel < p.rest_s)
        if rest.any():
            self._rest.append(env[rest])
        for ph in self._phases:
            if ph.kind == "contract":
                sel = (rel >= ph.start_s) & (rel < ph.end_s + self.EFFORT_TAIL_S)
                if sel.any():
                    self._efforts[ph.effort].append(env[sel])
        if rel[-1] >= p.duration_s:
            self._done = True

    @property
    def done(self) -> bool:
        return self._done

    def result(self) -> Calibration:
        if not self._done:
            raise ValueError("calibration is not finished yet")
        rest = np.concatenate(self._rest) if self._rest else np.empty(0)
        efforts = [np.concatenate(v) for v in self._efforts.values() if v]
        return calibrate(rest, efforts, self.rate, unit=self.unit, channel=self.channel)
