"""The simulated patient as a source: samples are generated from elapsed time, never per-sample sleeps."""
from __future__ import annotations

import time

import numpy as np

from biofeedback.errors import SourceError
from biofeedback.sources.base import Pacer, Source
from biofeedback.sources.patient import PROFILES, SimulatedPatient
from biofeedback.stream import Block

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_OPTIONS = ("seed", "rate", "abd", "pressure", "emg", "hum", "mains", "artefacts")
GENERATE_AHEAD_S = 0.05  # a change of effort (space bar) shows after at most this much more delay


def _flag(spec_text: str, key: str, value: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise SourceError(f"option {key}={value!r} in {spec_text!r} must be 1 or 0")


class SimSource(Source):
    """A :class:`SimulatedPatient` paced by the wall clock (or as fast as possible with ``speed=None``)."""

    def __init__(self, patient: SimulatedPatient, speed: float | None = 1.0, duration_s: float | None = None,
                 clock=time.monotonic) -> None:
        super().__init__()
        self.patient = patient
        self.info = patient.info
        self.pacer = Pacer(patient.rate, speed, clock=clock)
        self.duration_samples = None if duration_s is None else int(round(duration_s * patient.rate))
        self._pos = 0
        # Generating costs a fixed overhead per call, so samples are made ahead in ~50 ms batches and
        # released when their time comes (the output does not depend on the batching).
        self._batch = max(1, int(round(GENERATE_AHEAD_S * patient.rate)))
        self._ahead = np.empty((0, patient.info.n_channels))

    def start(self) -> None:
        self.pacer.start(self._pos)
        self._status.state = "streaming"
        self._status.measured_rate = self.info.rate

    def read(self) -> list[Block]:
        n = self.pacer.due()
        if self.duration_samples is not None:
            n = min(n, self.duration_samples - self._pos)
        if n <= 0:
            if self.finished:
                self._status.state = "ended"
            return []
        if self._ahead.shape[0] < n:
            more = self.patient.generate(max(n - self._ahead.shape[0], self._batch))
            self._ahead = np.concatenate([self._ahead, more]) if self._ahead.shape[0] else more
        data, self._ahead = self._ahead[:n], self._ahead[n:]
        # arrival: when the newest sample became due, as a device would have sent it
        block = Block(self._pos, data, self.pacer.wall_time_of(self._pos + n))
        self._pos += n
        return [block]

    @property
    def finished(self) -> bool:
        return self.duration_samples is not None and self._pos >= self.duration_samples

    def stop(self) -> None:
        self._status.state = "idle"


def _signal_options(spec) -> dict:
    """``hum`` (µV RMS), ``mains`` (50 or 60 Hz) and ``artefacts`` (per minute, surviving the high-pass)."""
    out: dict = {}
    try:
        if "hum" in spec.options:
            out["hum_uv"] = float(spec.options["hum"])
        if "mains" in spec.options:
            out["mains_hz"] = float(spec.options["mains"])
        if "artefacts" in spec.options:
            out["artefacts_per_min"] = float(spec.options["artefacts"])
    except ValueError:
        raise SourceError(f"hum, mains and artefacts must be numbers in {spec.text!r}") from None
    return out


def open_sim(spec, speed: float | None) -> SimSource:
    """``sim[:PROFILE][?seed=N&rate=HZ&abd=1&pressure=1&emg=1&hum=UV&mains=50|60&artefacts=PER_MIN]``"""
    unknown = set(spec.options) - set(_OPTIONS)
    if unknown:
        raise SourceError(f"unknown option {sorted(unknown)[0]!r} in {spec.text!r}; sim takes {', '.join(_OPTIONS)}")
    name = spec.name or "healthy"
    if name not in PROFILES:
        raise SourceError(f"unknown simulated patient {name!r}; choose one of {', '.join(PROFILES)}")
    try:
        seed = int(spec.options.get("seed", 0))
        rate = float(spec.options.get("rate", 2000))
    except ValueError:
        raise SourceError(f"seed must be a whole number and rate a number of Hz in {spec.text!r}") from None
    if seed < 0:
        raise SourceError(f"seed must be 0 or more in {spec.text!r}")
    if not (50 <= rate <= 20000):
        raise SourceError(f"rate={rate:g} in {spec.text!r} is out of range (50-20000 Hz)")
    patient = SimulatedPatient(
        name, rate=rate, seed=seed,
        abdominal=_flag(spec.text, "abd", spec.options.get("abd", "0")),
        pressure=_flag(spec.text, "pressure", spec.options.get("pressure", "0")),
        emg=_flag(spec.text, "emg", spec.options.get("emg", "1")),
        **_signal_options(spec),
    )
    return SimSource(patient, speed)
