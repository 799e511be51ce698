"""Signal quality: flat line, clipping, mains hum, motion artefacts and noise floor -> a traffic light.

Why: at a resting tone of a few µV a loose electrode, a saturated amplifier or a little hum make every
later figure wrong, so the check runs before calibration and in the status bar, and its verdict is
stored in the recording's meta (``"quality"``) for the reports. The verdict is one of ``green`` /
``amber`` / ``red`` with ONE plain sentence saying what matters most and what to do.

Rules (first match decides the sentence; the colour is the worst found):

* red   - flat line: the raw signal barely moves (SD under :data:`FLAT_UV`) or repeats the same value
          in most samples; clipping: over :data:`CLIP_SHARE` of samples sit at the extremes;
* amber - mains hum present (:mod:`biofeedback.signal.hum`); motion artefacts more than
          :data:`ARTEFACTS_PER_MIN` a minute (raw spikes or windows far above the median level);
          a noise floor above :data:`NOISE_FLOOR_HIGH_UV`;
* green - none of these.

The noise floor is the quietest 0.5 s RMS of the band-passed signal (the 5th percentile of windows):
with the muscle at rest this is the lowest figure the equipment can show, so no release target may
sit under it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from biofeedback.signal import hum as hum_mod
from biofeedback.signal import rest as rest_mod

FLAT_UV = 0.02
CLIP_SHARE = 0.002
ARTEFACTS_PER_MIN = 2.0
NOISE_FLOOR_HIGH_UV = 20.0
_ORDER = {"green": 0, "amber": 1, "red": 2}


@dataclass(frozen=True)
class Quality:
    light: str                      # green | amber | red
    sentence: str
    flat: bool = False
    clipping_pct: float = 0.0
    hum_uv: float = 0.0
    mains_hz: float | None = None
    hum_detected: bool = False
    artefacts_per_min: float = 0.0
    noise_floor_uv: float | None = None
    problems: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        return {"light": self.light, "sentence": self.sentence, "flat": self.flat,
                "clipping_pct": round(self.clipping_pct, 3), "hum_uv": round(self.hum_uv, 3),
                "mains_hz": self.mains_hz, "hum_detected": self.hum_detected,
                "artefacts_per_min": round(self.artefacts_per_min, 2),
                "noise_floor_uv": None if self.noise_floor_uv is None else round(self.noise_floor_uv, 3),
                "problems": list(self.problems)}


def is_flat(raw: np.ndarray) -> bool:
    x = raw[np.isfinite(raw)]
    if x.size < 8:
        return True
    return bool(np.std(x) < FLAT_UV or np.mean(np.diff(x) == 0) > 0.5)


def clipping_pct(raw: np.ndarray) -> float:
    """Share (%) of samples sitting at the stretch's extreme values when those repeat (a saturated input)."""
    x = raw[np.isfinite(raw)]
    if x.size < 8:
        return 0.0
    lo, hi = float(x.min()), float(x.max())
    if hi <= lo:
        return 0.0
    at = (x >= hi) | (x <= lo)
    count = int(at.sum())
    return 100.0 * count / x.size if count > 2 else 0.0


def noise_floor(filtered: np.ndarray, rate: float) -> float | None:
    """The quietest 0.5 s RMS of a band-passed stretch (its 5th percentile)."""
    levels, _ = rest_mod.window_levels(rate, 0.0, len(filtered) / rate, filtered, filtered)
    ok = levels[np.isfinite(levels)]
    return float(np.percentile(ok, 5)) if ok.size else None


def artefact_count(filtered: np.ndarray, rate: float) -> int:
    """Motion artefacts: runs of spoiled windows (raw spikes or levels far above the median)."""
    levels, starts = rest_mod.window_levels(rate, 0.0, len(filtered) / rate, filtered, filtered)
    bad = rest_mod.outlier_windows(levels, rest_mod.spike_windows(filtered, rate, starts))
    bad &= np.isfinite(levels)
    return int(np.sum(bad[1:] & ~bad[:-1]) + (1 if bad.size and bad[0] else 0))


def judge(flat: bool, clip_pct: float, hum: hum_mod.HumEstimate, artefacts_per_min: float,
          floor_uv: float | None) -> Quality:
    """The traffic light and its one sentence from the measured parts."""
    found: list[tuple[str, str, str]] = []
    if flat:
        found.append(("red", "flat", "No signal is coming through: check that the sensor is connected "
                                     "and switched on."))
    if clip_pct > 100 * CLIP_SHARE:
        found.append(("red", "clipping", "The signal is too strong for the input and gets cut off: "
                                         "check the electrodes and the device's gain."))
    if hum.detected:
        found.append(("amber", "hum", f"Mains hum of {hum.total_uv:.1f} µV: check the reference electrode and cables, "
                                      f"or turn on the {hum.mains_hz:g} Hz notch."))
    if artefacts_per_min > ARTEFACTS_PER_MIN:
        found.append(("amber", "motion", "Movement or cable knocks disturb the signal: settle the cable and "
                                         "stay still while resting."))
    if floor_uv is not None and floor_uv > NOISE_FLOOR_HIGH_UV:
        found.append(("amber", "noise", f"The quietest signal is {floor_uv:.1f} µV, which is high: check the skin "
                                        "contact of the electrodes."))
    if not found:
        light, sentence = "green", "The signal looks clean."
    else:
        light = max((f[0] for f in found), key=_ORDER.__getitem__)
        sentence = next(f[2] for f in found if f[0] == light)
    return Quality(light, sentence, flat, clip_pct, hum.total_uv, hum.mains_hz, hum.detected, artefacts_per_min,
                   floor_uv, tuple(f[1] for f in found))


