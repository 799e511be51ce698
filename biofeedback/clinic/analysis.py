"""Recording -> phases -> metrics -> summary: the numbers of a guided session, and a plain table of them.

Public entry points:

- :func:`analyze(recording, protocol=None)` -> result dict (``summary``, ``phases``, ``trials``, ...)
- :func:`summarize(recording, protocol=None)` -> the ``summary`` dict alone, as stored in a
  recording's meta ``"summary"`` at the end of a guided session
- :func:`analyze_arrays(data, info, spans, ...)` -> the same from arrays in memory
- :func:`format_table(result)` -> readable aligned text

The ``summary`` dict (stable; values are numbers, or None when a measure does not apply or the
session did not reach it). ``<u>`` is the unit suffix of the main channel: ``uv`` for EMG,
``cmh2o`` for pressure::

    protocol, channel, unit, phases_from ("events" | "protocol")
    resting_tone_<u>          pre-baseline mean of the envelope
    resting_sd_<u>            pre-baseline SD
    resting_variability_pct   pre-baseline coefficient of variation
    post_resting_tone_<u>, post_resting_variability_pct, post_pre_ratio (post / pre mean)
    release_threshold_<u>     top of the release band used for release latency (pre mean + 2 SD)
    contraction_baseline_cmh2o  pressure only: the resting pressure its contraction figures are measured
                              from (the pre-baseline mean, else the calibrated rest; None when neither)
    contraction_peak_<u>      mean over trials of each contraction's peak (the typical squeeze)
    contraction_max_<u>       highest peak of the session (the strongest squeeze)
    contraction_mean_<u>      mean over trials of each work mean (first second left out)
                              For pressure these three are the RISE ABOVE the resting pressure
                              (contraction_baseline_cmh2o), not the absolute pressure: the probe's
                              resting pressure is resting_tone_cmh2o. EMG amplitude rises from zero.
    onset_latency_s           mean over trials (cue -> 75 % of the work mean; for pressure
                              rest + 75 % of the rise)
    release_latency_s         mean over trials (rest cue -> release band); a trial that never got there
                              counts as its whole rest period, and then the mean is only a lower bound:
    release_latency_lower_bound  True when some trial never released (the figure reads "at least")
    release_latency_released_s   mean over the trials that did release
    release_37_latency_s, release_37_latency_lower_bound   the same, to 37.5 % of the work mean
                              (for pressure: rest + 37.5 % of the rise above rest)
    trials, trials_released, trials_not_released, trials_slow_release (> 2 s), trials_no_onset
    time_in_band_pct          mean over steps with a target band of the share spent inside it
                              (a step with its own ``band_pct`` is scored against that share of the
                              maximum when meta "bands" or "calibration" give one; its phase row then
                              carries band_pct and contraction_band_<u>)
    time_in_release_band_pct, time_in_contraction_band_pct
    contraction_band_<u> [low, high] (from meta "bands", or 40-70 % of meta "calibration" mvc; else None
                              and time_in_contraction_band_pct is None), release_band_<u> high (meta "bands",
                              else the release threshold), bands_from ("recording" | "session")
    endurance_mean_<u>, endurance_decline_pct (for pressure: of the rise above rest),
    endurance_median_freq_start_hz, endurance_median_freq_slope_hz_per_s (EMG only; None for pressure)
    abd_coactivation_pct      abdominal / pelvic-floor mean over contractions, % (when an abd channel exists);
                              over 100 % means the abdominals worked harder than the pelvic floor
                              (150 % = abdominals 1.5 x the pelvic floor), the pattern to train away
    window_means_<u>          dilator practice: {"anticipation"|"during"|"after": mean envelope} (else None)
    envelope_delay_s          lag of the envelope behind the muscle (half the RMS window; part of the latencies)
    by_phase                  {phase: {rest_mean_<u>, rest_cv_pct, work_mean_<u>, peak_<u>,
                                       onset_latency_s, release_latency_s, time_in_band_pct}}
    channels                  {name: the same keys for every analysed channel}

When a pressure channel is recorded beside EMG, its unit-suffixed keys (``resting_tone_cmh2o``, ...)
are copied to the top level too.

``phases`` has one row per step (index, phase, trial, kind, cue, band, window, start_s, duration_s,
mean_<u>, sd_<u>, cv_pct, time_in_band_pct, flags; contraction rows add peak_<u>, work_mean_<u>,
onset_latency_s (for pressure peak and work mean are the rise above rest) and, for holds of 10 s or more,
the endurance keys; the rest after a contraction adds
release_latency_s and release_37_latency_s). ``trials`` has one entry per contraction with the rest that
follows it. Flags: ``no_onset``, ``no_data`` and ``gap`` (samples lost in the contraction),
``not_released`` (never reached the release band within the rest), ``slow_release`` (over 2 s),
``not_below_37``, ``gap_before_release``, ``no_rest_after``, ``no_rest_level`` (pressure with no resting
level to measure the rise from). This module never imports Qt.
"""
from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from biofeedback.errors import UserError
from biofeedback.files.offline import chain_settings_from_meta
from biofeedback.protocols import CONTRACTION_KINDS, Protocol, load_protocol
from biofeedback.protocols.spans import StepSpan as Span
from biofeedback.protocols.spans import spans_from_protocol, step_spans
from biofeedback.signal import metrics as m
from biofeedback.signal import rest
from biofeedback.stream import StreamInfo
from biofeedback.words import plural

#: Contraction band from a calibrated maximum: this share of it.
DEFAULT_CONTRACTION_BAND = (0.40, 0.70)
_RELEASE_KINDS = ("rest", "release", "breathe")


# --------------------------------------------------------------------------- bands from meta

def _unit_suffix(unit: str) -> str:
    return "cmh2o" if unit.lower().startswith("cmh2o") else "uv"


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) else None


