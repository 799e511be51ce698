"""Robust resting statistics and clinical amplitude windows (numpy only, no state, no Qt).

Why: at a resting tone of 2-6 µV one motion spike or a cable tug changes the plain mean and SD
markedly (one 8 ms 250 µV spike in a 60 s baseline makes the SD 15x too large). Clinical
statistics therefore come from

* **0.5-1 s RMS windows** (the clinical norm), not the 200 ms display envelope: a window's level is
  the RMS of the band-passed EMG over it when that signal is at hand, else ``sqrt(mean(env**2))`` of
  the envelope (an RMS-only device), or the plain mean for pressure;
* **artefact-free stretches**: a window is left out when a raw-signal spike (a band-passed sample
  beyond :data:`SPIKE_SDS` robust SDs) falls in it or just before it (the envelope smears a spike
  over its own window), or when its level lies more than :data:`REJECT_MADS` robust spreads
  (median absolute deviation, scaled to an SD) above the median of the stretch. The seconds left out
  are reported beside the figures.

The release *criterion* (back to her resting level) is tested on the display envelope, so its spread is
the spread of that envelope over the same clean windows (:attr:`RobustRest.envelope_sd`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Length of one statistics window (the clinical norm is 0.5-1 s).
STAT_WINDOW_S = 0.5
#: A window whose level lies this many robust SDs above the stretch's median is an artefact.
REJECT_MADS = 5.0
#: The robust spread is never taken as less than this share of the median (a very steady signal
#: would otherwise reject its own ordinary wobble).
MIN_SPREAD_SHARE = 0.1
#: A band-passed sample beyond this many robust SDs is a spike (Gaussian noise never gets there).
SPIKE_SDS = 8.0
#: A spike spoils the envelope for this long after it (RMS window plus filter ringing).
SPIKE_SMEAR_S = 0.3
MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class RobustRest:
    """Resting figures from the clean windows of one or more stretches."""

    mean: float | None           # mean of the clean windows' levels (resting tone)
    sd: float | None             # SD of the clean windows' levels (resting variability)
    cv_pct: float | None
    envelope_mean: float | None  # mean of the display envelope over the clean windows
    envelope_sd: float | None    # SD of the display envelope over the clean windows (release criterion)
    excluded_s: float            # seconds left out as artefacts
    n_windows: int               # clean windows used

    @classmethod
    def empty(cls) -> RobustRest:
        return cls(None, None, None, None, None, 0.0, 0)


def _bounds(rate: float, n: int, start_s: float, end_s: float, window_s: float) -> np.ndarray:
    """Sample index of each whole window's start from ``start_s`` to ``end_s`` (a short tail is dropped)."""
    w = max(1, int(round(window_s * rate)))
    a = int(min(max(round(start_s * rate), 0), n))
    b = int(min(max(round(end_s * rate), 0), n))
    count = (b - a) // w
    return a + w * np.arange(count)


