"""Clinical measures from an amplitude envelope and step timings (pure functions, no state, no Qt).

Every function takes the envelope of one channel (µV for EMG, cmH2O for
pressure) as a 1-D array sampled at ``rate`` with sample 0 at time 0, and
times in seconds on that clock. NaN samples (lost data) are ignored.

Definitions (Glazer assessment, Nu-Tek conventions, downtraining criteria):

- Rest: mean, SD and coefficient of variation of the envelope over the rest
  period, leaving out its first second (the filter and the previous
  contraction settle).
- Work mean: mean of the 0.5 s RMS windows of the contraction step leaving out its first second
  (half the step when it is 2 s or shorter); peak: the highest 0.5-1 s RMS window (a quarter of the
  step, within those limits) from the cue until the step's end plus one second (the patient reacts late
  and the envelope lags, so a quick flick peaks after its cue ended), corrected for the upward bias of
  taking the highest of several noisy windows (:func:`biofeedback.signal.rest.peak_level`). With the
  band-passed EMG at hand these windows are RMS of that signal, not of the 200 ms display envelope.
- Onset latency: from the contract cue until the envelope first reaches 75 %
  of that trial's work mean.
- Release latency: from the rest cue until the envelope is at or below the release criterion
  (her resting level: the pre-baseline envelope's mean + 2 SD of that same envelope over artefact-free
  windows) and STAYS there for the dwell of :data:`RELEASE_DWELL_S` (0.5 s). The latency is the moment
  it entered; the dwell only confirms it (a 0.1 s dip of envelope noise is not letting go). The time
  to fall to 37.5 % of the trial's work mean is reported beside it, with the same dwell; when that level
  lies at or below her resting tone it can never be reached honestly and is reported as not applicable
  (flag ``release_37_not_applicable``). A trial that never gets there within its rest step gives
  ``None`` and a flag, never a number.
- Pressure (cmH2O) sits on the resting pressure of the inserted probe, so its contraction
  measures are taken on the rise above rest: pass the pre-baseline mean as ``baseline`` and the
  peak, work mean and endurance figures are the rise above it, onset is at rest + 75 % of the
  rise, the second release measure at rest + 37.5 % of the rise, and the endurance decline is the
  fade of the rise. EMG amplitude has no such offset: its ``baseline`` is 0 (the Nu-Tek figures).
- Latencies are read on the envelope itself, as the patient and the clinic's
  devices see it: a moving-RMS envelope lags the muscle by about half its
  window (0.1 s for the default 200 ms), and that lag is part of the figure
  (analysis reports it as ``envelope_delay_s``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import signal

from biofeedback.signal import rest as rest_mod

#: Onset: the envelope reaches this share of the trial's work mean.
ONSET_SHARE = 0.75
#: Second release measure: the envelope falls to this share of the trial's work mean.
RELEASE_SHARE = 0.375
#: Release band: at or below pre-baseline mean + this many SDs.
RELEASE_SDS = 2.0
#: A release slower than this is flagged (Nu-Tek flags trials over 2 s).
SLOW_RELEASE_S = 2.0
#: The envelope must stay at her resting level this long to count as released; the latency is the moment
#: it entered. A dip of the envelope's own noise (about 5-15 % at a 200 ms window) lasts about one
#: window, so 0.1 s still let slow releases read 0.6 s early and trials disagree; 0.5 s (2.5 windows)
#: does not, and a real release lasts far longer than that.
RELEASE_DWELL_S = 0.5
#: "Stays there" allows the envelope's own noise to touch the line for short moments: at least this share
#: of the dwell must be at or below it. A muscle still held at the line sits under it about half the time,
#: one held a little above it far less; with 0.6 slow releases are no longer read late by the noise.
RELEASE_DWELL_SHARE = 0.6
#: Leave this much of the start of a period out of its averages.
SETTLE_S = 1.0
#: How long after a contraction step ends its peak may still come (reaction delay plus envelope lag).
PEAK_GRACE_S = 1.0
#: The peak is the highest RMS window over half the step, between 0.5 and 1 s (statistics want
#: 0.5-1 s windows: the single highest sample of a 200 ms display envelope overstates a steady
#: contraction by 10-15 %).
PEAK_WINDOW_S = (0.5, 1.0)


def _index(t_s: float, rate: float, n: int) -> int:
    return int(min(max(round(t_s * rate), 0), n))


def window(x: np.ndarray, rate: float, start_s: float, end_s: float) -> np.ndarray:
    """The samples of ``x`` from ``start_s`` (inclusive) to ``end_s`` (exclusive)."""
    n = len(x)
    return x[_index(start_s, rate, n):_index(end_s, rate, n)]


def _finite(x: np.ndarray) -> np.ndarray:
    return x[np.isfinite(x)]


def _settle(duration_s: float, settle_s: float = SETTLE_S) -> float:
    """Time left out at the start of a period: one second, or half the period when it is short."""
    return min(settle_s, 0.5 * duration_s)


@dataclass(frozen=True)
class RestStats:
    mean: float | None
    sd: float | None
    cv_pct: float | None
    n: int


def rest_stats(env: np.ndarray, rate: float, start_s: float, end_s: float,
               settle_s: float = SETTLE_S) -> RestStats:
    """Mean, SD and coefficient of variation of a rest period (its first ``settle_s`` left out)."""
    seg = _finite(window(env, rate, start_s + _settle(end_s - start_s, settle_s), end_s))
    return stats_of(seg)


def stats_of(values: np.ndarray) -> RestStats:
    """Mean, SD and CV % of some envelope samples (None when there are none)."""
    seg = _finite(np.asarray(values, dtype=np.float64))
    if seg.size == 0:
        return RestStats(None, None, None, 0)
    mean = float(seg.mean())
    sd = float(seg.std(ddof=1)) if seg.size > 1 else 0.0
    cv = 100.0 * sd / mean if mean > 0 else None
    return RestStats(mean, sd, cv, int(seg.size))


def release_threshold(pre_mean: float, pre_sd: float, sds: float = RELEASE_SDS) -> float:
    """Top of the release band: pre-baseline mean + 2 SD."""
    return float(pre_mean + sds * pre_sd)


def first_crossing(env: np.ndarray, rate: float, from_s: float, until_s: float, level: float,
                   below: bool, dwell_s: float = 0.0, share: float = 1.0) -> float | None:
    """Seconds after ``from_s`` until the envelope is first at or below (``below``) / at or above ``level``
    and stays there for ``dwell_s`` (at least ``share`` of its samples; cut short by ``until_s``).

    The moment returned is the entry; the dwell only confirms it. None when it never gets there before
    ``until_s``. NaN samples never count as a crossing.
    """
    seg = window(env, rate, from_s, until_s)
    with np.errstate(invalid="ignore"):
        hit = seg <= level if below else seg >= level
    k = int(round(dwell_s * rate))
    if k > 1 and hit.size:
        # of the k samples from i on, enough are there; near the end a shorter stretch up to until_s counts
        padded = np.concatenate([hit, np.ones(k - 1, dtype=bool)]).astype(np.int32)
        c = np.concatenate(([0], np.cumsum(padded)))
        runs = (c[k:] - c[:-k])[:hit.size]
        hit = hit & (runs >= int(np.ceil(share * k - 1e-9)))
    idx = np.flatnonzero(hit)
    if idx.size == 0:
        return None
    first_sample = _index(from_s, rate, len(env)) + int(idx[0])
    return max(0.0, first_sample / rate - from_s)


def smoothed_peak(seg: np.ndarray, rate: float, window_s: float = 0.5) -> float | None:
    """Highest moving mean (over ``window_s``) of an envelope stretch; NaN samples left out."""
    seg = np.asarray(seg, dtype=np.float64)
    ok = np.isfinite(seg)
    if not ok.any():
        return None
    w = int(max(1, min(round(window_s * rate), seg.size)))
    vals = np.where(ok, seg, 0.0)
    csum = np.concatenate(([0.0], np.cumsum(vals)))
    ccount = np.concatenate(([0], np.cumsum(ok)))
    sums = csum[w:] - csum[:-w]
    counts = ccount[w:] - ccount[:-w]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > w // 2, sums / np.maximum(counts, 1), np.nan)
    return float(np.nanmax(means)) if np.isfinite(means).any() else float(seg[ok].max())


@dataclass(frozen=True)
class ContractionStats:
    peak: float | None
    work_mean: float | None
    onset_latency_s: float | None
    flags: tuple[str, ...] = ()


def contraction_stats(env: np.ndarray, rate: float, start_s: float, end_s: float,
                      next_end_s: float | None = None, baseline: float = 0.0,
                      filtered: np.ndarray | None = None, rms: bool = True) -> ContractionStats:
    """Peak, work mean (first second left out) and onset latency of one contraction step.

    Peak and work mean come from 0.5-1 s RMS windows (of ``filtered`` when given, else of the envelope;
    ``rms=False`` takes plain means, for pressure) and are measured above ``baseline`` (0 for EMG; the
    resting pressure for a pressure probe). Onset is when the envelope reaches ``baseline`` + 75 % of
    that work mean.
    """
    settled = start_s + _settle(end_s - start_s)
    if _finite(window(env, rate, settled, end_s)).size == 0:
        return ContractionStats(None, None, None, ("no_data", "gap"))
    level = rest_mod.work_level(rate, settled, end_s, env, filtered, rms)
    if level is None:
        return ContractionStats(None, None, None, ("no_data", "gap"))
    work_mean = level - baseline
    grace_end = end_s + PEAK_GRACE_S
    if next_end_s is not None:
        grace_end = min(grace_end, next_end_s)
    peak_window = min(PEAK_WINDOW_S[1], max(PEAK_WINDOW_S[0], (end_s - start_s) / 2.0))
    peak = rest_mod.peak_level(rate, start_s, grace_end, env, filtered, rms, peak_window, (settled, end_s))
    if peak is not None:
        peak -= baseline
    onset = None
    if work_mean > 0:  # no rise above rest: there is no contraction to time
        onset = first_crossing(env, rate, start_s, end_s, baseline + ONSET_SHARE * work_mean, below=False)
    flags: tuple[str, ...] = () if onset is not None else ("no_onset",)
    if np.isnan(window(env, rate, start_s, end_s)).any():
        flags += ("gap",)
    return ContractionStats(peak, work_mean, onset, flags)


@dataclass(frozen=True)
class ReleaseStats:
    release_latency_s: float | None
    release_37_latency_s: float | None
    flags: tuple[str, ...] = ()


def release_stats(env: np.ndarray, rate: float, start_s: float, end_s: float, threshold: float | None,
                  work_mean: float | None, baseline: float = 0.0, rest_level: float | None = None) -> ReleaseStats:
    """Release latency (to her resting level) and time to 37.5 % of the work mean, from the rest cue.

    ``work_mean`` is the trial's work mean above ``baseline`` (as :func:`contraction_stats` gives it); the
    second measure is the time to fall to ``baseline`` + 37.5 % of it, not applicable when that lies at or
    below ``rest_level`` (her resting tone). Both need the envelope to stay there for the dwell.
    """
    flags: list[str] = []
    latency = None
    if threshold is not None:
        latency = first_crossing(env, rate, start_s, end_s, threshold, below=True, dwell_s=RELEASE_DWELL_S,
                                 share=RELEASE_DWELL_SHARE)
        if latency is None:
            flags.append("not_released")
        elif latency > SLOW_RELEASE_S:
            flags.append("slow_release")
    seen_until = end_s if latency is None else start_s + latency
    if np.isnan(window(env, rate, start_s, seen_until + 1.0 / rate)).any():
        flags.append("gap_before_release")  # samples were lost before the release was seen: it may be late
    latency_37 = None
    if work_mean is not None and work_mean > 0:
        level_37 = baseline + RELEASE_SHARE * work_mean
        if rest_level is not None and level_37 <= rest_level:
            flags.append("release_37_not_applicable")
        else:
            latency_37 = first_crossing(env, rate, start_s, end_s, level_37, below=True, dwell_s=RELEASE_DWELL_S,
                                        share=RELEASE_DWELL_SHARE)
            if latency_37 is None:
                flags.append("not_below_37")
    return ReleaseStats(latency, latency_37, tuple(flags))


def release_37_reason(level_37: float, rest_level: float, unit: str = "µV") -> str:
    """Why the 37.5 % release is not applicable, in one line for the table and the reports."""
    return (f"37.5 % of the work mean ({level_37:.2f} {unit}) lies at or below the resting tone "
            f"({rest_level:.2f} {unit}), so it cannot be reached honestly")


def time_in_band_pct(env: np.ndarray, rate: float, start_s: float, end_s: float,
                     low: float | None, high: float | None) -> float | None:
    """Share of a step (in %) that the envelope spent inside ``[low, high]`` (either side may be open)."""
    seg = _finite(window(env, rate, start_s, end_s))
    if seg.size == 0 or (low is None and high is None):
        return None
    inside = np.ones(seg.size, dtype=bool)
    if low is not None:
        inside &= seg >= low
    if high is not None:
        inside &= seg <= high
    return 100.0 * float(inside.mean())


def median_frequency(x: np.ndarray, rate: float) -> float | None:
    """Median frequency (Hz) of a stretch of filtered EMG: half the power lies below it (Welch spectrum)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size < 16 or not np.all(np.isfinite(x)):
        return None
    nperseg = int(min(x.size, max(16, round(rate * 0.25))))
    f, pxx = signal.welch(x, fs=rate, nperseg=nperseg)
    cum = np.cumsum(pxx)
    if cum[-1] <= 0:
        return None
    return float(np.interp(0.5 * cum[-1], cum, f))


