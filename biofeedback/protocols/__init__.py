"""Guided exercise protocols: declarative JSON files, a loader, a timeline, a runner and a scripted patient.

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

import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from biofeedback.errors import UserError
from biofeedback.paths import from_env_or, user_config_dir
from biofeedback.stream import Event

__all__ = [
    "STEP_KINDS", "BANDS", "WINDOWS", "INHALE_FRACTION", "Step", "Protocol", "StepState",
    "ProtocolRunner", "builtin_dir", "user_protocol_dir", "list_protocols", "load_protocol",
    "parse_protocol", "timeline", "effort_script", "breathing_anchors", "with_breathing_bpm",
]

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


@dataclass(frozen=True)
class StepState:
    """Where a running protocol is at one moment: what the cue panel shows."""

    step: Step
    index: int
    n_steps: int
    elapsed_s: float
    remaining_s: float
    next_step: Step | None
    breathing_phase: float | None  # 0..1 through the current breath, None when the step has no pacer
    protocol_elapsed_s: float
    protocol_total_s: float
    protocol_title: str = ""

    @property
    def next(self) -> Step | None:  # noqa: A003 - the clinic's word
        return self.next_step

    @property
    def progress(self) -> float:
        """Share of the current step already done, 0..1."""
        d = self.step.duration_s
        return 1.0 if d <= 0 else min(1.0, max(0.0, self.elapsed_s / d))

    @property
    def breathing_in(self) -> bool | None:
        """True on the in-breath, False on the out-breath, None without a pacer."""
        if self.breathing_phase is None:
            return None
        return self.breathing_phase < INHALE_FRACTION


# --------------------------------------------------------------------------- files

def builtin_dir() -> Path:
    """Folder of the protocols that ship with the package."""
    return Path(__file__).resolve().parent


def user_protocol_dir() -> Path:
    """The user's own protocols: ``$BIOFEEDBACK_PROTOCOLS`` or the platform's config folder."""
    return from_env_or("BIOFEEDBACK_PROTOCOLS", user_config_dir("protocols"))


def _fail(where: str, what: str) -> UserError:
    return UserError(f"protocol {where}: {what}")


def _number(value: Any, where: str, field: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise _fail(where, f"{field} must be a number, got {value!r}")
    if not (lo <= float(value) <= hi):
        raise _fail(where, f"{field} must be between {lo:g} and {hi:g}, got {value!r}")
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
        raise _fail(where, "band_pct sets a contraction band; it needs a step with the contraction band")
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise _fail(where, f"band_pct must be [low, high] in percent of the maximum, like [20, 40], got {value!r}")
    lo = _number(value[0], where, "band_pct low", 0.0, 100.0)
    hi = _number(value[1], where, "band_pct high", 0.0, 100.0)
    if not lo < hi:
        raise _fail(where, f"band_pct low must be below high, got {value!r}")
    return lo, hi


def _parse_step(d: Any, where: str, group: dict[str, Any], trial: int | None) -> Step:
    if not isinstance(d, dict):
        raise _fail(where, "each step must be an object like {\"kind\": \"rest\", \"duration_s\": 10, \"cue\": \"...\"}")
    unknown = set(d) - _STEP_FIELDS
    if unknown:
        raise _fail(where, f"unknown field {sorted(unknown)[0]!r} (known: {', '.join(sorted(_STEP_FIELDS))})")
    kind = d.get("kind")
    if kind not in STEP_KINDS:
        raise _fail(where, f"kind must be one of {', '.join(STEP_KINDS)}, got {kind!r}")
    if "duration_s" not in d:
        raise _fail(where, "duration_s is missing")
    duration = _number(d["duration_s"], where, "duration_s", 0.1, _MAX_STEP_S)
    cue = d.get("cue")
    if not isinstance(cue, str) or not cue.strip():
        raise _fail(where, "cue must be a non-empty text in plain words")
    band = d.get("band", _DEFAULT_BAND[kind])
    if band is not None and band not in BANDS:
        raise _fail(where, f"band must be 'contraction', 'release' or null, got {band!r}")
    effort = _number(d.get("effort", _DEFAULT_EFFORT.get(kind, 0.0)), where, "effort", 0.0, 1.0)
    phase = d.get("phase", group.get("phase", kind))
    if not isinstance(phase, str) or not _NAME_RE.match(phase):
        raise _fail(where, f"phase must be a short lower-case name like 'pre_baseline', got {phase!r}")
    if "trial" in d:
        t = d["trial"]
        if t is not None and (isinstance(t, bool) or not isinstance(t, int) or t < 1):
            raise _fail(where, f"trial must be a positive whole number or null, got {t!r}")
        trial = t
    bpm = d.get("breathing_bpm", group.get("breathing_bpm") if kind in ("breathe", "release", "rest") else None)
    if bpm is not None:
        bpm = _number(bpm, where, "breathing_bpm", 2.0, 20.0)
    window = d.get("window")
    if window is not None and window not in WINDOWS:
        raise _fail(where, f"window must be one of {', '.join(WINDOWS)} or null, got {window!r}")
    band_pct = _parse_band_pct(d.get("band_pct"), where, band)
    return Step(kind=kind, duration_s=duration, cue=cue.strip(), band=band, effort=effort, phase=phase,
                trial=trial, breathing_bpm=bpm, window=window, band_pct=band_pct)


def parse_protocol(data: Any, where: str = "<data>", default_name: str = "") -> Protocol:
    """Validate a decoded protocol document; raise :class:`UserError` (one line) when it is wrong."""
    if not isinstance(data, dict):
        raise _fail(where, "the file must hold one JSON object with 'name', 'title' and 'steps'")
    unknown = set(data) - _PROTOCOL_FIELDS
    if unknown:
        raise _fail(where, f"unknown field {sorted(unknown)[0]!r} (known: {', '.join(sorted(_PROTOCOL_FIELDS))})")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise _fail(where, f"name must be lower-case letters, digits, '-' or '_', got {name!r}")
    title = data.get("title", name)
    description = data.get("description", "")
    if not isinstance(title, str) or not isinstance(description, str):
        raise _fail(where, "title and description must be text")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise _fail(where, "steps must be a non-empty list")
    top = {"breathing_bpm": data.get("breathing_bpm")} if data.get("breathing_bpm") is not None else {}
    steps: list[Step] = []
    for i, item in enumerate(raw_steps, start=1):
        here = f"{where} step {i}"
        if isinstance(item, dict) and "repeat" in item:
            unknown = set(item) - _GROUP_FIELDS
            if unknown:
                raise _fail(here, f"unknown field {sorted(unknown)[0]!r} in a repeat group "
                                  f"(known: {', '.join(sorted(_GROUP_FIELDS))})")
            n = item["repeat"]
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= _MAX_REPEAT:
                raise _fail(here, f"repeat must be a whole number from 1 to {_MAX_REPEAT}, got {n!r}")
            inner = item.get("steps")
            if not isinstance(inner, list) or not inner:
                raise _fail(here, "a repeat group needs a non-empty 'steps' list")
            group = dict(top)
            group.update({k: item[k] for k in ("phase", "breathing_bpm") if k in item})
            for trial in range(1, n + 1):
                for j, sub in enumerate(inner, start=1):
                    if isinstance(sub, dict) and "repeat" in sub:
                        raise _fail(f"{here}.{j}", "repeat groups cannot be nested")
                    steps.append(_parse_step(sub, f"{here}.{j}", group, trial))
        else:
            steps.append(_parse_step(item, here, top, None))
    return Protocol(name=name, title=title, description=description, steps=tuple(steps))


def _read_file(path: Path) -> Protocol:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read protocol file {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(str(path), f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    proto = parse_protocol(data, where=str(path), default_name=path.stem.lower())
    return replace(proto, path=str(path))


#: The order the built-ins are offered in: assessment first, then training, then release practice.
_BUILTIN_ORDER = ("glazer", "work-rest", "work-rest-5-10", "quick-flicks", "endurance", "relaxation", "dilator")


def _builtin_files() -> list[Path]:
    rank = {n: i for i, n in enumerate(_BUILTIN_ORDER)}
    return sorted(builtin_dir().glob("*.json"), key=lambda p: (rank.get(p.stem, len(rank)), p.stem))


def list_protocols(user_dir: Path | None = None, errors: list[str] | None = None) -> list[Protocol]:
    """Built-in protocols, then the user's own (a broken user file is skipped; its one-line error goes to ``errors``)."""
    found: list[Protocol] = [_read_file(p) for p in _builtin_files()]
    names = {p.name for p in found}
    folder = Path(user_dir) if user_dir is not None else user_protocol_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            try:
                proto = _read_file(path)
            except UserError as exc:
                if errors is not None:
                    errors.append(str(exc))
                continue
            if proto.name in names:
                if errors is not None:
                    errors.append(f"protocol {path}: name {proto.name!r} is already taken; rename it")
                continue
            names.add(proto.name)
            found.append(proto)
    return found