def _window_sums(x: np.ndarray, starts: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(sum of finite values, count of finite values) over each window ``[start, start + w)``."""
    if starts.size == 0:
        return np.empty(0), np.empty(0)
    seg = x[starts[0]:starts[-1] + w]
    ok = np.isfinite(seg)
    vals = np.where(ok, seg, 0.0).reshape(-1, w)
    return vals.sum(axis=1), ok.reshape(-1, w).sum(axis=1)


def window_levels(rate: float, start_s: float, end_s: float, envelope: np.ndarray,
                  filtered: np.ndarray | None = None, rms: bool = True,
                  window_s: float = STAT_WINDOW_S) -> tuple[np.ndarray, np.ndarray]:
    """(levels, start sample of each window) over ``window_s`` windows from ``start_s`` to ``end_s``.

    Level: RMS of ``filtered`` when given, else ``sqrt(mean(envelope**2))`` (``rms``) or the envelope's
    mean (pressure). A window with less than half of its samples present is NaN.
    """
    src = filtered if filtered is not None else envelope
    w = max(1, int(round(window_s * rate)))
    starts = _bounds(rate, len(src), start_s, end_s, window_s)
    if starts.size == 0:
        return np.empty(0), starts
    x = np.asarray(src[starts[0]:starts[-1] + w], dtype=np.float64)   # only the stretch, not the recording
    sums, counts = _window_sums(x * x if (rms or filtered is not None) else x, starts - starts[0], w)
    with np.errstate(invalid="ignore", divide="ignore"):
        levels = np.where(counts >= w / 2, sums / np.maximum(counts, 1), np.nan)
    if rms or filtered is not None:
        levels = np.sqrt(levels)
    return levels, starts


def has_signal(filtered: np.ndarray | None) -> bool:
    """True when a band-passed signal is really there (not None, not all zero)."""
    if filtered is None or filtered.size == 0:
        return False
    sample = np.concatenate([filtered[:4096], filtered[-4096:]])   # its ends: cheap on a long recording
    return bool(np.nanmax(np.abs(sample)) > 0) if np.isfinite(sample).any() else False


def spike_windows(filtered: np.ndarray, rate: float, starts: np.ndarray, window_s: float = STAT_WINDOW_S,
                  smear_s: float = SPIKE_SMEAR_S) -> np.ndarray:
    """True for each window holding, or following within ``smear_s``, a raw-signal spike."""
    w = max(1, int(round(window_s * rate)))
    bad = np.zeros(starts.size, dtype=bool)
    if starts.size == 0:
        return bad
    smear = int(round(smear_s * rate))
    a = max(0, int(starts[0]) - smear)
    seg = np.asarray(filtered[a:int(starts[-1]) + w], dtype=np.float64)
    fin = seg[:: max(1, seg.size // 5000)]   # the spread from about 5000 samples: plenty, and cheap
    fin = fin[np.isfinite(fin)]
    if fin.size < 16:
        return bad
    med = float(np.median(fin))
    sd = MAD_TO_SD * float(np.median(np.abs(fin - med)))
    if sd <= 0:
        return bad
    with np.errstate(invalid="ignore"):
        spikes = np.flatnonzero(np.abs(seg - med) > SPIKE_SDS * sd) + a
    for s in spikes:  # a window is spoiled from the spike to smear_s after it
        lo = np.searchsorted(starts, s - w, side="right")
        hi = np.searchsorted(starts, s + smear, side="right")
        bad[lo:hi] = True
    return bad


def outlier_windows(levels: np.ndarray, already_bad: np.ndarray | None = None) -> np.ndarray:
    """True for windows far above the median of the others (median/MAD rule), and for missing ones."""
    bad = ~np.isfinite(levels)
    if already_bad is not None:
        bad |= already_bad
    ok = levels[~bad]
    if ok.size < 3:
        return bad
    med = float(np.median(ok))
    spread = max(MAD_TO_SD * float(np.median(np.abs(ok - med))), MIN_SPREAD_SHARE * abs(med))
    with np.errstate(invalid="ignore"):
        return bad | (levels > med + REJECT_MADS * spread)


def robust_rest(rate: float, stretches: list[tuple[float, float]], envelope: np.ndarray,
                filtered: np.ndarray | None = None, rms: bool = True,
                window_s: float = STAT_WINDOW_S) -> RobustRest:
    """Resting figures pooled over ``stretches`` ((start_s, end_s) pairs), artefact windows left out."""
    use_filtered = filtered if has_signal(filtered) else None
    levels_all, excluded = [], 0.0
    w = max(1, int(round(window_s * rate)))
    total = total_sq = count = 0.0
    for a, b in stretches:
        levels, starts = window_levels(rate, a, b, envelope, use_filtered, rms, window_s)
        spikes = spike_windows(use_filtered, rate, starts, window_s) if use_filtered is not None else None
        bad = outlier_windows(levels, spikes)
        excluded += float(bad.sum()) * window_s
        levels_all.append(levels[~bad])
        if starts.size and (~bad).any():   # the display envelope over the clean windows: sums per window
            env = np.asarray(envelope[starts[0]:starts[-1] + w], dtype=np.float64)
            s1, n1 = _window_sums(env, starts - starts[0], w)
            s2, _ = _window_sums(env * env, starts - starts[0], w)
            total += float(s1[~bad].sum())
            total_sq += float(s2[~bad].sum())
            count += float(n1[~bad].sum())
    levels = np.concatenate(levels_all) if levels_all else np.empty(0)
    if levels.size == 0:
        return RobustRest(None, None, None, None, None, excluded, 0)
    mean = float(levels.mean())
    sd = float(levels.std(ddof=1)) if levels.size > 1 else 0.0
    env_mean = total / count if count else None
    env_sd = (float(np.sqrt(max(0.0, (total_sq - count * env_mean ** 2) / (count - 1))))
              if env_mean is not None and count > 1 else None)
    return RobustRest(mean, sd, 100.0 * sd / mean if mean > 0 else None, env_mean, env_sd, excluded,
                      int(levels.size))


def work_level(rate: float, start_s: float, end_s: float, envelope: np.ndarray,
               filtered: np.ndarray | None = None, rms: bool = True,
               window_s: float = STAT_WINDOW_S) -> float | None:
    """Mean of the ``window_s`` levels over a stretch (a contraction's work mean; no rejection)."""
    use_filtered = filtered if has_signal(filtered) else None
    levels, _ = window_levels(rate, start_s, end_s, envelope, use_filtered, rms, window_s)
    if not np.isfinite(levels).any():
        # a stretch shorter than one window: its own level
        levels, _ = window_levels(rate, start_s, end_s, envelope, use_filtered, rms, max(end_s - start_s, 1.0 / rate))
    ok = levels[np.isfinite(levels)]
    return float(ok.mean()) if ok.size else None


def _moving_level(x: np.ndarray, w: int, rms: bool) -> np.ndarray:
    """Moving mean (of squares with ``rms``) over ``w`` samples; windows less than half present are NaN."""
    ok = np.isfinite(x)
    vals = np.where(ok, x * x if rms else x, 0.0)
    c = np.concatenate(([0.0], np.cumsum(vals)))
    k = np.concatenate(([0], np.cumsum(ok)))
    sums, counts = c[w:] - c[:-w], k[w:] - k[:-w]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(counts > w // 2, sums / np.maximum(counts, 1), np.nan)
    return np.sqrt(out) if rms else out


def _expected_max_z(n: float) -> float:
    """Expected largest of ``n`` independent standard normal values (Blom's approximation).

    ``ndtri`` is the normal quantile without ``scipy.stats``' per-call checks (once per squeeze).
    """
    from scipy.special import ndtri
    if n <= 1:
        return 0.0
    return float(ndtri((n - 0.375) / (n + 0.25)))


def _relative_noise(src: np.ndarray, rate: float, stretch: tuple[float, float], w: int) -> float | None:
    """Relative SD of a ``w``-sample RMS level over ``stretch``, from successive differences (slow drift drops out).

    With eight or more whole windows, from those windows' levels; else from 0.25 s powers scaled by
    sqrt(0.25 s / window).
    """
    na, nb = (int(min(max(round(t * rate), 0), len(src))) for t in stretch)
    work = np.asarray(src[na:nb], dtype=np.float64)
    sub = w if work.size // w >= 8 else max(1, int(round(0.25 * rate)))
    m = work.size // sub
    if m < 4:
        return None
    powers = np.nanmean((work[:m * sub] ** 2).reshape(m, sub), axis=1)
    powers = powers[np.isfinite(powers)]
    if powers.size < 4 or powers.mean() <= 0:
        return None
    rel_power_sd = float(np.std(np.diff(powers)) / np.sqrt(2.0) / powers.mean())
    return 0.5 * rel_power_sd * float(np.sqrt(sub / w))


def peak_level(rate: float, start_s: float, end_s: float, envelope: np.ndarray,
               filtered: np.ndarray | None = None, rms: bool = True, window_s: float = 1.0,
               noise_from: tuple[float, float] | None = None) -> float | None:
    """Highest ``window_s`` level from ``start_s`` to ``end_s``, corrected for the noise of the estimate.

    The highest of many noisy windows is biased upward (on a 250 Hz device a 1 s RMS window of a steady
    squeeze wanders about 5 %, so its maximum reads 6-10 % high). With the band-passed signal at hand, the
    window's own relative noise is measured over ``noise_from`` (the settled work), and the expected
    excess of the maximum of that many windows is divided out.
    """
    use_filtered = filtered if has_signal(filtered) else None
    src = use_filtered if use_filtered is not None else envelope
    a = int(min(max(round(start_s * rate), 0), len(src)))
    b = int(min(max(round(end_s * rate), 0), len(src)))
    seg = np.asarray(src[a:b], dtype=np.float64)
    if not np.isfinite(seg).any():
        return None
    w = int(max(1, min(round(window_s * rate), seg.size)))
    # the moving window steps in blocks of about 5 ms (the peak moves by far less than the window)
    block = max(1, min(int(rate // 200), w))
    m = seg.size // block
    squares = rms or use_filtered is not None
    vals = seg[:m * block] ** 2 if squares else seg[:m * block]
    if block > 1:
        ok = np.isfinite(vals).reshape(m, block)
        n_ok = ok.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            blocks = np.where(n_ok > 0, np.where(ok, vals.reshape(m, block), 0.0).sum(axis=1) / np.maximum(n_ok, 1),
                              np.nan)
    else:
        blocks = vals
    levels = _moving_level(blocks, max(1, w // block), False)
    if squares:
        levels = np.sqrt(levels)
    if not np.isfinite(levels).any():
        return None
    peak = float(np.nanmax(levels))
    if use_filtered is None or noise_from is None:
        return peak
    rel_amp_sd = _relative_noise(src, rate, noise_from, w)
    if rel_amp_sd is None:
        return peak
    contenders = int(np.sum(levels >= peak / (1.0 + 3.0 * rel_amp_sd))) * block
    # a moving window's maximum over L seconds behaves like the highest of about 1 + 5 (L/T - 1)
    # independent draws (measured on band-limited noise at 250 Hz and 2 kHz, L/T from 1.5 to 60)
    n_draws = 1.0 + 5.0 * max(0.0, contenders / w - 1.0)
    return peak / (1.0 + rel_amp_sd * _expected_max_z(n_draws))
