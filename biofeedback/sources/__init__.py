"""Signal sources and the ``--source`` specification ``KIND[:NAME][?key=value&...]``."""
from __future__ import annotations

from urllib.parse import parse_qsl

from biofeedback.errors import SourceError
from biofeedback.sources.base import Pacer, Source, SourceStatus

__all__ = ["Pacer", "Source", "SourceStatus", "SourceSpec", "parse_spec", "open_source", "KINDS"]


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
        raise SourceError("empty --source; use e.g. 'sim', 'sim:hypertonic', 'replay:FILE' or 'serial:PORT?device=NAME'")
    body, _, query = text.partition("?")
    kind, _, name = body.partition(":")
    kind = kind.strip().lower()
    try:
        options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    except ValueError:
        raise SourceError(f"cannot read the options in --source {text!r}; write them as ?key=value&key=value") from None
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
