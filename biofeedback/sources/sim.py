"""The simulated patient as a source: samples are generated from elapsed time, never per-sample sleeps."""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from biofeedback.errors import SourceError
from biofeedback.sources.base import Pacer, Source
from biofeedback.sources.patient import PROFILES, SimulatedPatient
from biofeedback.stream import Block

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_OPTIONS = ("seed", "rate", "abd", "pressure", "emg", "hum", "mains", "artefacts")
GENERATE_AHEAD_S = 0.05  # a change of effort (space bar) shows after at most this much more delay

# Graded effort without a sensor (she learns to aim for "about a third", then to let go slowly or at once)
RAMP_UP_PER_S = 0.25       # space bar held: 0 -> 30 % in about 1.2 s, slow enough to stop inside 20-40 %
LET_GO_PER_S = {"at once": None, "slowly": 0.1}   # space bar released: straight to 0, or 30 % -> 0 in 3 s
EFFORT_STEP = 0.05         # one arrow key press or one notch of the mouse wheel


def _flag(spec_text: str, key: str, value: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise SourceError(f"option {key}={value!r} in {spec_text!r} must be 1 or 0")


class GradedEffort:
    """Her effort (0..1) from the keyboard or mouse: a level she sets, and a ramp while the space bar is held.

    Times are on the source's clock (seconds of signal), so the simulated muscle responds exactly when
    she acts, and a test at any speed sees the same squeeze. The simulated patient calls it as its
    effort script; the muscle's own rise and release (the patient profile) come on top.
    """

    def __init__(self, clock: Callable[[], float], let_go: str = "at once") -> None:
        self.clock = clock
        self.let_go = let_go
        self.held = False
        self._t0, self._e0, self._slope = 0.0, 0.0, 0.0

    @property
    def let_go(self) -> str:
        return self._let_go

    @let_go.setter
    def let_go(self, how: str) -> None:
        if how not in LET_GO_PER_S:
            raise ValueError(f"let go {how!r}? choose {' or '.join(LET_GO_PER_S)}")
        self._let_go = how

    def __call__(self, t_s: float) -> float:
        return self.level_at(t_s)

    def level_at(self, t_s: float) -> float:
        dt = max(0.0, float(t_s) - self._t0)
        return min(1.0, max(0.0, self._e0 + self._slope * dt))

    @property
    def level(self) -> float:
        """Her effort now."""
        return self.level_at(self.clock())

    def _from_now(self, level: float, slope: float) -> None:
        self._t0, self._e0, self._slope = self.clock(), min(1.0, max(0.0, level)), slope

    def set_level(self, level: float) -> None:
        """Hold ``level`` from now (arrow keys, mouse wheel); a held space bar keeps ramping from there."""
        self._from_now(level, RAMP_UP_PER_S if self.held else 0.0)

    def nudge(self, steps: float) -> float:
        """``steps`` arrow presses or wheel notches up (negative: down); returns the new level."""
        self.set_level(round((self.level + steps * EFFORT_STEP) / EFFORT_STEP) * EFFORT_STEP)
        return self.level_at(self._t0)

    def press(self) -> None:
        """Space bar down: the effort ramps up from where it is."""
        self.held = True
        self._from_now(self.level, RAMP_UP_PER_S)

    def release(self) -> None:
        """Space bar up: let go, at once or slowly (``let_go``)."""
        self.held = False
        fall = LET_GO_PER_S[self.let_go]
        self._from_now(0.0, 0.0) if fall is None else self._from_now(self.level, -fall)


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
    def time_s(self) -> float:
        """Where the source's clock stands now (seconds of signal)."""
        return self.pacer.position() / self.info.rate

    def graded_effort(self, let_go: str = "at once") -> GradedEffort:
        """Her effort from the keyboard or mouse drives the simulated muscle (instead of any cue-following demo)."""
        if not isinstance(self.patient.script, GradedEffort):
            self.patient.script = GradedEffort(lambda: self.time_s, let_go)
        return self.patient.script

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
