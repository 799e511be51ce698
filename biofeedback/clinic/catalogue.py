"""The metric catalogue: what is followed over the weeks, and how a goal on one of them is written.

A leaf of the clinic package: the library (which checks a goal's metric), progress (trends, goals met)
and the views all read it, and it imports nothing of theirs, so no import circle can form through it.
Its only project import is the base module of user errors.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from biofeedback.errors import UserError

#: how a goal compares the metric with its target
COMPARISONS = ("<", "<=", ">", ">=")


@dataclass(frozen=True)
class Metric:
    """A quantity followed over the weeks."""

    key: str
    label: str
    unit: str
    source: str             # "session" (from the summary) or "diary"
    lower_is_better: bool
    modality: str | None = None   # "emg" or "pressure" for session metrics; None for the diary
    summary_key: str = ""         # the key in the session summary (default: ``key``)

    @property
    def field(self) -> str:
        """The session summary's key for this metric."""
        return self.summary_key or self.key

    def format(self, value: float | None) -> str:
        if value is None or not math.isfinite(value):
            return "—"
        if self.unit == "/10":
            return f"{value:g}/10"
        if self.unit == "/5":
            return f"{value:g}/5"
        digits = 2 if self.unit == "s" else 1
        return f"{value:.{digits}f} {self.unit}".strip()


EMG, PRESSURE = "emg", "pressure"

METRICS: dict[str, Metric] = {m.key: m for m in (
    Metric("resting_tone_uv", "Resting tone", "µV", "session", True, EMG),
    Metric("resting_variability_pct", "Resting variability", "%", "session", True, EMG),
    Metric("post_resting_tone_uv", "Resting tone after exercises", "µV", "session", True, EMG),
    Metric("release_latency_s", "Release time", "s", "session", True, EMG),
    Metric("onset_latency_s", "Time to contract", "s", "session", True, EMG),
    Metric("contraction_peak_uv", "Contraction peak (typical)", "µV", "session", False, EMG),
    Metric("time_in_band_pct", "Time in band", "%", "session", False, EMG),
    Metric("resting_tone_cmh2o", "Resting pressure", "cmH2O", "session", True, PRESSURE),
    Metric("post_resting_tone_cmh2o", "Resting pressure after exercises", "cmH2O", "session", True, PRESSURE),
    Metric("contraction_peak_cmh2o", "Squeeze peak above rest (typical)", "cmH2O", "session", False, PRESSURE),
    Metric("abd_coactivation_pct", "Abdominal co-activation", "%", "session", True, EMG),
    Metric("endurance_decline_pct", "Fade during the long hold", "%", "session", True, EMG),
    Metric("pressure_resting_variability_pct", "Resting variability (pressure)", "%", "session", True, PRESSURE,
           "resting_variability_pct"),
    Metric("pressure_release_latency_s", "Release time (pressure)", "s", "session", True, PRESSURE,
           "release_latency_s"),
    Metric("pressure_onset_latency_s", "Time to squeeze (pressure)", "s", "session", True, PRESSURE,
           "onset_latency_s"),
    Metric("pressure_time_in_band_pct", "Time in band (pressure)", "%", "session", False, PRESSURE,
           "time_in_band_pct"),
    Metric("pressure_endurance_decline_pct", "Fade during the long hold (pressure)", "%", "session", True,
           PRESSURE, "endurance_decline_pct"),
    Metric("pain_intercourse", "Pain with intercourse or dilator", "/10", "diary", True),
    Metric("pain_pelvic", "Pelvic pain", "/10", "diary", True),
    Metric("mood", "Mood", "/5", "diary", False),
    Metric("minutes_practised", "Minutes practised", "min", "diary", False),
)}


def check_goal_metric(metric: str) -> str:
    """``metric`` when the catalogue has it; else one line naming those it has."""
    if metric not in METRICS:
        raise UserError(f"unknown goal metric {metric!r}; choose one of {', '.join(METRICS)}")
    return metric


#: Short goal forms accepted on the command line and in the dialog: "resting_tone_uv<5".
def parse_goal(text: str) -> tuple[str, str, float]:
    """Split ``metric<=value`` (or <, >, >=) into its parts."""
    for op in ("<=", ">=", "<", ">"):
        if op in text:
            metric, _, value = text.partition(op)
            metric = metric.strip()
            check_goal_metric(metric)
            try:
                return metric, op, float(value)
            except ValueError:
                break
    raise UserError(f"cannot read the goal {text!r}; write it like release_latency_s<=1 or resting_tone_uv<5")


#: Words that say "this goal counts for every protocol" on the command line (stored as "").
EVERY_PROTOCOL = ("", "all", "any")


def check_goal_protocol(metric: str, protocol: str | None) -> str:
    """The protocol a goal is about, as stored: "" for every protocol.

    Only a session measure belongs to a protocol: a pain or mood goal comes from the diary, so naming a
    protocol for it is refused. Whether the name is a protocol this machine knows is checked where the
    therapist types it (the command line, the goal dialog); a goal arriving in a programme file keeps the
    clinic's name even if this machine lacks that protocol.
    """
    name = (protocol or "").strip()
    if name.lower() in EVERY_PROTOCOL:
        return ""
    if len(name) > 200 or any(ord(ch) < 32 for ch in name):
        raise UserError(f"a goal's protocol must be a protocol's name, got {name[:40]!r}")
    if METRICS[check_goal_metric(metric)].source != "session":
        raise UserError(f"{metric} comes from the diary, not from a session, so its goal cannot name a "
                        f"protocol; leave the protocol out")
    return name
