"""The small interface every signal source shares: start, read what is available, stop, status."""
from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

from biofeedback.stream import Block, Event, StreamInfo

#: Source states, in the words the status bar shows.
STATES = ("idle", "connecting", "streaming", "paused", "disconnected", "ended", "error")


@dataclass
class SourceStatus:
    state: str = "idle"
    message: str = ""
    measured_rate: float | None = None
    dropped: int = 0  # samples lost so far (NaN in the stream)


class Source(ABC):
    """A signal source. ``read`` never blocks for long: it returns the blocks that are ready."""

    info: StreamInfo

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._events_lock = threading.Lock()
        self._status = SourceStatus()

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def read(self) -> list[Block]:
        """Return the consecutive blocks that became available since the last call (maybe none)."""

    @abstractmethod
    def stop(self) -> None: ...

    @property
    def status(self) -> SourceStatus:
        return self._status

    @property
    def finished(self) -> bool:
        """True once no more samples will ever come (end of a replay or of a timed simulation)."""
        return False

    def emit(self, event: Event) -> None:
        with self._events_lock:
            self._events.append(event)

    def pop_events(self) -> list[Event]:
        """Events the source itself produced (gaps, disconnections, replayed events) since the last call."""
        with self._events_lock:
            events, self._events = self._events, []
        return events


class Pacer:
    """Turns wall-clock time into a sample count on the source's clock.

    ``speed`` is a multiple of real time, or ``None`` for as fast as possible (each
    call to :meth:`due` then allows ``max_chunk`` more samples). Pause, resume and
    speed changes keep the timeline continuous.
    """

    def __init__(self, rate: float, speed: float | None = 1.0, max_chunk_s: float = 1.0,
                 clock=time.monotonic) -> None:
        self.rate = float(rate)
        self.speed = speed
        self.max_chunk = max(1, int(round(max_chunk_s * rate)))
        self._clock = clock
        self._anchor_wall: float | None = None
        self._anchor_sample = 0
        self.paused = False
        self._issued = 0

    def start(self, at_sample: int = 0) -> None:
        self._anchor_wall = self._clock()
        self._anchor_sample = at_sample
        self._issued = at_sample

    def position(self) -> int:
        """Sample index the timeline has reached now."""
        if self._anchor_wall is None or self.paused or self.speed is None:
            return self._issued
        elapsed = self._clock() - self._anchor_wall
        return self._anchor_sample + int(elapsed * self.speed * self.rate)

    def due(self) -> int:
        """How many samples may be issued now (and counts them as issued)."""
        if self._anchor_wall is None or self.paused:
            return 0
        if self.speed is None:
            n = self.max_chunk
        else:
            behind = self.position() - self._issued
            n = max(0, min(behind, self.max_chunk * 4))
            if behind > self.max_chunk * 4:
                # fell far behind (machine asleep, debugger): skip ahead rather than burst
                self._anchor_wall = self._clock()
                self._anchor_sample = self._issued + n
        self._issued += n
        return n

    def wall_time_of(self, sample: int) -> float:
        """Host time at which ``sample`` became due (now, for as-fast-as-possible or before start)."""
        now = self._clock()
        if self._anchor_wall is None or self.speed is None or self.paused:
            return now
        return min(now, self._anchor_wall + (sample - self._anchor_sample) / (self.speed * self.rate))

    def _reanchor(self) -> None:
        self._anchor_wall = self._clock()
        self._anchor_sample = self._issued

    def pause(self) -> None:
        if not self.paused:
            self.paused = True

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            self._reanchor()

    def set_speed(self, speed: float | None) -> None:
        self.speed = speed
        self._reanchor()

    def seek(self, sample: int) -> None:
        self._issued = int(sample)
        self._reanchor()
