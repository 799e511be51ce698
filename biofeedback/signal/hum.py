"""Mains hum: the 50/60 Hz line and its harmonics measured against the neighbouring spectrum (numpy only).

Why: at a resting tone of 2 µV, 1 µV RMS of hum reads as +11 % (the envelope is sqrt(rest² + hum²)).
A notch removes real EMG too, so SENIAM/ISEK advise one only when hum is present: this module says
whether it is, how much (µV RMS), and at which mains frequency.

Method: Hann-windowed spectra of 1 s segments (1 Hz bins) are averaged (offline over the quieter half
of the segments, where the muscle rests and the line stands out best); the power in the three bins
around each line (the fundamental and harmonics up to 0.9 x Nyquist, at most the 5th) minus what the
neighbouring bins (2-6 Hz away on both sides, median) predict there is the hum's power. Hum counts as
*present* when the fundamental's RMS reaches :data:`DETECT_UV` and stands at least
:data:`DETECT_RATIO` times above the neighbours' power in the same bins.

:class:`HumMeter` does the same live, one 1 s segment at a time (a single FFT per second per channel:
far below 1 % of a core).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Hum below this RMS (µV) is not worth a notch.
DETECT_UV = 0.3
#: ... and the line must stand this many times above the neighbouring spectrum.
DETECT_RATIO = 1.5
MAINS = (50.0, 60.0)
MAX_HARMONIC = 5
#: Offline: at most this many 1 s segments, spread evenly over the recording.
MAX_SEGMENTS = 120


@dataclass(frozen=True)
class HumEstimate:
    """Hum of one channel: fundamental and total (with harmonics) RMS, in the channel's unit."""

    mains_hz: float | None       # the mains frequency that fits best (None: not measurable)
    fundamental_uv: float
    total_uv: float
    ratio: float                 # fundamental line power / neighbours' power in the same bins
    harmonics_uv: tuple[float, ...] = ()

    @property
    def detected(self) -> bool:
        return self.mains_hz is not None and self.fundamental_uv >= DETECT_UV and self.ratio >= DETECT_RATIO

    def to_dict(self) -> dict:
        return {"mains_hz": self.mains_hz, "hum_uv": round(self.total_uv, 3),
                "fundamental_uv": round(self.fundamental_uv, 3), "detected": self.detected,
                "ratio": round(self.ratio, 1)}


NO_HUM = HumEstimate(None, 0.0, 0.0, 0.0)


def _spectra(segments: np.ndarray) -> np.ndarray:
    """One-sided power per 1 Hz bin of each of (k, n) segments, scaled so a bin sum is a variance."""
    n = segments.shape[1]
    win = np.hanning(n)
    seg = segments - segments.mean(axis=1, keepdims=True)
    spec = np.abs(np.fft.rfft(seg * win, axis=1)) ** 2
    spec[:, 1:] *= 2.0
    return spec / (n * np.sum(win ** 2))


def _spectrum(segments: np.ndarray) -> np.ndarray:
    return _spectra(segments).mean(axis=0)


def quiet_spectrum(segments: np.ndarray) -> np.ndarray:
    """Mean spectrum of the quieter half of the segments: hum stays while contractions come and go,
    so it stands out best where the muscle rests."""
    spec = _spectra(segments)
    power = spec.sum(axis=1)
    keep = power <= np.median(power)
    return spec[keep].mean(axis=0)


def _line(power: np.ndarray, f: float, df: float) -> tuple[float, float]:
    """(excess power of the line at ``f``, neighbours' power in the same bins)."""
    k = int(round(f / df))
    if k + 7 >= power.size or k - 7 < 1:
        return 0.0, 0.0
    line = power[k - 1:k + 2].sum()
    neighbours = np.r_[power[k - 6:k - 1], power[k + 2:k + 7]]
    floor = 3.0 * float(np.median(neighbours))
    return max(0.0, float(line) - floor), floor


def estimate_from_power(power: np.ndarray, df: float, rate: float, mains_hz: float | None = None) -> HumEstimate:
    """Hum from an averaged spectrum (1 Hz bins best); ``mains_hz`` None tries 50 and 60 Hz."""
    best = NO_HUM
    for f0 in (mains_hz,) if mains_hz else MAINS:
        if f0 is None or f0 >= 0.45 * rate:
            continue
        excess, floor = _line(power, f0, df)
        harmonics = []
        for h in range(2, MAX_HARMONIC + 1):
            if h * f0 >= 0.45 * rate:
                break
            harmonics.append(float(np.sqrt(_line(power, h * f0, df)[0])))
        total = float(np.sqrt(excess + sum(x * x for x in harmonics)))
        ratio = excess / floor if floor > 0 else (np.inf if excess else 0.0)
        est = HumEstimate(f0, float(np.sqrt(excess)), total, ratio, tuple(harmonics))
        if est.fundamental_uv > best.fundamental_uv or best.mains_hz is None:
            best = est
    return best


