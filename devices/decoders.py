"""Decoder registry: a profile names its decoder by one of these keys."""
from __future__ import annotations

from typing import Any, Protocol

from devices.base import DecodeResult
from devices.bitalino import BitalinoDecoder
from devices.cyton import CytonDecoder
from devices.openeeg import P2Decoder
from devices.text import TextLineDecoder


class Decoder(Protocol):
    """What the serial source needs of a decoder (read-only ``n_columns``: None until a text device shows it)."""

    @property
    def n_columns(self) -> int | None: ...

    def feed(self, data: bytes) -> DecodeResult: ...

    def reset(self) -> None: ...


#: decoder name -> (class, allowed options)
DECODERS: dict[str, tuple[type, frozenset[str]]] = {
    "text": (TextLineDecoder, frozenset({"columns", "counter", "counter_modulo", "counter_max_gap", "max_line"})),
    "cyton": (CytonDecoder, frozenset()),
    "openeeg-p2": (P2Decoder, frozenset()),
    "bitalino": (BitalinoDecoder, frozenset({"channels"})),
}


def make_decoder(name: str, options: dict[str, Any] | None = None) -> Decoder:
    """A fresh decoder; raises ValueError (one line) for an unknown name or option."""
    if name not in DECODERS:
        raise ValueError(f"unknown decoder {name!r}; known decoders: {', '.join(sorted(DECODERS))}")
    cls, allowed = DECODERS[name]
    options = dict(options or {})
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ValueError(f"decoder {name!r} has no option {', '.join(map(repr, unknown))}")
    return cls(**options)
