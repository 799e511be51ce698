"""Signal sources and the ``--source`` specification ``KIND[:NAME][?key=value&...]``."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

from biofeedback.errors import SourceError
from biofeedback.sources.base import Pacer, Source, SourceStatus

__all__ = ["Pacer", "Source", "SourceStatus", "SourceSpec", "parse_spec", "open_source", "KINDS", "is_replay",
           "describe_source"]


class SourceSpec:
    """A parsed ``--source`` string."""

    def __init__(self, kind: str, name: str, options: dict[str, str], text: str) -> None:
        self.kind, self.name, self.options, self.text = kind, name, options, text

    def __repr__(self) -> str:
        return f"SourceSpec({self.text!r})"


def parse_spec(text: str) -> SourceSpec:
    """Split ``KIND[:NAME][?key=value&...]``; the name may itself hold colons (``replay:C:/x.bfr``)."""
    text = (text or "").strip()
    if not text:
        raise SourceError("empty --source; use e.g. 'sim', 'sim:hypertonic', 'replay:FILE' "
                          "or 'serial:PORT?device=NAME'")
    body, _, query = text.partition("?")
    kind, _, name = body.partition(":")
    kind = kind.strip().lower()
    try:
        options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    except ValueError:
        raise SourceError(f"cannot read the options in --source {text!r}; "
                          "write them as ?key=value&key=value") from None
    return SourceSpec(kind, name.strip(), options, text)


def _open_sim(spec: SourceSpec, speed: float | None) -> Source:
    from biofeedback.sources.sim import open_sim
    return open_sim(spec, speed)


def _open_replay(spec: SourceSpec, speed: float | None) -> Source:
    from biofeedback.sources.replay import open_replay
    return open_replay(spec, speed)


def _open_serial(spec: SourceSpec, speed: float | None) -> Source:
    from biofeedback.sources.serial import open_serial
    return open_serial(spec, speed)


#: kind -> opener(spec, speed) ; other modules register more kinds (serial, lsl)
KINDS = {
    "sim": _open_sim,
    "replay": _open_replay,
    "serial": _open_serial,
}


def open_source(text: str, speed: float | None = 1.0) -> Source:
    """Build (not start) the source a ``--source`` string names. ``speed`` None = as fast as possible."""
    spec = parse_spec(text)
    opener = KINDS.get(spec.kind)
    if opener is None:
        raise SourceError(f"unknown source kind {spec.kind!r} in {text!r}; known kinds: {', '.join(sorted(KINDS))}")
    return opener(spec, speed)


def is_replay(source: str | SourceSpec | Source | None) -> bool:
    """True when ``source`` plays back a recording: a ``--source`` text, a parsed spec or an opened source.

    A replay has no live patient: nothing may be recorded over it, calibrated or zeroed, and its steps
    come from the file. A text that does not parse is no replay.
    """
    if isinstance(source, Source):
        from biofeedback.sources.replay import ReplaySource
        return isinstance(source, ReplaySource)
    if isinstance(source, str):
        try:
            source = parse_spec(source)
        except SourceError:
            return False
    return isinstance(source, SourceSpec) and source.kind == "replay"


def describe_source(source: str | SourceSpec) -> str:
    """A source in plain words for the window's status line: ``Simulated patient · hypertonic``,
    ``Replay · session.bfr``, ``Sensor · /dev/ttyUSB0 (openbci-cyton)``; a text that does not parse as itself."""
    try:
        spec = source if isinstance(source, SourceSpec) else parse_spec(source)
    except SourceError:
        return str(source)
    if spec.kind == "sim":
        return f"Simulated patient · {spec.name or 'healthy'}"
    if spec.kind == "replay":
        return f"Replay · {Path(spec.name).name}"
    if spec.kind == "serial":
        device = spec.options.get("device", "")
        return f"Sensor · {spec.name}" + (f" ({device})" if device else "")
    return spec.text
