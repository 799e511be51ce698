"""The protocol model: steps, protocols and the rules that validate a protocol document.

A protocol is an ordered list of steps. Each step has a kind (``rest``,
``contract``, ``hold``, ``release``, ``breathe``, ``free``, ``quick``), a
duration, a cue in plain words, the target band that applies (``contraction``,
``release`` or none), the effort a simulated patient aims for, the phase it
belongs to for the metrics (``pre_baseline``, ``flicks``, ``tonic``, ...), a
trial number inside a repeated group, an optional breathing pace, for
dilator practice the window (``anticipation``, ``during``, ``after``) and, for a
contraction-band step, an optional band of its own in percent of the maximum.

File format (``*.json``; the built-ins live next to this module, a user's own
in :func:`user_protocol_dir`)::

    {"name": "work-rest", "title": "Work-rest training", "description": "...",
     "steps": [
       {"kind": "rest", "duration_s": 60, "cue": "Rest and let go", "phase": "pre_baseline"},
       {"repeat": 10, "phase": "work", "steps": [
          {"kind": "contract", "duration_s": 10, "cue": "Squeeze and hold"},
          {"kind": "rest", "duration_s": 10, "cue": "Let go completely"}]},
       {"kind": "rest", "duration_s": 60, "cue": "Rest and let go", "phase": "post_baseline"}]}

Defaults by kind: ``band`` is ``release`` for rest/release/breathe and
``contraction`` for contract/hold/quick; ``effort`` is 0.55 for contract/hold,
0.9 for quick, 0 otherwise; ``phase`` is the group's phase or the kind. Steps
inside a ``repeat`` group get ``trial`` 1..N.

``band_pct`` (optional, contraction-band steps only): ``[low, high]`` in percent of
the maximum voluntary contraction (0-100, low below high), e.g. ``"band_pct": [20, 40]``
for a gentle squeeze to about a third. When the maximum is known (a calibration),
that step's contraction band is this range instead of the session's band (40-70 %
by default): the live plot shows it during the step and the analysis scores the
step's time in band against it. Without a known maximum the session's band applies.
It travels in the step event's data as ``band_pct``. This module never imports Qt.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from biofeedback.errors import UserError

STEP_KINDS = ("rest", "contract", "hold", "release", "breathe", "free", "quick")
BANDS = ("contraction", "release")
WINDOWS = ("anticipation", "during", "after")
#: Share of each breath spent breathing in (4 s in, 6 s out at 6 a minute: a long, calming out-breath).
INHALE_FRACTION = 0.4
#: Kinds whose effort is a contraction (a "trial" is one of these plus the rest that follows it).
CONTRACTION_KINDS = ("contract", "hold", "quick")

_DEFAULT_BAND = {"rest": "release", "release": "release", "breathe": "release",
                 "contract": "contraction", "hold": "contraction", "quick": "contraction", "free": None}
_DEFAULT_EFFORT = {"contract": 0.55, "hold": 0.55, "quick": 0.9}
_STEP_FIELDS = {"kind", "duration_s", "cue", "band", "effort", "phase", "trial", "breathing_bpm", "window",
                "band_pct"}
_GROUP_FIELDS = {"repeat", "steps", "phase", "breathing_bpm"}
_PROTOCOL_FIELDS = {"name", "title", "description", "steps", "breathing_bpm"}
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_MAX_STEP_S = 3600.0
_MAX_REPEAT = 200


@dataclass(frozen=True)
class Step:
    """One step of a protocol, as the patient sees it and as the metrics group it."""

    kind: str
    duration_s: float
    cue: str
    band: str | None = None
    effort: float = 0.0
    phase: str = ""
    trial: int | None = None
    breathing_bpm: float | None = None
    window: str | None = None
    band_pct: tuple[float, float] | None = None   # this step's contraction band, % of the maximum

    @property
    def is_contraction(self) -> bool:
        return self.kind in CONTRACTION_KINDS

    def to_event_data(self, index: int, protocol: str = "") -> dict[str, Any]:
        """The ``data`` of the ``step`` event that marks this step in a recording."""
        return {"index": index, "kind": self.kind, "cue": self.cue, "band": self.band, "effort": self.effort,
                "phase": self.phase, "trial": self.trial, "duration_s": self.duration_s,
                "breathing_bpm": self.breathing_bpm, "window": self.window, "protocol": protocol,
                "band_pct": None if self.band_pct is None else list(self.band_pct)}

    @classmethod
    def from_event_data(cls, data: dict[str, Any], label: str = "") -> Step:
        """Rebuild a step from a recorded ``step`` event (tolerant of missing fields)."""
        kind = str(data.get("kind") or "free")
        trial = data.get("trial")
        bpm = data.get("breathing_bpm")
        return cls(kind=kind, duration_s=float(data.get("duration_s") or 0.0), cue=str(data.get("cue") or label),
                   band=data.get("band", _DEFAULT_BAND.get(kind)), effort=float(data.get("effort") or 0.0),
                   phase=str(data.get("phase") or kind), trial=None if trial is None else int(trial),
                   breathing_bpm=None if bpm is None else float(bpm), window=data.get("window"),
                   band_pct=_event_band_pct(data.get("band_pct")))


@dataclass(frozen=True)
class Protocol:
    """A named, ordered sequence of steps (repeat groups already expanded)."""

    name: str
    title: str
    description: str
    steps: tuple[Step, ...]
    path: str = ""

    @property
    def total_s(self) -> float:
        return float(sum(s.duration_s for s in self.steps))

    @property
    def phases(self) -> list[str]:
        """Phase names in order of first appearance."""
        seen: list[str] = []
        for s in self.steps:
            if s.phase not in seen:
                seen.append(s.phase)
        return seen


# --------------------------------------------------------------------------- validation

def protocol_error(where: str, what: str) -> UserError:
    """The one-line error for a protocol that breaks a rule: where it is and what to change."""
    return UserError(f"protocol {where}: {what}")


def _number(value: Any, where: str, field: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise protocol_error(where, f"{field} must be a number, got {value!r}")
    if not (lo <= float(value) <= hi):
        raise protocol_error(where, f"{field} must be between {lo:g} and {hi:g}, got {value!r}")
    return float(value)


def _event_band_pct(value: Any) -> tuple[float, float] | None:
    """``band_pct`` from a recorded step event: a valid [low, high] or None (a damaged value is ignored)."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return None
    try:
        lo, hi = (_number(v, "event", "band_pct", 0.0, 100.0) for v in value)
    except UserError:
        return None
    return (lo, hi) if lo < hi else None