def estimate(x: np.ndarray, rate: float, mains_hz: float | None = None,
             max_segments: int = MAX_SEGMENTS) -> HumEstimate:
    """Hum in a stretch of raw signal (1-D); NaN segments are skipped.

    ``x`` may be anything sliced like a 1-D array with ``ndim`` and ``size`` (a channel read from the
    file stretch by stretch): only the chosen one-second segments are read.
    """
    x = x if hasattr(x, "ndim") and hasattr(x, "size") else np.asarray(x)
    if x.ndim > 1:
        x = x.reshape(-1) if x.size == x.shape[0] else x[:, 0]
    n = int(round(rate))   # only the chosen segments are copied (never the whole recording)
    k = x.size // n
    if k == 0 or n < 32:
        return NO_HUM
    picks = np.unique(np.linspace(0, k - 1, min(k, max_segments)).astype(int))
    segs = np.stack([np.asarray(x[i * n:(i + 1) * n], dtype=np.float64) for i in picks])
    segs = segs[np.isfinite(segs).all(axis=1)]
    if segs.shape[0] == 0:
        return NO_HUM
    return estimate_from_power(quiet_spectrum(segs), rate / n, rate, mains_hz)


def notch_choice(choice: str | int | None, estimates: list[HumEstimate]) -> tuple[float | None, str]:
    """(notch Hz or None, reason) for ``--notch 50|60|auto|off`` and the hum measured on the channels."""
    text = "off" if choice is None else str(choice).strip().lower()
    if text in ("50", "60", "50.0", "60.0"):
        return float(text), f"notch at {float(text):g} Hz as asked"
    if text == "off":
        return None, "no notch (turned off)"
    if text != "auto":
        raise ValueError(f"notch must be 50, 60, auto or off, not {choice!r}")
    found = [e for e in estimates if e.detected]
    if not found:
        return None, "no notch: no mains hum stands out above the signal"
    worst = max(found, key=lambda e: e.fundamental_uv)
    return worst.mains_hz, f"notch at {worst.mains_hz:g} Hz: mains hum of {worst.total_uv:.2f} µV found"


class HumMeter:
    """Live hum estimate per channel: feed raw blocks; :attr:`estimates` updates once a second.

    Averages the spectra of the last :attr:`memory` seconds (exponentially) so a steady hum
    reads steadily while a contraction's burst does not hide it for long.
    """

    def __init__(self, rate: float, n_channels: int, mains_hz: float | None = None, memory: float = 4.0) -> None:
        self.rate, self.mains_hz = float(rate), mains_hz
        self._n = max(32, int(round(rate)))
        self._buf = np.zeros((self._n, n_channels))
        self._fill = 0
        self._alpha = 1.0 / max(1.0, memory)
        self._power: list[np.ndarray | None] = [None] * n_channels
        self.estimates: list[HumEstimate] = [NO_HUM] * n_channels

    def feed(self, block: np.ndarray) -> None:
        """Raw samples (n, channels) in the channel's unit."""
        x = np.asarray(block, dtype=np.float64)
        if x.ndim == 1:
            x = x[:, None]
        i = 0
        while i < x.shape[0]:
            take = min(self._n - self._fill, x.shape[0] - i)
            self._buf[self._fill:self._fill + take] = x[i:i + take]
            self._fill += take
            i += take
            if self._fill == self._n:
                self._update()
                self._fill = 0

    def _update(self) -> None:
        for c in range(self._buf.shape[1]):
            seg = self._buf[:, c]
            if not np.isfinite(seg).all():
                continue
            p = _spectrum(seg[None, :])
            old = self._power[c]
            new = p if old is None else (1 - self._alpha) * old + self._alpha * p
            self._power[c] = new
            self.estimates[c] = estimate_from_power(new, self.rate / self._n, self.rate, self.mains_hz)

    def warning(self, channel: int = 0) -> str | None:
        """A clear line with what to do, when hum is present on ``channel``."""
        e = self.estimates[channel]
        if not e.detected:
            return None
        return (f"mains hum {e.total_uv:.1f} µV ({e.mains_hz:g} Hz): check the reference electrode and cables, "
                f"or turn on the {e.mains_hz:g} Hz notch")