def load_protocol(name_or_path: str, user_dir: Path | None = None, breathing_bpm: float | None = None) -> Protocol:
    """A protocol by name (built-in or the user's) or by file path; ``breathing_bpm`` overrides the pacer's pace."""
    text = str(name_or_path or "").strip()
    if not text:
        raise UserError("no protocol given; run 'biofeedback protocols' to see the names")
    path = Path(text).expanduser()
    if path.suffix.lower() == ".json" or os.sep in text or (os.altsep and os.altsep in text):
        if not path.is_file():
            raise UserError(f"protocol file {path} does not exist")
        proto = _read_file(path)
    else:
        key = text.lower()
        candidates = [p for p in list_protocols(user_dir) if p.name == key]
        if not candidates:
            known = ", ".join(p.name for p in list_protocols(user_dir))
            raise UserError(f"unknown protocol {text!r}; known protocols: {known}")
        proto = candidates[0]
    return with_breathing_bpm(proto, breathing_bpm) if breathing_bpm is not None else proto


def with_breathing_bpm(protocol: Protocol, bpm: float) -> Protocol:
    """The same protocol with every breathing pacer set to ``bpm`` breaths a minute."""
    bpm = _number(bpm, protocol.name, "breathing pace", 2.0, 20.0)
    steps = tuple(replace(s, breathing_bpm=bpm) if s.breathing_bpm is not None else s for s in protocol.steps)
    return replace(protocol, steps=steps)


