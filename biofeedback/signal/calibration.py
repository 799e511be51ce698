"""Calibration and target bands (Qt-free).

A calibration has two parts, both measured on the amplitude envelope of one
channel (µV RMS for EMG, cmH2O for pressure):

* a **rest baseline**: mean and standard deviation of the envelope over a quiet
  rest of about 30-60 s (the first seconds are skipped while the patient settles);
* a **maximum voluntary contraction (MVC)**: three efforts of about 5 s; each
  effort's peak is the highest value of a 0.5 s moving mean of the envelope, and
  the MVC is the best of them.

Default bands follow the clinic: contraction 40-70 % of MVC, release at or below
resting tone + 2 SD. :class:`Bands` keeps absolute values in the channel's unit
and converts to and from %MVC.

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

DEFAULT_CONTRACTION_PCT = (40.0, 70.0)
DEFAULT_RELEASE_SD = 2.0
PEAK_WINDOW_S = 0.5


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
            raise ValueError("no maximum voluntary contraction known: calibrate first or enter values in absolute units")
        return 100.0 * (float(value) - self.zero) / (self.mvc - self.zero)

    def from_percent(self, pct: float) -> float:
        """%MVC -> absolute value in the channel's unit."""
        if self.mvc is None:
            raise ValueError("no maximum voluntary contraction known: calibrate first or enter values in absolute units")
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


def rest_baseline(envelope: np.ndarray, rate: float, skip_s: float = 0.0) -> RestBaseline:
    """Mean and SD of an envelope stretch (NaN samples ignored), skipping its first ``skip_s`` seconds."""
    env = np.asarray(envelope, dtype=np.float64).ravel()[int(round(skip_s * rate)):]
    good = env[np.isfinite(env)]
    if good.size < 2:
        raise ValueError("not enough rest samples for a baseline (the signal was missing); repeat the rest phase")
    return RestBaseline(mean=float(good.mean()), sd=float(good.std(ddof=1)), duration_s=good.size / rate)


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

    def default_bands(self, contraction_pct: tuple[float, float] = DEFAULT_CONTRACTION_PCT,
                      release_sd: float = DEFAULT_RELEASE_SD) -> Bands:
        """Contraction ``contraction_pct`` of MVC, release at or below rest mean + ``release_sd`` SD.

        For pressure the percentages are of the squeeze above resting pressure."""
        lo, hi = contraction_pct
        zero = self.rest_mean if self.unit == "cmH2O" else 0.0
        span = self.mvc - zero
        return Bands(contraction_low=zero + lo * span / 100.0, contraction_high=zero + hi * span / 100.0,
                     release_high=self.rest_mean + release_sd * self.rest_sd, unit=self.unit,
                     mvc=self.mvc, channel=self.channel, zero=zero)

    def to_dict(self) -> dict[str, Any]:
        return {"rest_mean": self.rest_mean, "rest_sd": self.rest_sd, "mvc": self.mvc,
                "effort_peaks": list(self.effort_peaks), "unit": self.unit, "channel": self.channel,
                "rest_duration_s": self.rest_duration_s, "created_at": self.created_at}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibration:
        return cls(rest_mean=float(d["rest_mean"]), rest_sd=float(d["rest_sd"]), mvc=float(d["mvc"]),
                   effort_peaks=[float(x) for x in d.get("effort_peaks", [])], unit=str(d.get("unit", "uV")),
                   channel=str(d.get("channel", "pfm")), rest_duration_s=float(d.get("rest_duration_s", 0.0)),
                   created_at=str(d.get("created_at", "")))


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
                       channel=channel, rest_duration_s=base.duration_s)


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
