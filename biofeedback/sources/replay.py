"""Replay of a recording, paced by its own timeline: pause, seek, speed, and its events at their times."""
from __future__ import annotations

import threading
import time

from biofeedback.errors import SourceError
from biofeedback.files.recording import Recording
from biofeedback.sources.base import Pacer, Source
from biofeedback.stream import Block

MIN_SPEED, MAX_SPEED = 0.25, 16.0


def check_speed(speed: float | None) -> float | None:
    if speed is not None and not (MIN_SPEED <= speed <= MAX_SPEED):
        raise SourceError(f"replay speed must be between {MIN_SPEED:g}x and {MAX_SPEED:g}x (or max), got {speed:g}x")
    return speed


class ReplaySource(Source):
    """Streams a recording without loading it whole."""

    def __init__(self, recording: Recording, speed: float | None = 1.0, clock=time.monotonic) -> None:
        super().__init__()
        self.recording = recording
        self.info = recording.info
        self.pacer = Pacer(self.info.rate, check_speed(speed), max_chunk_s=0.5, clock=clock)
        self._pos = 0
        self._lock = threading.Lock()
        self._event_i = 0
        self._all_events = recording.events
        self._n = recording.n_samples
        self.seeked = False  # set when the position jumped; consumers may clear their buffers

    @property
    def position_s(self) -> float:
        return self._pos / self.info.rate

    @property
    def duration_s(self) -> float:
        return self._n / self.info.rate

    @property
    def finished(self) -> bool:
        return self._pos >= self._n

    def start(self) -> None:
        with self._lock:
            self.pacer.start(self._pos)
            self._status.state = "streaming"
            self._status.measured_rate = self.info.rate

    def read(self) -> list[Block]:
        with self._lock:
            n = min(self.pacer.due(), self._n - self._pos)
            if n <= 0:
                if self.finished:
                    self._status.state = "ended"
                return []
            start = self._pos
            data = self.recording.read(start, start + n)
            self._pos += n
            end_t = self._pos / self.info.rate
            while self._event_i < len(self._all_events) and self._all_events[self._event_i].time_s < end_t:
                self.emit(self._all_events[self._event_i])
                self._event_i += 1
            arrival = self.pacer.wall_time_of(self._pos)
        return [Block(start, data, arrival)]

    def pause(self) -> None:
        with self._lock:
            self.pacer.pause()
            self._status.state = "paused"

    def resume(self) -> None:
        with self._lock:
            self.pacer.resume()
            self._status.state = "streaming" if not self.finished else "ended"

    @property
    def paused(self) -> bool:
        return self.pacer.paused

    def set_speed(self, speed: float | None) -> None:
        with self._lock:
            self.pacer.set_speed(check_speed(speed))

    def seek(self, t_s: float) -> None:
        """Jump to ``t_s`` seconds; events are emitted again from there on."""
        with self._lock:
            self._pos = max(0, min(self._n, int(round(t_s * self.info.rate))))
            self.pacer.seek(self._pos)
            t = self._pos / self.info.rate
            self._event_i = next((i for i, e in enumerate(self._all_events) if e.time_s >= t), len(self._all_events))
            self.seeked = True

    def next_event_time(self, after_s: float) -> float | None:
        return next((e.time_s for e in self._all_events if e.time_s > after_s + 1e-6), None)

    def previous_event_time(self, before_s: float) -> float | None:
        earlier = [e.time_s for e in self._all_events if e.time_s < before_s - 0.5]
        return earlier[-1] if earlier else None

    def stop(self) -> None:
        with self._lock:
            self.pacer.pause()
            self._status.state = "idle"

    def close(self) -> None:
        self.recording.close()


def open_replay(spec, speed: float | None) -> ReplaySource:
    """``replay:PATH[?speed=X]``"""
    if not spec.name:
        raise SourceError("replay needs a file: --source replay:PATH")
    if "speed" in spec.options:
        opt = spec.options["speed"]
        try:
            speed = None if opt == "max" else float(opt)
        except ValueError:
            raise SourceError(f"speed={opt!r} must be a number or max") from None
    return ReplaySource(Recording.open(spec.name), speed)
