"""The stream model: the one shape every layer passes.

A :class:`Block` holds consecutive samples of all channels at one rate, as a
float array ``(n_samples, n_channels)`` in physical units (µV for EMG, cmH2O
for pressure), with the index of its first sample on the device's clock and
the host's arrival time (``time.monotonic()``) for latency figures.
Lost samples are NaN, never interpolated.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

#: Channel kinds. ``emg`` is raw surface EMG, ``emg_rms`` an amplitude that the
#: device already smoothed (clinical units that only send RMS at 10-50 Hz),
#: ``pressure`` a manometry / perineometer channel.
CHANNEL_KINDS = ("emg", "emg_rms", "pressure")
UNITS = {"emg": "uV", "emg_rms": "uV", "pressure": "cmH2O"}


@dataclass(frozen=True)
class Channel:
    """One channel: name (``pfm``, ``abd``, ``pressure``), kind, unit."""

    name: str
    kind: str = "emg"
    unit: str = "uV"

    def __post_init__(self) -> None:
        if self.kind not in CHANNEL_KINDS:
            raise ValueError(f"unknown channel kind {self.kind!r}; expected one of {', '.join(CHANNEL_KINDS)}")

    @property
    def is_emg(self) -> bool:
        return self.kind in ("emg", "emg_rms")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Channel:
        return cls(name=str(d["name"]), kind=str(d.get("kind", "emg")), unit=str(d.get("unit", "uV")))


@dataclass(frozen=True)
class StreamInfo:
    """What a source delivers: its channels, their common rate, and where it comes from."""

    channels: tuple[Channel, ...]
    rate: float
    source: str = ""
    device: str = ""

    def __post_init__(self) -> None:
        if not self.channels:
            raise ValueError("a stream needs at least one channel")
        if not (self.rate > 0):
            raise ValueError(f"sample rate must be positive, got {self.rate}")
        object.__setattr__(self, "channels", tuple(self.channels))

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.channels]

    def index_of(self, name: str) -> int:
        return self.names.index(name)

    def to_dict(self) -> dict[str, Any]:
        return {"channels": [c.to_dict() for c in self.channels], "rate": self.rate,
                "source": self.source, "device": self.device}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StreamInfo:
        return cls(channels=tuple(Channel.from_dict(c) for c in d["channels"]), rate=float(d["rate"]),
                   source=str(d.get("source", "")), device=str(d.get("device", "")))


def primary_channel(info: StreamInfo) -> int:
    """The channel her bands apply to: the pelvic floor if present, else pressure, else the first.

    The one rule for "which channel is hers": the live view, the bands, calibration, the sound and the
    reports all follow it, so a recording is scored on the channel she watched.
    """
    names = info.names
    for name in ("pfm", "pressure"):
        if name in names:
            return names.index(name)
    return 0


@dataclass
class Block:
    """Consecutive samples of all channels, starting at sample index ``start``."""

    start: int
    data: np.ndarray
    arrival: float = 0.0

    def __post_init__(self) -> None:
        data = np.asarray(self.data, dtype=np.float64)
        if data.ndim == 1:
            data = data[:, None]
        if data.ndim != 2:
            raise ValueError(f"block data must be 2-D (n_samples, n_channels), got shape {data.shape}")
        self.data = data

    @property
    def n(self) -> int:
        return int(self.data.shape[0])

    @property
    def stop(self) -> int:
        """Index one past the last sample."""
        return self.start + self.n

    def times(self, rate: float) -> np.ndarray:
        return (self.start + np.arange(self.n)) / rate


@dataclass
class Event:
    """Something that happened at a time on the recording's clock.

    Kinds in use: ``marker`` (therapist's mark), ``step`` (exercise step began;
    ``data`` holds the step), ``protocol`` (start/end), ``calibration``,
    ``gap`` (lost samples; ``data['samples']``), ``disconnected``, ``reconnected``,
    ``summary``.
    """

    time_s: float
    kind: str
    label: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"time_s": self.time_s, "kind": self.kind, "label": self.label, "data": self.data}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Event:
        return cls(time_s=float(d["time_s"]), kind=str(d["kind"]), label=str(d.get("label", "")),
                   data=dict(d.get("data") or {}))


def concat(blocks: list[Block], n_channels: int) -> np.ndarray:
    """Join consecutive blocks' data into one array (no gap filling: callers keep blocks contiguous)."""
    if not blocks:
        return np.empty((0, n_channels))
    return np.concatenate([b.data for b in blocks], axis=0)
