"""How large a change between two sessions must be before a report calls it a change.

A session's figures wobble from trial to trial and from second to second. The clinician's report marks
a change (better or worse) only when it is larger than this wobble; smaller ones read "about the same".

The threshold is a minimal detectable change at 95 % (MDC95 = 1.96 × √2 × SE), with the standard error
of the session's figure taken from the session itself and the earlier session assumed to wobble as much:

- a mean over squeezes (release time, time to contract, squeeze peak, co-activation):
  SE = between-trial SD / √(number of trials);
- resting tone (before and after the exercises): SE = SD of the 2-second means of the resting
  baseline / √(number of 2-second windows);
- anything else, or when the trials are not at hand: a tenth of the earlier value.

and never less than a floor the equipment and the timing can resolve: 0.1 s, 0.5 µV, 0.5 cmH2O,
5 percentage points.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

MDC_FACTOR = 1.96 * math.sqrt(2.0)
RELATIVE_FALLBACK = 0.10
FLOORS = {"s": 0.1, "µV": 0.5, "uV": 0.5, "cmH2O": 0.5, "%": 5.0}
WINDOW_S = 2.0

#: Session-table keys measured as a mean over trials -> the key in each trial.
_TRIAL_KEYS = {"release_latency_s": "release_latency_s", "onset_latency_s": "onset_latency_s",
               "contraction_peak_uv": "peak_uv", "contraction_peak_cmh2o": "peak_cmh2o",
               "abd_coactivation_pct": "abd_coactivation_pct"}


def _mdc(values: Iterable[Any]) -> float | None:
    v = np.array([float(x) for x in values if isinstance(x, (int, float)) and math.isfinite(float(x))])
    if v.size < 2:
        return None
    return MDC_FACTOR * float(np.std(v, ddof=1)) / math.sqrt(v.size)


def resting_mdc(envelope: np.ndarray, rate: float, start_s: float, end_s: float) -> float | None:
    """MDC95 of a resting mean from the spread of its 2-second means."""
    k = int(WINDOW_S * rate)
    seg = np.asarray(envelope[int(start_s * rate):int(end_s * rate)], dtype=float)
    n = seg.size // k if k > 0 else 0
    if n < 2:
        return None
    with np.errstate(invalid="ignore"):
        means = np.nanmean(seg[:n * k].reshape(n, k), axis=1)
    return _mdc(means)


def change_threshold(key: str, unit: str, before: float | None, trials: list[dict[str, Any]] | None,
                     resting: dict[str, float | None] | None = None) -> float:
    """The smallest change in ``key`` this report calls a change (see the module docstring)."""
    noise = None
    if key in _TRIAL_KEYS and trials:
        noise = _mdc(t.get(_TRIAL_KEYS[key]) for t in trials)
    elif resting and key in resting:
        noise = resting[key]
    if noise is None:
        noise = RELATIVE_FALLBACK * abs(before) if before is not None else 0.0
    return max(noise, FLOORS.get(unit, 0.0))


def direction_words(lower_is_better: bool) -> str:
    return "lower is better" if lower_is_better else "higher is better"