def _parse_band_pct(value: Any, where: str, band: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    if band != "contraction":
        raise protocol_error(where, "band_pct sets a contraction band; it needs a step with the contraction band")
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise protocol_error(where, "band_pct must be [low, high] in percent of the maximum, like [20, 40], "
                                    f"got {value!r}")
    lo = _number(value[0], where, "band_pct low", 0.0, 100.0)
    hi = _number(value[1], where, "band_pct high", 0.0, 100.0)
    if not lo < hi:
        raise protocol_error(where, f"band_pct low must be below high, got {value!r}")
    return lo, hi


def _parse_step(d: Any, where: str, group: dict[str, Any], trial: int | None) -> Step:
    if not isinstance(d, dict):
        raise protocol_error(where, 'each step must be an object like {"kind": "rest", "duration_s": 10, "cue": "..."}')
    unknown = set(d) - _STEP_FIELDS
    if unknown:
        raise protocol_error(where, f"unknown field {sorted(unknown)[0]!r} (known: {', '.join(sorted(_STEP_FIELDS))})")
    kind = d.get("kind")
    if kind not in STEP_KINDS:
        raise protocol_error(where, f"kind must be one of {', '.join(STEP_KINDS)}, got {kind!r}")
    if "duration_s" not in d:
        raise protocol_error(where, "duration_s is missing")
    duration = _number(d["duration_s"], where, "duration_s", 0.1, _MAX_STEP_S)
    cue = d.get("cue")
    if not isinstance(cue, str) or not cue.strip():
        raise protocol_error(where, "cue must be a non-empty text in plain words")
    band = d.get("band", _DEFAULT_BAND[kind])
    if band is not None and band not in BANDS:
        raise protocol_error(where, f"band must be 'contraction', 'release' or null, got {band!r}")
    effort = _number(d.get("effort", _DEFAULT_EFFORT.get(kind, 0.0)), where, "effort", 0.0, 1.0)
    phase = d.get("phase", group.get("phase", kind))
    if not isinstance(phase, str) or not _NAME_RE.match(phase):
        raise protocol_error(where, f"phase must be a short lower-case name like 'pre_baseline', got {phase!r}")
    if "trial" in d:
        t = d["trial"]
        if t is not None and (isinstance(t, bool) or not isinstance(t, int) or t < 1):
            raise protocol_error(where, f"trial must be a positive whole number or null, got {t!r}")
        trial = t
    bpm = d.get("breathing_bpm", group.get("breathing_bpm") if kind in ("breathe", "release", "rest") else None)
    if bpm is not None:
        bpm = _number(bpm, where, "breathing_bpm", 2.0, 20.0)
    window = d.get("window")
    if window is not None and window not in WINDOWS:
        raise protocol_error(where, f"window must be one of {', '.join(WINDOWS)} or null, got {window!r}")
    band_pct = _parse_band_pct(d.get("band_pct"), where, band)
    return Step(kind=kind, duration_s=duration, cue=cue.strip(), band=band, effort=effort, phase=phase,
                trial=trial, breathing_bpm=bpm, window=window, band_pct=band_pct)


def parse_protocol(data: Any, where: str = "<data>", default_name: str = "") -> Protocol:
    """Validate a decoded protocol document; raise :class:`UserError` (one line) when it is wrong."""
    if not isinstance(data, dict):
        raise protocol_error(where, "the file must hold one JSON object with 'name', 'title' and 'steps'")
    unknown = set(data) - _PROTOCOL_FIELDS
    if unknown:
        known = ", ".join(sorted(_PROTOCOL_FIELDS))
        raise protocol_error(where, f"unknown field {sorted(unknown)[0]!r} (known: {known})")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise protocol_error(where, f"name must be lower-case letters, digits, '-' or '_', got {name!r}")
    title = data.get("title", name)
    description = data.get("description", "")
    if not isinstance(title, str) or not isinstance(description, str):
        raise protocol_error(where, "title and description must be text")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise protocol_error(where, "steps must be a non-empty list")
    top = {"breathing_bpm": data.get("breathing_bpm")} if data.get("breathing_bpm") is not None else {}
    steps: list[Step] = []
    for i, item in enumerate(raw_steps, start=1):
        here = f"{where} step {i}"
        if isinstance(item, dict) and "repeat" in item:
            unknown = set(item) - _GROUP_FIELDS
            if unknown:
                raise protocol_error(here, f"unknown field {sorted(unknown)[0]!r} in a repeat group "
                                  f"(known: {', '.join(sorted(_GROUP_FIELDS))})")
            n = item["repeat"]
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= _MAX_REPEAT:
                raise protocol_error(here, f"repeat must be a whole number from 1 to {_MAX_REPEAT}, got {n!r}")
            inner = item.get("steps")
            if not isinstance(inner, list) or not inner:
                raise protocol_error(here, "a repeat group needs a non-empty 'steps' list")
            group = dict(top)
            group.update({k: item[k] for k in ("phase", "breathing_bpm") if k in item})
            for trial in range(1, n + 1):
                for j, sub in enumerate(inner, start=1):
                    if isinstance(sub, dict) and "repeat" in sub:
                        raise protocol_error(f"{here}.{j}", "repeat groups cannot be nested")
                    steps.append(_parse_step(sub, f"{here}.{j}", group, trial))
        else:
            steps.append(_parse_step(item, here, top, None))
    return Protocol(name=name, title=title, description=description, steps=tuple(steps))


def with_breathing_bpm(protocol: Protocol, bpm: float) -> Protocol:
    """The same protocol with every breathing pacer set to ``bpm`` breaths a minute."""
    bpm = _number(bpm, protocol.name, "breathing pace", 2.0, 20.0)
    steps = tuple(replace(s, breathing_bpm=bpm) if s.breathing_bpm is not None else s for s in protocol.steps)
    return replace(protocol, steps=steps)
