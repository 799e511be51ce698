"""Plain-language notes next to each metric, in the words a patient and her therapist use."""
from __future__ import annotations

import math
from typing import Any

from biofeedback.clinic.library import Goal

#: The release criterion clinical devices use when no personal goal is set (trials over 2 s are flagged).
DEFAULT_RELEASE_GOAL_S = 2.0

#: What each metric means, said once.
MEANINGS: dict[str, str] = {
    "resting_tone_uv": "Muscle activity while resting; lower means a more relaxed pelvic floor.",
    "resting_variability_pct": "How steady the muscle is at rest; lower is steadier.",
    "post_resting_tone_uv": "Resting activity after the exercises; ideally no higher than before them.",
    "contraction_peak_uv": "The typical contraction: the average of each squeeze's peak.",
    "onset_latency_s": "Time from the cue until the contraction was well under way.",
    "release_latency_s": "Time from the release cue until the muscle let go.",
    "time_in_band_pct": "Share of exercise time spent inside the target band.",
    "resting_tone_cmh2o": "Pressure while resting; lower means a more relaxed pelvic floor.",
    "post_resting_tone_cmh2o": "Resting pressure after the exercises; ideally no higher than before them.",
    "contraction_peak_cmh2o": "The typical squeeze: the average of each squeeze's peak, measured above the "
                              "resting pressure.",
    "abd_coactivation_pct": "Abdominal activity during contractions, as a share of the pelvic floor's; "
                            "lower means the pelvic floor works on its own.",
    "endurance_decline_pct": "How much the long hold faded from its start to its end.",
}


def _num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _fmt(value: float, unit: str) -> str:
    """Short numbers for sentences: 2.3 s, 2 s, 0.62 s, 5 µV, 6.1 µV, 64 %."""
    if unit == "%":
        return f"{value:.0f} %"
    digits = 2 if unit == "s" and abs(value) < 1 else 1
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return f"{text} {unit}"


def goal_phrase(goal: Goal, unit: str) -> str:
    words = {"<": "under", "<=": "at most", ">": "over", ">=": "at least"}[goal.comparison]
    return f"{words} {_fmt(goal.target, unit)}"


def metric_note(key: str, summary: dict[str, Any], unit: str, goals: list[Goal] | None = None) -> str:
    """One or two short sentences about this session's value (with the goal, if the client has one)."""
    value = _num(summary.get(key))
    if value is None:
        return "Not measured in this session."
    goal = next((g for g in (goals or []) if g.metric == key), None)
    if key.startswith("release_latency"):
        target = goal or Goal(0, 0, key, "<", DEFAULT_RELEASE_GOAL_S)
        at_least = "at least " if summary.get("release_latency_lower_bound") else ""
        sentence = f"Release took {at_least}{_fmt(value, 's')}; the goal is {goal_phrase(target, 's')}."
        met = target.is_met_by(value) and not at_least
        sentence += " Met." if met else " Keep practising the slow let-go."
        trials, never = _num(summary.get("trials")), _num(summary.get("trials_not_released"))
        slow = _num(summary.get("trials_slow_release"))
        if trials and never:
            sentence += f" {never:.0f} of {trials:.0f} contractions did not come back down before the next cue."
        elif trials and slow:
            sentence += f" {slow:.0f} of {trials:.0f} took longer than 2 s."
        return sentence
    if key.startswith("post_resting_tone"):
        before = _num(summary.get(key.replace("post_", "", 1)))
        if before is not None:
            diff = value - before
            if diff <= max(0.05 * before, 0.1):
                return f"Came back to the starting level ({_fmt(before, unit)} before): the muscle let go fully."
            return (f"{_fmt(diff, unit)} higher than before the exercises: the muscle did not fully let go "
                    f"by the end.")
    if key.startswith("contraction_peak_"):
        return _peak_note(key, value, summary, unit, goal)
    if key == "abd_coactivation_pct":
        return _coactivation_note(value, goal)
    if key.startswith("onset_latency"):
        return f"Reached the contraction {_fmt(value, 's')} after the cue."
    if key.startswith("time_in_band"):
        return f"In the target band {value:.0f} % of the exercise time."
    text = MEANINGS.get(key, "")
    if goal is not None:
        status = "met" if goal.is_met_by(value) else "not yet met"
        text += f" The goal is {goal_phrase(goal, unit)}: {status}."
    return text.strip()