def assess(raw: np.ndarray, filtered: np.ndarray | None, rate: float) -> Quality:
    """Quality of one channel's stretch (raw and band-passed, 1-D, µV)."""
    raw = np.asarray(raw, dtype=np.float64).ravel()
    flat = is_flat(raw)
    clip = clipping_pct(raw)
    hum = hum_mod.estimate(raw, rate)
    per_min = floor = None
    if filtered is not None and not flat:
        f = np.asarray(filtered, dtype=np.float64).ravel()
        minutes = max(len(f) / rate / 60.0, 1e-9)
        per_min = artefact_count(f, rate) / minutes if len(f) / rate >= 5.0 else 0.0
        floor = noise_floor(f, rate)
    return judge(flat, clip, hum, per_min or 0.0, floor)


class QualityMeter:
    """Live quality: one cheap look per second per channel (hum via :class:`~biofeedback.signal.hum.HumMeter`).

    Feed raw and band-passed blocks of the same samples; :meth:`quality` gives the verdict over about the
    last :attr:`memory_s` seconds. With ``hum_on_filtered`` the hum is measured on the band-passed signal
    (what the view shows), so a live notch makes the warning go away; flat line and clipping stay on raw.
    """

    def __init__(self, rate: float, n_channels: int, memory_s: float = 10.0, hum_on_filtered: bool = False) -> None:
        self.rate = float(rate)
        self.hum_on_filtered = hum_on_filtered
        self.hum = hum_mod.HumMeter(rate, n_channels)
        self._n = max(8, int(round(rate)))
        self._memory = max(1, int(memory_s))
        self._raw: list[list[float]] = [[] for _ in range(n_channels)]
        self._flat: list[list[bool]] = [[] for _ in range(n_channels)]
        self._clip: list[list[float]] = [[] for _ in range(n_channels)]
        self._levels: list[list[float]] = [[] for _ in range(n_channels)]
        self._spikes: list[list[bool]] = [[] for _ in range(n_channels)]
        self._buf_raw = np.zeros((self._n, n_channels))
        self._buf_f = np.zeros((self._n, n_channels))
        self._fill = 0
        self._seconds = 0
        self._cached: tuple | None = None

    def feed(self, raw: np.ndarray, filtered: np.ndarray) -> None:
        raw = np.asarray(raw, dtype=np.float64).reshape(len(raw), -1)
        filtered = np.asarray(filtered, dtype=np.float64).reshape(len(filtered), -1)
        self.hum.feed(filtered if self.hum_on_filtered else raw)
        i = 0
        while i < raw.shape[0]:
            take = min(self._n - self._fill, raw.shape[0] - i)
            self._buf_raw[self._fill:self._fill + take] = raw[i:i + take]
            self._buf_f[self._fill:self._fill + take] = filtered[i:i + take]
            self._fill += take
            i += take
            if self._fill == self._n:
                self._second()
                self._fill = 0

    def _second(self) -> None:
        self._seconds += 1
        for c in range(self._buf_raw.shape[1]):
            r, f = self._buf_raw[:, c], self._buf_f[:, c]
            ok = np.isfinite(f)
            level = float(np.sqrt(np.mean(f[ok] ** 2))) if ok.any() else np.nan
            med = float(np.median(np.abs(f[ok]))) if ok.any() else 0.0
            limit = rest_mod.SPIKE_SDS * rest_mod.MAD_TO_SD * med
            spike = bool(ok.any() and med > 0 and np.max(np.abs(f[ok])) > limit)
            for store, value in ((self._flat, is_flat(r)), (self._clip, clipping_pct(r)), (self._levels, level),
                                 (self._spikes, spike)):
                store[c].append(value)  # type: ignore[arg-type]
                del store[c][:-self._memory]

    @property
    def seconds(self) -> int:
        """Whole seconds looked at so far (the verdict can change only when this grows)."""
        return self._seconds

    def quality(self, channel: int = 0) -> Quality | None:
        """The verdict for ``channel`` (None until one second has been seen); it changes once a second."""
        if not self._levels[channel]:
            return None
        key = (channel, self._seconds, self.hum.estimates[channel])
        if self._cached is not None and self._cached[0] == key:
            return self._cached[1]
        verdict = self._judge(channel)
        self._cached = (key, verdict)
        return verdict

    def _judge(self, channel: int) -> Quality:
        levels = np.array(self._levels[channel])
        bad = rest_mod.outlier_windows(levels, np.array(self._spikes[channel]))
        per_min = 60.0 * float(bad.sum()) / len(levels)
        ok = levels[np.isfinite(levels)]
        floor = float(np.min(ok)) if ok.size else None
        return judge(all(self._flat[channel][-2:]), float(np.mean(self._clip[channel])),
                     self.hum.estimates[channel], per_min, floor)