def median_frequencies(segments: list[np.ndarray], rate: float) -> list[float | None]:
    """:func:`median_frequency` of many stretches at once (one Welch call for all of the same length)."""
    out: list[float | None] = [None] * len(segments)
    n = min((len(s) for s in segments), default=0)
    same = [i for i, s in enumerate(segments) if len(s) == n and n >= 16 and np.all(np.isfinite(s))]
    if same:
        stack = np.stack([np.asarray(segments[i], dtype=np.float64) for i in same])
        nperseg = int(min(n, max(16, round(rate * 0.25))))
        f, pxx = signal.welch(stack, fs=rate, nperseg=nperseg, axis=-1)
        cum = np.cumsum(pxx, axis=-1)
        for row, i in enumerate(same):
            if cum[row, -1] > 0:
                out[i] = float(np.interp(0.5 * cum[row, -1], cum[row], f))
    for i, s in enumerate(segments):
        if out[i] is None and i not in same:
            out[i] = median_frequency(s, rate)
    return out


@dataclass(frozen=True)
class EnduranceStats:
    mean: float | None
    amplitude_slope_per_s: float | None
    amplitude_decline_pct: float | None
    median_freq_start_hz: float | None
    median_freq_slope_hz_per_s: float | None
    median_freqs_hz: tuple[float, ...] = field(default=())