# --------------------------------------------------------------------------- time

def timeline(protocol: Protocol, start_s: float = 0.0) -> list[tuple[float, float, Step]]:
    """``(start_s, end_s, step)`` for every step, in order."""
    out: list[tuple[float, float, Step]] = []
    t = float(start_s)
    for step in protocol.steps:
        out.append((t, t + step.duration_s, step))
        t += step.duration_s
    return out


def breathing_anchors(protocol: Protocol, start_s: float = 0.0) -> list[float | None]:
    """For each step, when its breathing cycle began (None without a pacer).

    Consecutive steps at the same pace share one continuous breathing rhythm; a
    new rhythm (after a contraction, say) begins with an in-breath, so the
    release cue that opens it falls on the in-breath.
    """
    anchors: list[float | None] = []
    prev_bpm: float | None = None
    anchor: float | None = None
    for start, _end, step in timeline(protocol, start_s):
        bpm = step.breathing_bpm
        if bpm is None:
            anchor = None
        elif anchor is None or bpm != prev_bpm:
            anchor = start
        anchors.append(anchor)
        prev_bpm = bpm
    return anchors


class ProtocolRunner:
    """Walks a protocol on the stream clock: step events as steps begin, and the state at any moment."""

    def __init__(self, protocol: Protocol, start_s: float = 0.0) -> None:
        self.protocol = protocol
        self.start_s = float(start_s)
        self._timeline = timeline(protocol, self.start_s)
        self._anchors = breathing_anchors(protocol, self.start_s)
        self._starts = np.array([t[0] for t in self._timeline])
        self.end_s = self.start_s + protocol.total_s
        self._emitted = 0          # steps whose event has been returned
        self._started = False
        self._ended = False

    @property
    def finished(self) -> bool:
        """True once :meth:`update` has passed the end of the last step."""
        return self._ended

    def update(self, t_s: float) -> list[Event]:
        """Events for everything that began by ``t_s`` (each stamped with its exact start time)."""
        events: list[Event] = []
        if t_s < self.start_s or self._ended:
            return events
        if not self._started:
            self._started = True
            events.append(Event(self.start_s, "protocol", "start",
                                {"name": self.protocol.name, "title": self.protocol.title,
                                 "total_s": self.protocol.total_s, "steps": len(self.protocol.steps)}))
        while self._emitted < len(self._timeline) and self._timeline[self._emitted][0] <= t_s:
            start, _end, step = self._timeline[self._emitted]
            events.append(Event(start, "step", step.cue, step.to_event_data(self._emitted, self.protocol.name)))
            self._emitted += 1
        if t_s >= self.end_s:
            self._ended = True
            events.append(Event(self.end_s, "protocol", "end", {"name": self.protocol.name}))
        return events

    def index_at(self, t_s: float) -> int | None:
        """Index of the step running at ``t_s`` (None before the start or after the end)."""
        if t_s < self.start_s or t_s >= self.end_s or not self._timeline:
            return None
        return int(np.searchsorted(self._starts, t_s, side="right") - 1)

    def current(self, t_s: float) -> StepState | None:
        """What is happening at ``t_s``: the step, its countdown, what comes next, the breathing phase."""
        i = self.index_at(t_s)
        if i is None:
            return None
        start, end, step = self._timeline[i]
        anchor = self._anchors[i]
        breathing = None
        if anchor is not None and step.breathing_bpm:
            breathing = float(((t_s - anchor) * step.breathing_bpm / 60.0) % 1.0)
        nxt = self._timeline[i + 1][2] if i + 1 < len(self._timeline) else None
        return StepState(step=step, index=i, n_steps=len(self._timeline), elapsed_s=t_s - start,
                         remaining_s=max(0.0, end - t_s), next_step=nxt, breathing_phase=breathing,
                         protocol_elapsed_s=t_s - self.start_s, protocol_total_s=self.protocol.total_s,
                         protocol_title=self.protocol.title)


def effort_script(protocol: Protocol, reaction_s: float = 0.35, start_s: float = 0.0,
                  seed: int = 0) -> Callable[[Any], Any]:
    """``t_s -> target effort`` of a patient who follows the cues, each a little late (a human reaction delay).

    Each step's effort begins ``reaction_s`` (±20 %, fixed per step by ``seed``) after its cue;
    before the start and after the end the effort is 0. Accepts a float or a numpy array of times.
    """
    tl = timeline(protocol, start_s)
    rng = np.random.default_rng(seed)
    delays = np.clip(rng.normal(reaction_s, 0.2 * reaction_s, len(tl)), 0.5 * reaction_s, 1.5 * reaction_s)
    starts = np.array([s for s, _, _ in tl] + [start_s + protocol.total_s]) + np.append(delays, delays[-1])
    efforts = np.array([st.effort for _, _, st in tl] + [0.0])

    def script(t_s: Any) -> Any:
        t = np.asarray(t_s, dtype=np.float64)
        idx = np.searchsorted(starts, t, side="right") - 1
        out = np.where(idx >= 0, efforts[np.clip(idx, 0, len(efforts) - 1)], 0.0)
        return float(out) if out.ndim == 0 else out

    return script