def _band_from_calibration(meta: dict, channel: str) -> tuple[float, float] | None:
    """40-70 % of a calibrated maximum.

    ``meta["calibration"]`` as the live window stores it (``{"rest_mean", "rest_sd", "mvc", "unit",
    "channel"}``), or with ``mvc_uv`` / ``mvc_cmh2o``, or keyed by channel name. For pressure the band
    sits above the resting pressure: rest + 40-70 % of (maximum - rest).
    """
    cal = meta.get("calibration") if isinstance(meta, dict) else None
    if not isinstance(cal, dict):
        return None
    if isinstance(cal.get(channel), dict):
        cal = cal[channel]
    if cal.get("channel") not in (None, "", channel):
        return None
    mvc = next((_number(cal.get(k)) for k in ("mvc_uv", "mvc_cmh2o", "mvc") if _number(cal.get(k)) is not None), None)
    if mvc is None or mvc <= 0:
        return None
    lo, hi = DEFAULT_CONTRACTION_BAND
    if channel == "pressure" or "mvc_cmh2o" in cal or str(cal.get("unit", "")).lower() == "cmh2o":
        rest_p: float = next((v for v in (_number(cal.get(k)) for k in ("rest_cmh2o", "rest_mean_cmh2o", "rest_mean",
                                                                          "rest")) if v is not None), 0.0)
        return rest_p + lo * (mvc - rest_p), rest_p + hi * (mvc - rest_p)
    return lo * mvc, hi * mvc


#: where the stored bands and calibration keep the resting level (pressure zero)
_REST_NAMES = {"bands": ("zero",), "calibration": ("rest_cmh2o", "rest_mean_cmh2o", "rest_mean", "rest")}


def _stored_for_channel(meta: dict, channel: str):
    """(key, dict) of the stored ``bands`` then ``calibration`` that apply to ``channel`` (maybe keyed by it)."""
    for key in ("bands", "calibration"):
        d = meta.get(key) if isinstance(meta, dict) else None
        if not isinstance(d, dict):
            continue
        if isinstance(d.get(channel), dict):
            d = d[channel]
        if d.get("channel") in (None, "", channel):
            yield key, d


def _calibrated_rest(meta: dict, channel: str) -> float | None:
    """The resting pressure stored with the recording (bands' ``zero`` or the calibration's rest), if any."""
    for key, d in _stored_for_channel(meta, channel):
        value = next((_number(d.get(k)) for k in _REST_NAMES[key] if _number(d.get(k)) is not None), None)
        if value is not None and value > 0:
            return value
    return None


def _mvc_reference(meta: dict, channel: str, pressure: bool) -> tuple[float, float] | None:
    """(where 0 % lies, the maximum) for steps with their own ``band_pct``: from the stored bands, else the calibration.

    0 % is zero for EMG and the resting pressure for pressure (as
    :class:`~biofeedback.signal.calibration.Bands` has it).
    """
    for key, d in _stored_for_channel(meta, channel):
        mvc = next((_number(d.get(k)) for k in ("mvc_uv", "mvc_cmh2o", "mvc") if _number(d.get(k)) is not None), None)
        if mvc is None or mvc <= 0:
            continue
        zero: float = 0.0
        if pressure:
            zero = next((v for v in (_number(d.get(k)) for k in _REST_NAMES[key]) if v is not None), 0.0)
        if mvc > zero:
            return zero, mvc
    return None


def _recorded_bands(meta: dict, channel: str) -> tuple[tuple[float | None, float | None] | None, float | None]:
    """(contraction (low, high), release high) stored with the recording, if any.

    Accepts ``meta["bands"]`` as the live window stores it (``{"contraction_low", "contraction_high",
    "release_high", "unit", "mvc", "channel"}``), as ``{"contraction": [lo, hi], "release": hi | [lo, hi]}``,
    or either keyed by channel name (``{"pfm": {...}}``). Bands stored for another channel are ignored.
    Without a contraction band there, one comes from ``meta["calibration"]``.
    """
    bands = meta.get("bands") if isinstance(meta, dict) else None
    if not isinstance(bands, dict):
        return _band_from_calibration(meta, channel), None
    if isinstance(bands.get(channel), dict):
        bands = bands[channel]
    if bands.get("channel") not in (None, "", channel):
        return _band_from_calibration(meta, channel), None
    contraction = release = None
    if _number(bands.get("contraction_low")) is not None and _number(bands.get("contraction_high")) is not None:
        contraction = (_number(bands["contraction_low"]), _number(bands["contraction_high"]))
    c = bands.get("contraction")
    if isinstance(c, (list, tuple)) and len(c) == 2:
        contraction = (_number(c[0]), _number(c[1]))
    elif isinstance(c, dict) and ("low" in c or "high" in c):
        contraction = (_number(c.get("low")), _number(c.get("high")))
    if contraction is None:
        contraction = _band_from_calibration(meta, channel)
    r = bands.get("release", bands.get("release_high"))
    if _number(r) is not None:
        release = _number(r)
    elif isinstance(r, (list, tuple)) and len(r) == 2:
        release = _number(r[1])
    elif isinstance(r, dict):
        release = _number(r.get("high"))
    return contraction, release


# --------------------------------------------------------------------------- one channel