def endurance_stats(env: np.ndarray, filtered: np.ndarray | None, rate: float, start_s: float, end_s: float,
                    mf_window_s: float = 1.0, baseline: float = 0.0) -> EnduranceStats:
    """Amplitude decline across a hold (linear fit) and the slope of the raw EMG's median frequency.

    Mean and decline are of the envelope above ``baseline`` (0 for EMG, the resting pressure for
    pressure). The decline is the fitted drop from the start to the end of the hold as a share of the
    fitted start. The median frequency is taken over consecutive ``mf_window_s`` windows of the filtered
    EMG (skipped when ``filtered`` is None, e.g. pressure or an RMS-only device).
    """
    t0 = start_s + _settle(end_s - start_s)
    stride = max(1, int(rate // 100))   # the envelope is smooth: 100 points a second fit the same line
    seg = window(env, rate, t0, end_s)[::stride] - baseline
    t = t0 + stride * np.arange(seg.size) / rate
    ok = np.isfinite(seg)
    mean = slope = decline = None
    if ok.sum() >= 2:
        mean = float(seg[ok].mean())
        slope, intercept = np.polyfit(t[ok] - t0, seg[ok], 1)
        slope = float(slope)
        start_fit = intercept
        end_fit = intercept + slope * (end_s - t0)
        decline = float(100.0 * (start_fit - end_fit) / start_fit) if start_fit > 0 else None
    mf_start = mf_slope = None
    mfs: list[float] = []
    centres: list[float] = []
    if filtered is not None:
        n_win = int((end_s - t0) // mf_window_s)
        segs = [window(filtered, rate, t0 + k * mf_window_s, t0 + (k + 1) * mf_window_s) for k in range(n_win)]
        for k, mf in enumerate(median_frequencies(segs, rate)):
            if mf is not None:
                mfs.append(mf)
                centres.append((k + 0.5) * mf_window_s)
        if len(mfs) >= 3:
            b, a0 = np.polyfit(np.array(centres), np.array(mfs), 1)
            mf_slope, mf_start = float(b), float(a0)
    return EnduranceStats(mean, slope, decline, mf_start, mf_slope, tuple(mfs))


def coactivation_pct(pfm_env: np.ndarray, abd_env: np.ndarray, rate: float, start_s: float,
                     end_s: float) -> float | None:
    """Abdominal activity as a share (%) of pelvic-floor activity over a contraction (first second left out)."""
    a = start_s + _settle(end_s - start_s)
    pfm = window(pfm_env, rate, a, end_s)
    abd = window(abd_env, rate, a, end_s)
    ok = np.isfinite(pfm) & np.isfinite(abd)
    if not ok.any():
        return None
    p = float(pfm[ok].mean())
    return 100.0 * float(abd[ok].mean()) / p if p > 0 else None


def mean_of(values) -> float | None:
    """Mean of the values that are not None (None when there are none)."""
    vals = [float(v) for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(vals)) if vals else None