def _goal_sentence(goal: Goal | None, value: float, unit: str) -> str:
    if goal is None:
        return ""
    return f" The goal is {goal_phrase(goal, unit)}: {'met' if goal.is_met_by(value) else 'not yet met'}."


def _peak_note(key: str, value: float, summary: dict[str, Any], unit: str, goal: Goal | None) -> str:
    """'The average of each squeeze's peak; strongest: 61.2 µV.' (pressure: the rise above rest)."""
    strongest = _num(summary.get(key.replace("contraction_peak_", "contraction_max_", 1)))
    pressure = key.endswith("_cmh2o")
    above = " above the resting pressure" if pressure else ""
    text = f"The average of each squeeze's peak{above}"
    if strongest is not None:
        text += f"; strongest: {_fmt(strongest, unit)}{' above rest' if pressure else ''}"
    if pressure:
        rest = _num(summary.get("resting_tone_cmh2o"))
        if rest is not None:
            text += f" (resting pressure {_fmt(rest, unit)})"
    return (text + "." + _goal_sentence(goal, value, unit)).strip()


def _coactivation_note(value: float, goal: Goal | None) -> str:
    """Abdominal activity as a share of the pelvic floor's, said as 'abdominals 1.5× the pelvic floor'."""
    if value > 100.0:
        times = f"{value / 100.0:.1f}".rstrip("0").rstrip(".")
        text = (f"The abdominals worked {times}× as hard as the pelvic floor during the squeezes ({value:.0f} % of "
                f"its activity): they are doing much of the work; practise squeezing with a soft belly.")
    else:
        text = (f"Abdominal activity was {value:.0f} % of the pelvic floor's during the squeezes; lower means the "
                f"pelvic floor works on its own.")
    return (text + _goal_sentence(goal, value, "%")).strip()


def change_note(key: str, now: float | None, before: float | None, unit: str, lower_is_better: bool,
                since: str) -> str:
    """'down 2.1 µV since the first session (better)'."""
    if now is None or before is None:
        return ""
    diff = now - before
    scale = max(abs(before), 1e-9)
    if abs(diff) < 0.02 * scale:
        return f"about the same as {since}"
    better = (diff < 0) == lower_is_better
    direction = "down" if diff < 0 else "up"
    points = round(abs(diff))
    amount = f"{points} percentage point{'s' if points != 1 else ''}" if unit == "%" else _fmt(abs(diff), unit)
    return f"{direction} {amount} since {since} ({'better' if better else 'worse'})"


def clinician_change(now: float | None, before: float | None, unit: str, lower_is_better: bool, since: str,
                     threshold: float) -> tuple[str, bool]:
    """('down 0.6 s since the first session (better)', True) when the change is larger than ``threshold``
    (the measurement's own noise, see :mod:`biofeedback.reports.noise`); otherwise
    ('about the same as the first session (within ±0.4 s)', False): a wobble is not called worse."""
    if now is None or before is None:
        return "", False
    diff = now - before
    if abs(diff) <= threshold:
        return f"about the same as {since} (within ±{_fmt(threshold, unit)})", False
    better = (diff < 0) == lower_is_better
    direction = "down" if diff < 0 else "up"
    points = round(abs(diff))
    amount = f"{points} percentage point{'s' if points != 1 else ''}" if unit == "%" else _fmt(abs(diff), unit)
    return f"{direction} {amount} since {since} ({'better' if better else 'worse'})", True