def _round(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(float(x), nd)


@dataclass(frozen=True)
class _Channel:
    """What every stage of one channel's analysis reads."""

    env: np.ndarray
    filtered: np.ndarray | None
    rate: float
    spans: list[Span]
    u: str
    meta: dict
    name: str
    abd_env: np.ndarray | None

    @property
    def pressure(self) -> bool:
        return self.u == "cmh2o"

    @property
    def rms(self) -> bool:
        """EMG statistics are RMS windows; pressure takes plain means."""
        return not self.pressure


def _baseline_spans(spans: list[Span]) -> tuple[list[Span], list[Span]]:
    """(pre, post): the baseline phases; without a pre_baseline, the first rest before any contraction."""
    pre = [s for s in spans if s.step.phase == "pre_baseline"]
    if not pre:
        for s in spans:
            if s.step.is_contraction:
                break
            if s.step.kind in _RELEASE_KINDS:
                pre = [s]
                break
    return pre, [s for s in spans if s.step.phase == "post_baseline"]


def _settled(s: Span) -> tuple[float, float]:
    return s.start_s + min(m.SETTLE_S, 0.5 * s.duration_s), s.end_s


def _rest_of(ch: _Channel, group: list[Span]) -> rest.RobustRest:
    """Robust resting figures of some rest steps (first second of each left out, artefacts rejected)."""
    if not group:
        return rest.RobustRest.empty()
    return rest.robust_rest(ch.rate, [_settled(s) for s in group], ch.env, ch.filtered, ch.rms)


def _step_row(ch: _Channel, s: Span) -> dict[str, Any]:
    """The row of one step: its mean, SD and CV over 0.5 s windows (artefacts left out in rest steps)."""
    row: dict[str, Any] = {"index": s.index, "phase": s.step.phase, "trial": s.step.trial, "kind": s.step.kind,
                           "cue": s.step.cue, "band": s.step.band, "window": s.step.window,
                           "start_s": round(s.start_s, 3), "duration_s": round(s.duration_s, 3)}
    if s.step.is_contraction:
        levels, _ = rest.window_levels(ch.rate, *_settled(s), ch.env,
                                       ch.filtered if rest.has_signal(ch.filtered) else None, ch.rms)
        st = m.stats_of(levels)
        mean, sd, cv, excluded = st.mean, st.sd, st.cv_pct, None
    else:
        rr = _rest_of(ch, [s])
        mean, sd, cv, excluded = rr.mean, rr.sd, rr.cv_pct, rr.excluded_s
    if mean is None:  # shorter than one statistics window: the plain envelope
        st = m.rest_stats(ch.env, ch.rate, s.start_s, s.end_s)
        mean, sd, cv = st.mean, st.sd, st.cv_pct
    row[f"mean_{ch.u}"], row[f"sd_{ch.u}"], row["cv_pct"] = _round(mean), _round(sd), _round(cv, 1)
    if excluded:
        row["excluded_s"] = round(excluded, 2)
    row["flags"] = []
    return row


@dataclass(frozen=True)
class _Levels:
    """The resting levels one channel's trials are measured against."""

    threshold: float | None      # release criterion on the envelope: pre level + 2 SD of that envelope
    baseline: float | None       # where contractions rise from: 0 (EMG) or the resting pressure
    rest_tone: float | None      # resting tone (37.5 % below it is not applicable)


def _trial(ch: _Channel, k: int, row: dict[str, Any], lv: _Levels) -> tuple[dict[str, Any], int | None]:
    """One contraction and the rest after it: fills ``row`` and returns (trial, index of its rest row)."""
    s, u, spans = ch.spans[k], ch.u, ch.spans
    nxt = spans[k + 1] if k + 1 < len(spans) else None
    if nxt is not None and not (nxt.step.kind in _RELEASE_KINDS and abs(nxt.start_s - s.end_s) < 0.5):
        nxt = None    # a contraction is measured with the rest that follows it straight away
    if lv.baseline is None:  # pressure without any resting level: no rise to measure
        cs = m.ContractionStats(None, None, None, ("no_rest_level",))
    else:
        cs = m.contraction_stats(ch.env, ch.rate, s.start_s, s.end_s, nxt.end_s if nxt else None,
                                 lv.baseline, ch.filtered if rest.has_signal(ch.filtered) else None, ch.rms)
    row[f"peak_{u}"], row[f"work_mean_{u}"] = _round(cs.peak), _round(cs.work_mean)
    row["onset_latency_s"] = _round(cs.onset_latency_s)
    row["flags"] = list(cs.flags)
    trial = {"phase": s.step.phase, "trial": s.step.trial, "index": s.index, "start_s": round(s.start_s, 3),
             f"peak_{u}": row[f"peak_{u}"], f"work_mean_{u}": row[f"work_mean_{u}"],
             "onset_latency_s": row["onset_latency_s"], "release_latency_s": None,
             "release_37_latency_s": None, "flags": list(cs.flags)}
    if ch.abd_env is not None:
        row["abd_coactivation_pct"] = trial["abd_coactivation_pct"] = _round(
            m.coactivation_pct(ch.env, ch.abd_env, ch.rate, s.start_s, s.end_s), 1)
    if s.step.kind == "hold" and s.duration_s >= 10.0 and lv.baseline is not None:
        es = m.endurance_stats(ch.env, ch.filtered, ch.rate, s.start_s, s.end_s, baseline=lv.baseline)
        row.update({f"endurance_mean_{u}": _round(es.mean),
                    "endurance_decline_pct": _round(es.amplitude_decline_pct, 1),
                    "endurance_median_freq_start_hz": _round(es.median_freq_start_hz, 1),
                    "endurance_median_freq_slope_hz_per_s": _round(es.median_freq_slope_hz_per_s, 4)})
    if nxt is None:
        trial["flags"].append("no_rest_after")
        return trial, None
    rel = m.release_stats(ch.env, ch.rate, nxt.start_s, nxt.end_s, lv.threshold, cs.work_mean, lv.baseline or 0.0,
                          lv.rest_tone)
    trial["rest_s"] = round(nxt.duration_s, 3)
    trial["release_latency_s"] = _round(rel.release_latency_s)
    trial["release_37_latency_s"] = _round(rel.release_37_latency_s)
    trial["flags"] += list(rel.flags)
    if "release_37_not_applicable" in rel.flags and cs.work_mean is not None and lv.rest_tone is not None:
        trial["release_37_note"] = m.release_37_reason((lv.baseline or 0.0) + m.RELEASE_SHARE * cs.work_mean,
                                                       lv.rest_tone, _UNIT_TEXT[u])
    return trial, k + 1


_UNIT_TEXT = {"uv": "µV", "cmh2o": "cmH2O"}
_REST_ROW_FLAGS = ("not_released", "slow_release", "not_below_37", "gap_before_release", "release_37_not_applicable")


def _steps(ch: _Channel, lv: _Levels) -> tuple[list[dict[str, Any]], list[dict[str, Any]], _BandTimes]:
    """(rows, trials, band times): every step's row, every contraction with the rest that follows it.

    One walk through the steps in time order (a contraction's rest row is made with it and gets its
    release figures), so a recording read stretch by stretch is read about once.
    """
    rows: list[dict[str, Any] | None] = [None] * len(ch.spans)

    def row(k: int) -> dict[str, Any]:
        if rows[k] is None:
            rows[k] = _step_row(ch, ch.spans[k])
        return rows[k]  # type: ignore[return-value]

    trials = []
    bt = _band_times_start(ch, lv.threshold)
    for k, s in enumerate(ch.spans):
        if s.step.is_contraction:
            trial, rest_index = _trial(ch, k, row(k), lv)
            trials.append(trial)
            if rest_index is not None:
                r = row(rest_index)
                r["release_latency_s"] = trial["release_latency_s"]
                r["release_37_latency_s"] = trial["release_37_latency_s"]
                r["flags"] = [f for f in trial["flags"] if f in _REST_ROW_FLAGS]
        _band_time(ch, bt, s, row(k))
    return [row(k) for k in range(len(ch.spans))], trials, bt


def _release_target(meta: dict, channel: str, u: str) -> float | None:
    """The live release target she trained against (meta ``release_target_<u>``, else the stored release band)."""
    for key, d in _stored_for_channel(meta, channel):
        for name in (f"release_target_{u}", "release_target", "release_high"):
            if key == "calibration" and name == "release_high":
                continue
            value = _number(d.get(name))
            if value is not None:
                return value
    return _number(meta.get(f"release_target_{u}")) if isinstance(meta, dict) else None


@dataclass
class _BandTimes:
    contraction_band: tuple | None
    release_high: float | None
    bands_from: str
    release: list
    contraction: list
    under_target: list


def _band_times_start(ch: _Channel, threshold: float | None) -> _BandTimes:
    """The bands time in band is scored against: what the patient aimed at (stored with the recording), else
    this session's.

    Without a calibration there is no honest contraction band (the session's own peaks say nothing about
    her maximum), so contraction-band time is then not measured; the release band is this session's.
    """
    rec_contraction, rec_release = _recorded_bands(ch.meta, ch.name)
    return _BandTimes(rec_contraction, rec_release if rec_release is not None else threshold,
                      "recording" if rec_contraction is not None or rec_release is not None else "session", [], [], [])


def _band_time(ch: _Channel, out: _BandTimes, s: Span, row: dict[str, Any]) -> None:
    """Time in band of one step, into its row and the session's lists."""
    target = _release_target(ch.meta, ch.name, ch.u)
    tib = None
    if s.step.band == "release" and out.release_high is not None:
        tib = m.time_in_band_pct(ch.env, ch.rate, s.start_s, s.end_s, None, out.release_high)
        out.release.append(tib)
    elif s.step.band == "contraction":
        band: tuple | None = out.contraction_band
        mvc_ref = _mvc_reference(ch.meta, ch.name, ch.pressure)
        if s.step.band_pct is not None and mvc_ref is not None:  # the step's own band, % of the maximum
            zero, mvc = mvc_ref
            band = tuple(zero + pct / 100.0 * (mvc - zero) for pct in s.step.band_pct)
            row["band_pct"] = list(s.step.band_pct)
            row[f"contraction_band_{ch.u}"] = [_round(v) for v in band]
        if band is not None:
            tib = m.time_in_band_pct(ch.env, ch.rate, s.start_s, s.end_s, *band)
            out.contraction.append(tib)
    row["time_in_band_pct"] = _round(tib, 1)
    if target is not None and not s.step.is_contraction and s.step.kind in _RELEASE_KINDS:
        under = m.time_in_band_pct(ch.env, ch.rate, s.start_s, s.end_s, None, target)
        row["time_under_target_pct"] = _round(under, 1)
        out.under_target.append(under)


def _rest_summary(ch: _Channel, pre: rest.RobustRest, post: rest.RobustRest, lv: _Levels) -> dict[str, Any]:
    u = ch.u
    return {
        "channel": ch.name,
        f"resting_tone_{u}": _round(pre.mean), f"resting_sd_{u}": _round(pre.sd),
        "resting_variability_pct": _round(pre.cv_pct, 1),
        "resting_excluded_s": round(pre.excluded_s, 2),
        f"post_resting_tone_{u}": _round(post.mean), "post_resting_variability_pct": _round(post.cv_pct, 1),
        "post_resting_excluded_s": round(post.excluded_s, 2),
        "post_pre_ratio": _round(post.mean / pre.mean if post.mean is not None and pre.mean else None),
        f"release_threshold_{u}": _round(lv.threshold),
        f"release_spread_{u}": _round(pre.envelope_sd),
        "release_dwell_s": m.RELEASE_DWELL_S,
        **({f"contraction_baseline_{u}": _round(lv.baseline)} if ch.pressure else {}),
    }


def _trial_summary(trials: list[dict[str, Any]], u: str) -> dict[str, Any]:
    def trial_mean(key: str) -> float | None:
        return m.mean_of(t[key] for t in trials)

    peaks = [t[f"peak_{u}"] for t in trials if t[f"peak_{u}"] is not None]
    not_applicable = [t for t in trials if "release_37_not_applicable" in t["flags"]]
    return {
        f"contraction_peak_{u}": _round(trial_mean(f"peak_{u}")),
        f"contraction_max_{u}": _round(max(peaks) if peaks else None),
        f"contraction_mean_{u}": _round(trial_mean(f"work_mean_{u}")),
        "onset_latency_s": _round(trial_mean("onset_latency_s")),
        "release_latency_s": _round(censored_mean(trials, "release_latency_s")[0]),
        "release_latency_lower_bound": censored_mean(trials, "release_latency_s")[1],
        "release_latency_released_s": _round(trial_mean("release_latency_s")),
        "release_37_latency_s": _round(censored_mean(trials, "release_37_latency_s")[0]),
        "release_37_latency_lower_bound": censored_mean(trials, "release_37_latency_s")[1],
        "release_37_not_applicable": len(not_applicable),
        "release_37_note": not_applicable[0].get("release_37_note") if not_applicable else None,
        "trials": len(trials),
        "trials_released": sum(1 for t in trials if t["release_latency_s"] is not None),
        "trials_not_released": sum(1 for t in trials if "not_released" in t["flags"]),
        "trials_slow_release": sum(1 for t in trials if "slow_release" in t["flags"]),
        "trials_no_onset": sum(1 for t in trials if "no_onset" in t["flags"]),
    }


def _band_summary(bt: _BandTimes, ch: _Channel) -> dict[str, Any]:
    u = ch.u
    return {
        "time_in_band_pct": _round(m.mean_of(bt.release + bt.contraction), 1),
        "time_in_release_band_pct": _round(m.mean_of(bt.release), 1),
        "time_in_contraction_band_pct": _round(m.mean_of(bt.contraction), 1),
        f"contraction_band_{u}": [_round(v) for v in bt.contraction_band] if bt.contraction_band else None,
        f"release_band_{u}": _round(bt.release_high),
        "bands_from": bt.bands_from,
        f"release_target_{u}": _round(_release_target(ch.meta, ch.name, u)),
        "time_under_target_pct": _round(m.mean_of(bt.under_target), 1),
    }


def _extra_summary(ch: _Channel, rows: list[dict[str, Any]], trials: list[dict[str, Any]]) -> dict[str, Any]:
    u = ch.u
    out: dict[str, Any] = {}
    endurance = [r for r in rows if f"endurance_mean_{u}" in r]
    out[f"endurance_mean_{u}"] = _round(m.mean_of(r[f"endurance_mean_{u}"] for r in endurance))
    for key in ("endurance_decline_pct", "endurance_median_freq_start_hz", "endurance_median_freq_slope_hz_per_s"):
        out[key] = _round(m.mean_of(r[key] for r in endurance), 4)
    if ch.abd_env is not None:
        out["abd_coactivation_pct"] = _round(m.mean_of(t.get("abd_coactivation_pct") for t in trials), 1)
    windows: dict[str, list[float]] = {}
    for s_, row in zip(ch.spans, rows):
        if s_.step.window and row[f"mean_{u}"] is not None:
            windows.setdefault(s_.step.window, []).append(row[f"mean_{u}"])
    out[f"window_means_{u}"] = {k: _round(m.mean_of(v)) for k, v in windows.items()} or None
    return out


def _analyze_channel(env: np.ndarray, filtered: np.ndarray | None, rate: float, spans: list[Span], unit: str,
                     meta: dict, channel: str, abd_env: np.ndarray | None) -> dict[str, Any]:
    """One channel: baselines -> release criterion -> trials -> time in band -> summary."""
    ch = _Channel(env, filtered, rate, spans, _unit_suffix(unit), meta, channel, abd_env)
    pre_spans, post_spans = _baseline_spans(spans)
    pre = _rest_of(ch, pre_spans)
    threshold = (m.release_threshold(pre.envelope_mean, pre.envelope_sd)
                 if pre.envelope_mean is not None and pre.envelope_sd is not None else None)
    # Pressure sits on the probe's resting pressure: contractions are measured as the rise above it
    # (the pre-baseline mean, else the calibrated rest). EMG amplitude rises from zero.
    baseline: float | None = 0.0
    if ch.pressure:
        baseline = pre.mean if pre.mean is not None else _calibrated_rest(meta, channel)
    lv = _Levels(threshold, baseline, pre.mean)
    rows, trials, bt = _steps(ch, lv)
    post = _rest_of(ch, post_spans)      # after the steps: in a session it is the last stretch read
    summary: dict[str, Any] = {**_rest_summary(ch, pre, post, lv), "unit": unit, **_trial_summary(trials, ch.u),
                               **_band_summary(bt, ch), **_extra_summary(ch, rows, trials)}
    summary["by_phase"] = _by_phase(rows, trials, ch.u)
    return {"summary": summary, "phases": rows, "trials": trials}


def censored_mean(trials: list[dict], key: str) -> tuple[float | None, bool]:
    """Mean latency over trials followed by a rest; one that never got there counts as its whole rest.

    Returns (mean, lower_bound): ``lower_bound`` is True when any trial was cut off, so the true mean is longer.
    """
    values, cut = [], False
    for t in trials:
        if "rest_s" not in t or (key == "release_37_latency_s" and "release_37_not_applicable" in t["flags"]):
            continue
        if t.get(key) is None:
            values.append(t["rest_s"])
            cut = True
        else:
            values.append(t[key])
    return (float(np.mean(values)) if values else None), cut


def _by_phase(rows: list[dict], trials: list[dict], u: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for phase in dict.fromkeys(r["phase"] for r in rows):
        rest = [r for r in rows if r["phase"] == phase and r["band"] == "release"]
        work = [r for r in rows if r["phase"] == phase and r["kind"] in CONTRACTION_KINDS]
        tr = [t for t in trials if t["phase"] == phase]
        band_rows = [r for r in rows if r["phase"] == phase]
        out[phase] = {
            f"rest_mean_{u}": _round(m.mean_of(r[f"mean_{u}"] for r in rest)),
            "rest_cv_pct": _round(m.mean_of(r["cv_pct"] for r in rest), 1),
            f"work_mean_{u}": _round(m.mean_of(r.get(f"work_mean_{u}") for r in work)),
            f"peak_{u}": _round(m.mean_of(r.get(f"peak_{u}") for r in work)),
            "onset_latency_s": _round(m.mean_of(t["onset_latency_s"] for t in tr)),
            "release_latency_s": _round(censored_mean(tr, "release_latency_s")[0]),
            "time_in_band_pct": _round(m.mean_of(r.get("time_in_band_pct") for r in band_rows), 1),
        }
    return out


# --------------------------------------------------------------------------- whole recording

def _hum_estimates(raw_column, info: StreamInfo) -> dict[str, Any]:
    """Hum on every EMG channel, from a bounded sample of one-second stretches (see :func:`hum.estimate`)."""
    from biofeedback.signal import hum
    return {c.name: hum.estimate(raw_column(i), info.rate) for i, c in enumerate(info.channels) if c.kind == "emg"}


def _apply_notch(estimates: dict[str, Any], settings, notch: str | int | None) -> tuple[Any, dict[str, Any]]:
    """Settings with the notch ``--notch`` asks for (``auto``: only when hum is found), and what was done."""
    from dataclasses import replace

    from biofeedback.signal import hum
    if notch is None or not estimates:
        hz, reason = settings.notch_hz, ("notch as recorded" if settings.notch_hz else "no notch")
    else:
        try:
            hz, reason = hum.notch_choice(notch, list(estimates.values()))
        except ValueError as exc:
            raise UserError(str(exc)) from None
    return replace(settings, notch_hz=hz), {
        "notch_hz": hz, "notch": str(notch) if notch is not None else "recorded", "notch_reason": reason,
        "hum": {name: e.to_dict() for name, e in estimates.items()}}


def _quality(raw_slice, filtered, info: StreamInfo, n: int, i: int, spans: list[Span]) -> dict | None:
    """Signal quality of the main EMG channel over the resting baseline (else the first minute).

    ``raw_slice(a, b, i)`` gives raw samples ``a:b`` of channel ``i``; ``filtered`` is that channel's
    band-passed signal.
    """
    from biofeedback.signal import quality
    if info.channels[i].kind != "emg" or not rest.has_signal(filtered):
        return None
    pre, _ = _baseline_spans(spans)
    a, b = (pre[0].start_s, pre[0].end_s) if pre else (0.0, 60.0)
    ia, ib = int(a * info.rate), int(min(b * info.rate, n))
    if ib - ia < int(info.rate):
        return None
    return quality.assess(raw_slice(ia, ib, i), np.asarray(filtered[ia:ib]), info.rate).to_dict()


def analyze_arrays(data: np.ndarray, info: StreamInfo, spans: list[Span], meta: dict | None = None,
                   settings=None, envelope: np.ndarray | None = None, filtered: np.ndarray | None = None,
                   protocol_name: str = "", phases_from: str = "events",
                   notch: str | int | None = "auto") -> dict[str, Any]:
    """Metrics for every pelvic-floor and pressure channel of a recording held in memory.

    ``data`` is raw (n, channels) in physical units. Pass ``envelope``/``filtered`` when they are already
    computed; otherwise the signal chain computes them offline with ``settings`` (or those in ``meta``),
    with the mains notch ``notch`` asks for: ``"auto"`` (default) notches only when hum is found on an
    EMG channel, ``50``/``60`` always, ``"off"`` never, None keeps the settings' own. The summary says
    which (``notch_hz``, ``notch_reason``, ``hum``).
    """
    meta = dict(meta or {})
    notch_info: dict[str, Any] = {"notch_hz": None, "notch": "given", "notch_reason": "envelope given", "hum": None}
    if envelope is None or filtered is None:
        from biofeedback.signal.chain import envelope_offline
        settings = settings if settings is not None else chain_settings_from_meta(meta)
        data = np.asarray(data, dtype=np.float64)
        settings, notch_info = _apply_notch(_hum_estimates(lambda i: data[:, i], info), settings, notch)
        filtered, envelope = envelope_offline(data, info, settings)
    env_all, filt_all, raw = envelope, filtered, data
    return _analyze_traces(info, spans, meta, settings, lambda i: env_all[:, i], lambda i: filt_all[:, i],
                           lambda a, b, i: raw[a:b, i], len(data), protocol_name, phases_from, notch_info)


def _analyze_traces(info: StreamInfo, spans: list[Span], meta: dict, settings, env_of, filtered_of, raw_slice,
                    n: int, protocol_name: str, phases_from: str, notch_info: dict[str, Any]) -> dict[str, Any]:
    """The analysis from each channel's envelope and filtered signal (arrays, or traces read stretch by stretch).

    ``env_of(i)`` / ``filtered_of(i)`` give channel ``i``'s signals at the recording's rate, sliced only a
    stretch at a time; ``raw_slice(a, b, i)`` its raw samples; ``n`` the number of samples.
    """
    rms_window_s = float(getattr(settings, "rms_window_s", 0.2) if settings is not None else 0.2)
    names = info.names
    abd_env = env_of(names.index("abd")) if "abd" in names else None
    order = [i for i, c in enumerate(info.channels) if c.name == "pfm"]
    order += [i for i, c in enumerate(info.channels) if c.is_emg and c.name not in ("pfm", "abd")]
    order += [i for i, c in enumerate(info.channels) if c.kind == "pressure"]
    if not order:
        raise UserError("this recording has no pelvic-floor or pressure channel to analyse")
    if not spans:
        raise UserError("no exercise steps fall inside this recording; give --protocol NAME or check the file")
    from biofeedback.signal.chain import pressure_lag_s
    per_channel: dict[str, dict[str, Any]] = {}
    for i in order:
        ch = info.channels[i]
        res = _analyze_channel(env_of(i), filtered_of(i) if ch.kind == "emg" else None, info.rate, spans,
                               ch.unit, meta, ch.name, abd_env if ch.is_emg and ch.name != "abd" else None)
        res["summary"]["envelope_delay_s"] = round(rms_window_s / 2.0, 3) if ch.is_emg else None
        res["summary"]["filter_lag_s"] = (round(rms_window_s / 2.0, 3) if ch.is_emg
                                          else round(pressure_lag_s(settings, info.rate), 3))
        per_channel[ch.name] = res
    main_name = info.channels[order[0]].name
    main = per_channel[main_name]
    summary = {"protocol": protocol_name, "phases_from": phases_from, **main["summary"], **notch_info}
    summary["quality"] = meta["quality"] if isinstance(meta.get("quality"), dict) else _quality(
        raw_slice, filtered_of(order[0]), info, n, order[0], spans)
    for name, res in per_channel.items():
        if name != main_name and info.channels[names.index(name)].kind == "pressure":
            for key, value in res["summary"].items():
                if key.endswith("_cmh2o"):
                    summary[key] = value
            summary["pressure_filter_lag_s"] = res["summary"]["filter_lag_s"]
    summary["channels"] = {name: {k: v for k, v in res["summary"].items() if k != "by_phase"}
                           for name, res in per_channel.items()}
    return {"summary": summary, "phases": main["phases"], "trials": main["trials"],
            "channels": {name: {"phases": res["phases"], "trials": res["trials"]} for name, res in per_channel.items()
                         if name != main_name},
            "duration_s": round(n / info.rate, 3), "rate": info.rate}


#: ``report --notch``: the notch for analyses run deep inside the report (see :func:`notch_for_reports`).
_NOTCH_OVERRIDE: contextvars.ContextVar[str | None] = contextvars.ContextVar("notch_override", default=None)


@contextlib.contextmanager
def notch_for_reports(notch: str | None):
    """Within this block, :func:`analyze` without its own ``notch`` uses ``notch`` (None: as stored, else auto)."""
    token = _NOTCH_OVERRIDE.set(notch)
    try:
        yield
    finally:
        _NOTCH_OVERRIDE.reset(token)


def _open(recording):
    from biofeedback.files.recording import Recording
    if isinstance(recording, (str, Path)):
        return Recording.open(recording), True
    return recording, False


def analyze(recording, protocol: str | Protocol | None = None, notch: str | int | None = None) -> dict[str, Any]:
    """Full analysis of a recording (a :class:`~biofeedback.files.recording.Recording` or a path).

    Phases come from the recording's ``step`` events; a recording without them takes ``protocol``'s
    (or meta ``"protocol"``'s) timeline from its start. ``notch`` as in :func:`analyze_arrays`; None takes
    the notch stored with the session (meta ``"notch"``, set by ``import --notch``), else ``auto``.
    """
    rec, owned = _open(recording)
    try:
        meta = dict(rec.meta or {})
        info = rec.info
        end_s = rec.n_samples / info.rate
        if notch is None:
            notch = _NOTCH_OVERRIDE.get()
        if notch is None:
            notch = meta.get("notch") if meta.get("notch") in ("50", "60", "auto", "off", 50, 60) else "auto"
        # one pass through the file first (a damaged recording says so before anything else)
        settings, notch_info, source = _stream(rec, meta, notch)
        spans = step_spans(rec.events, end_s)  # event times are on the recording's clock (0 = its start)
        name = meta.get("protocol")
        name = name.get("name") if isinstance(name, dict) else name
        phases_from = "events"
        if not spans:
            proto = protocol if isinstance(protocol, Protocol) else None
            if proto is None:
                wanted = protocol or name
                if not wanted:
                    raise UserError("this recording has no exercise steps and no protocol; "
                                    "give --protocol NAME (see 'biofeedback protocols')")
                proto = load_protocol(str(wanted))
            spans = spans_from_protocol(proto, end_s)
            name = proto.name
            phases_from = "protocol"
        elif isinstance(protocol, Protocol):
            name = name or protocol.name
        elif protocol and not name:
            name = str(protocol)
        if not name:
            name = next((e.data.get("protocol") for e in rec.events if e.kind == "step" and e.data.get("protocol")), "")
        return _analyze_traces(info, spans, meta, settings, lambda i: source.trace(1, i),
                               lambda i: source.trace(0, i), lambda a, b, i: rec.read(a, b)[:, i], rec.n_samples,
                               str(name or ""), phases_from, notch_info)
    finally:
        if owned:
            rec.close()


def _stream(rec, meta: dict, notch: str | int | None):
    """(settings, notch info, source) for analysing a recording on disk in bounded memory, whatever its length.

    Hum is measured on a bounded sample of one-second stretches read from the file; the signal chain then
    runs block by block, and every stretch of filtered signal or envelope the analysis asks for is
    recomputed from a saved chain state (:mod:`biofeedback.clinic.streamed`), the same sample for sample
    as :func:`analyze_arrays` of the whole recording in memory.
    """
    from biofeedback.clinic.streamed import RawColumn, StreamedChain
    settings, notch_info = _apply_notch(_hum_estimates(lambda i: RawColumn(rec, i), rec.info),
                                        chain_settings_from_meta(meta), notch)
    return settings, notch_info, StreamedChain(rec, settings)


def summarize(recording, protocol: str | Protocol | None = None, notch: str | int | None = None) -> dict[str, Any]:
    """The session summary (see the module docstring for its keys): what the engine stores as meta ``summary``."""
    return analyze(recording, protocol, notch)["summary"]


# --------------------------------------------------------------------------- text

def _fmt(v: Any, nd: int = 2) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def _at_least(s: dict, key: str) -> str:
    return "at least " if s.get(f"{key}_lower_bound") and s.get(f"{key}_s") is not None else ""


def coactivation_text(pct: float | None) -> str:
    """'154 % of the pelvic floor's activity (abdominals 1.5× the pelvic floor)'."""
    if pct is None:
        return "-"
    text = f"{pct:.1f} % of the pelvic floor's activity (abdominals {pct / 100.0:.1f}× the pelvic floor"
    if pct > 100.0:
        text += ": they worked harder than the pelvic floor"
    return text + ")"


def _step_table(result: dict[str, Any], u: str, unit: str) -> list[str]:
    """The aligned table of every step."""
    rise = " rise" if u == "cmh2o" else ""     # pressure contractions: the rise above the resting pressure
    cols = [("#", "index", 0), ("phase", "phase", 0), ("trial", "trial", 0), ("step", "kind", 0),
            ("start s", "start_s", 1), ("dur s", "duration_s", 1), (f"mean {unit}", f"mean_{u}", 2),
            ("CV %", "cv_pct", 1), (f"peak{rise} {unit}", f"peak_{u}", 2),
            (f"work{rise} {unit}", f"work_mean_{u}", 2), ("onset s", "onset_latency_s", 2),
            ("release s", "release_latency_s", 2), ("to 37.5% s", "release_37_latency_s", 2),
            ("in band %", "time_in_band_pct", 0), ("notes", "flags", 0)]
    table = [[c[0] for c in cols]]
    for row in result["phases"]:
        table.append([_cell(row, key, nd) for _title, key, nd in cols])
    widths = [max(len(r[i]) for r in table) for i in range(len(cols))]
    left = {0, 1, 3, len(cols) - 1}
    lines = []
    for j, r in enumerate(table):
        lines.append("  ".join(c.ljust(w) if i in left else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def _cell(row: dict[str, Any], key: str, nd: int) -> str:
    v = row.get(key)
    if key == "flags":
        v = ", ".join(x.replace("_", " ") for x in v) if v else ""
    elif key == "trial" and v is None:
        v = ""
    elif key == "index":
        v = int(v or 0) + 1
    elif key == "release_37_latency_s" and "release_37_not_applicable" in (row.get("flags") or []):
        v = "n/a"
    return _fmt(v, nd)


def _rest_rows(s: dict[str, Any], u: str, unit: str) -> list[tuple[str, str]]:
    excluded = s.get("resting_excluded_s") or 0.0
    rows = [
        ("Protocol", s.get("protocol") or "-"),
        ("Channel", f"{s.get('channel')} ({unit}); phases from "
                    f"{'the recorded steps' if s.get('phases_from') == 'events' else 'the protocol, from the start'}"),
        ("Resting tone (pre)", f"{_fmt(s.get(f'resting_tone_{u}'))} {unit}, variability "
                               f"{_fmt(s.get('resting_variability_pct'), 1)} %"
                               + (f" ({excluded:.1f} s of artefacts left out)" if excluded else "")),
        ("Resting tone (post)", f"{_fmt(s.get(f'post_resting_tone_{u}'))} {unit}, variability "
                                f"{_fmt(s.get('post_resting_variability_pct'), 1)} %, "
                                f"post/pre {_fmt(s.get('post_pre_ratio'))}"),
        ("Released when", f"at or below {_fmt(s.get(f'release_threshold_{u}'))} {unit} (her pre-baseline level "
                          f"+ 2 SD of the envelope) for {_fmt(s.get('release_dwell_s'), 1)} s"),
    ]
    if s.get(f"release_target_{u}") is not None:
        rows.append(("Release target", f"{_fmt(s.get(f'release_target_{u}'))} {unit}; under it "
                                       f"{_fmt(s.get('time_under_target_pct'), 1)} % of the rest periods"))
    rows.append(("Time in band", f"{_fmt(s.get('time_in_band_pct'), 1)} % (release "
                                 f"{_fmt(s.get('time_in_release_band_pct'), 1)} %, "
                                 + (f"contraction {_fmt(s.get('time_in_contraction_band_pct'), 1)} %)"
                                    if s.get(f"contraction_band_{u}") else "no calibrated contraction band)")))
    return rows


def _trial_rows(s: dict[str, Any], u: str, unit: str) -> list[tuple[str, str]]:
    if not s.get("trials"):
        return []
    above = " above rest" if u == "cmh2o" else ""
    to_37 = (f"{_at_least(s, 'release_37_latency')}{_fmt(s.get('release_37_latency_s'))} s to "
             f"{'rest + 37.5 % of the rise' if u == 'cmh2o' else '37.5 % of work'}")
    rows = [
        ("Contraction", f"peak {_fmt(s.get(f'contraction_peak_{u}'))} {unit}{above} (mean of the trials' peaks; "
                        f"strongest {_fmt(s.get(f'contraction_max_{u}'))} {unit}), "
                        f"work mean {_fmt(s.get(f'contraction_mean_{u}'))} {unit}{above}"),
        ("Onset latency", f"{_fmt(s.get('onset_latency_s'))} s"),
        ("Release latency", f"{_at_least(s, 'release_latency')}{_fmt(s.get('release_latency_s'))} s to her "
                            f"resting level, {to_37}"),
        ("Trials", f"{s.get('trials')}: {s.get('trials_released')} released, "
                   f"{s.get('trials_not_released')} not released, {s.get('trials_slow_release')} slower than 2 s"),
    ]
    if s.get("release_37_not_applicable"):
        rows.append(("37.5 % release", f"not applicable in {plural(s['release_37_not_applicable'], 'trial')}: "
                                       f"{s.get('release_37_note')}"))
    return rows


def _other_rows(s: dict[str, Any], u: str, unit: str) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    above = " above rest" if u == "cmh2o" else ""
    windows = s.get(f"window_means_{u}") or {}
    if windows:
        rows.append(("Dilator windows", "  ·  ".join(f"{k} {_fmt(v)} {unit}" for k, v in windows.items())
                     + f"  (resting {_fmt(s.get(f'resting_tone_{u}'))} {unit})"))
    if s.get(f"endurance_mean_{u}") is not None:
        text = (f"mean {_fmt(s.get(f'endurance_mean_{u}'))} {unit}{above}, decline "
                f"{_fmt(s.get('endurance_decline_pct'), 1)} %")
        if s.get("endurance_median_freq_slope_hz_per_s") is not None:
            text += f", median frequency slope {_fmt(s.get('endurance_median_freq_slope_hz_per_s'), 3)} Hz/s"
        rows.append(("Endurance", text))
    if "abd_coactivation_pct" in s:
        rows.append(("Abdominal co-activation", coactivation_text(s.get("abd_coactivation_pct"))))
    if "resting_tone_cmh2o" in s and u != "cmh2o":
        peak = s.get("contraction_peak_cmh2o")
        rows.append(("Pressure", f"resting {_fmt(s.get('resting_tone_cmh2o'))} cmH2O"
                                 + (f", squeeze peak {_fmt(peak)} cmH2O above rest" if peak is not None else "")))
    return rows


def _note_rows(s: dict[str, Any], u: str) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if s.get("notch_reason") and s.get("notch") != "given":
        rows.append(("Mains hum", str(s["notch_reason"])))
    quality = s.get("quality")
    if isinstance(quality, dict) and quality.get("sentence"):
        rows.append(("Signal quality", f"{quality.get('light', '')}: {quality['sentence']}"))
    if u == "cmh2o" and s.get("trials"):
        rows.append(("Note", "squeeze figures are the rise above the resting pressure "
                             f"({_fmt(s.get('contraction_baseline_cmh2o'))} cmH2O, the pre-baseline mean)"))
    if s.get("trials"):
        if s.get("envelope_delay_s"):
            rows.append(("Note", f"latencies include the envelope's lag of about {s['envelope_delay_s']:.2f} s"))
        elif s.get("filter_lag_s"):
            rows.append(("Note", f"latencies include the pressure filter's lag of about {s['filter_lag_s']:.3f} s"))
        if s.get("pressure_filter_lag_s") and u != "cmh2o":
            rows.append(("Note", f"pressure latencies include its filter's lag of about "
                                 f"{s['pressure_filter_lag_s']:.3f} s"))
    return rows


def format_table(result: dict[str, Any]) -> str:
    """A readable aligned table of every step, then the session summary."""
    s = result["summary"]
    u = "cmh2o" if str(s.get("unit", "")).lower().startswith("cmh2o") else "uv"
    unit = "cmH2O" if u == "cmh2o" else "µV"
    lines = _step_table(result, u, unit)
    rest_rows = _rest_rows(s, u, unit)
    summary_rows = (rest_rows[:-1] + _trial_rows(s, u, unit) + rest_rows[-1:] + _other_rows(s, u, unit)
                    + _note_rows(s, u))
    w = max(len(k) for k, _ in summary_rows)
    lines += ["", "Summary"] + [f"  {k.ljust(w)}  {v}" for k, v in summary_rows]
    return "\n".join(lines)
