"""The session engine: a plain thread that owns the clock of a session.

It drains the source, runs the signal chain, appends to the recording, advances
the exercise protocol, and publishes into bounded ring buffers. Views only take
snapshots of those buffers on their own frame timer, so a slow frame can never
lose a sample or stall a recording.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from biofeedback.errors import UserError
from biofeedback.files.recording import RecordingWriter
from biofeedback.signal.chain import ChainSettings, SignalChain
from biofeedback.sources.base import Source
from biofeedback.stream import Block, Event

DISPLAY_RATE = 200.0  # Hz: envelope points kept for display (the envelope is smooth at 200 ms RMS)


class Runner(Protocol):
    @property
    def finished(self) -> bool: ...

    def update(self, t_s: float) -> list[Event]: ...


class RingBuffer:
    """A preallocated (capacity, n_channels) ring of the most recent rows."""

    def __init__(self, capacity: int, n_channels: int) -> None:
        self.capacity = int(capacity)
        self._buf = np.full((self.capacity, n_channels), np.nan)
        self._count = 0  # rows ever written

    def clear(self) -> None:
        self._count = 0
        self._buf.fill(np.nan)

    @property
    def count(self) -> int:
        return self._count

    def write(self, rows: np.ndarray) -> None:
        n = rows.shape[0]
        if n == 0:
            return
        if n >= self.capacity:
            rows = rows[-self.capacity:]
            self._count += n - self.capacity
            n = self.capacity
        i = self._count % self.capacity
        first = min(n, self.capacity - i)
        self._buf[i:i + first] = rows[:first]
        if first < n:
            self._buf[:n - first] = rows[first:]
        self._count += n

    def last(self, n: int) -> np.ndarray:
        """A copy of the newest ``n`` rows (fewer if fewer were written), oldest first."""
        n = max(0, min(int(n), self.capacity, self._count))
        end = self._count % self.capacity
        if n <= end:
            return self._buf[end - n:end].copy()
        return np.concatenate([self._buf[self.capacity - (n - end):], self._buf[:end]], axis=0)


@dataclass
class Snapshot:
    """What a view draws: the newest ``seconds`` of the session."""

    rate: float                    # full sample rate
    end_index: int                 # one past the newest sample
    arrival: float                 # host time (time.monotonic) at which the newest sample arrived
    t: np.ndarray                  # times (s) of the envelope points
    envelope: np.ndarray           # (n, n_channels) at about DISPLAY_RATE
    raw_t: np.ndarray | None = None
    filtered: np.ndarray | None = None  # (m, n_channels) at full rate, when asked for

    @property
    def time_s(self) -> float:
        return self.end_index / self.rate

    def current(self) -> np.ndarray:
        """The newest envelope value per channel (NaN if none yet)."""
        if self.envelope.shape[0] == 0:
            return np.full(self.envelope.shape[1], np.nan)
        return self.envelope[-1]


@dataclass
class EngineStats:
    samples: int = 0
    dropped: int = 0
    measured_rate: float | None = None
    state: str = "idle"
    message: str = ""


class SessionEngine:
    """Runs a source through the chain into ring buffers, a recording and a protocol."""

    def __init__(self, source: Source, settings: ChainSettings | None = None, buffer_s: float = 60.0,
                 poll_s: float = 0.002) -> None:
        self.source = source
        self.info = source.info
        self.settings = settings or ChainSettings()
        self.chain = SignalChain(self.info, self.settings)
        rate = self.info.rate
        self.env_step = max(1, int(round(rate / DISPLAY_RATE)))
        n_ch = self.info.n_channels
        self._env = RingBuffer(int(buffer_s * rate / self.env_step) + 1, n_ch)
        self._env_idx = RingBuffer(self._env.capacity, 1)
        self._raw = RingBuffer(int(buffer_s * rate) + 1, n_ch)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._writer: RecordingWriter | None = None
        self._record_limit: int | None = None
        self._runner: Runner | None = None
        self._events: list[Event] = []
        self._next_index: int | None = None
        self._end_index = 0
        self._rec0 = 0
        self._arrival = 0.0
        self._samples = 0
        self.poll_s = poll_s
        self.error: str | None = None
        self.recording_finished = threading.Event()
        self._source_started = False
        self._pump_lock = threading.Lock()
        #: called on the engine thread with (raw, filtered) of every block, e.g. the live signal-quality
        #: meters; a tap that fails is dropped (a meter never stops a recording)
        self.taps: list[Callable[[np.ndarray, np.ndarray], None]] = []

    # ----------------------------------------------------------------- life cycle
    def start_source(self) -> None:
        """Open and start the source without draining it yet (errors such as a wrong port raise here)."""
        if not self._source_started:
            self.source.start()
            self._source_started = True

    def start(self) -> None:
        """Start the source (if not yet started) and the engine thread."""
        self.start_source()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="session-engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and the source; a recording in progress is closed cleanly."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        try:
            if self._source_started:
                self.source.stop()
                self._source_started = False
        finally:
            self.stop_recording()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            got = self.pump()
            if not got or not self._as_fast_as_possible():
                # a source paced by the clock or by a device always has a few samples ready: pumping again
                # at once would spin on tiny blocks and starve the view's thread of the GIL (frames then
                # stall while the chain runs); a frame pulls in what arrived just before it anyway
                self._stop.wait(self.poll_s)

    def _as_fast_as_possible(self) -> bool:
        """True for a simulated or replayed source run at ``--speed max``: then the thread never waits."""
        pacer = getattr(self.source, "pacer", None)
        return pacer is not None and pacer.speed is None

    def pump(self, wait: bool = True) -> bool:
        """Bring in what the source has ready: chain, recording, protocol, ring buffers.

        The engine thread calls this in a loop; a view may call it too (see
        :meth:`snapshot`) so that a frame shows the newest samples without the
        thread having to poll fast. Returns whether any samples came in.
        """
        if not self._pump_lock.acquire(blocking=wait):
            return False  # the other thread is on it
        blocks: list[Block] = []
        try:
            source = self.source
            blocks = source.read()
            for block in blocks:
                self._ingest(block)
            for event in source.pop_events():
                self._add_event(event)
            runner = self._runner
            if runner is not None:
                for event in runner.update(self.time_s):
                    self._add_event(event)
            with self._lock:
                if self._writer is not None:
                    self._writer.tick()
        except UserError as exc:  # e.g. the disk is full: keep what was recorded, stop recording
            self.error = str(exc)
            self._close_writer_quietly()
        except Exception as exc:  # never die silently with a patient in the room
            self.error = f"internal error in the session engine: {exc!r}"
            self._close_writer_quietly()
        finally:
            self._pump_lock.release()
        return bool(blocks)

    # ----------------------------------------------------------------- data path
    def _ingest(self, block: Block) -> None:
        if self._next_index is not None and block.start != self._next_index:
            # the timeline jumped (a replay seek): restart the filters and the view buffers
            with self._lock:
                self.chain = SignalChain(self.info, self.settings)
                self._env.clear()
                self._env_idx.clear()
                self._raw.clear()
        out = self.chain.process(block)
        idx = block.start + np.arange(block.n)
        keep = (idx % self.env_step) == 0
        with self._lock:
            self._raw.write(out.filtered)
            self._env.write(out.envelope[keep])
            self._env_idx.write(idx[keep, None].astype(float))
            self._next_index = block.stop
            self._end_index = block.stop
            self._arrival = block.arrival
            self._samples += block.n
            writer = self._writer
            if writer is not None:
                # the recording's own timeline starts at 0 when recording started
                kept = Block(block.start - self._rec0, block.data, block.arrival)
                if self._record_limit is not None:
                    room = self._record_limit - writer.n_samples
                    if room < kept.n:
                        kept = Block(kept.start, kept.data[:max(room, 0)], kept.arrival)
                if kept.n:
                    writer.append(kept)
                if self._record_limit is not None and writer.n_samples >= self._record_limit:
                    self._writer = None  # the planned duration is complete: close it here, exactly
                    writer.close()
                    self.recording_finished.set()
        for tap in list(self.taps):     # the whole block, raw and filtered alike (not what a limit kept)
            try:
                tap(block.data, out.filtered)
            except Exception:  # a view's helper must never stop the session
                self.taps.remove(tap)

    def _add_event(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)
            if self._writer is not None:
                shift = self._rec0 / self.info.rate
                self._writer.add_event(Event(event.time_s - shift, event.kind, event.label, event.data))

    # ----------------------------------------------------------------- recording
    def start_recording(self, path: str | Path, meta: dict[str, Any] | None = None,
                        duration_s: float | None = None) -> RecordingWriter:
        """Record from now on into a new file (at most ``duration_s`` seconds of signal if given)."""
        meta = dict(meta or {})
        meta.setdefault("chain", self.settings.to_dict())
        with self._lock:
            if self._writer is not None:
                raise UserError("already recording; stop the current recording first")
            writer = RecordingWriter(path, self.info, meta)
            self._record_limit = None if duration_s is None else int(round(duration_s * self.info.rate))
            self.recording_finished.clear()
            self._writer = writer
            self._rec0 = self._end_index  # stream index of the recording's first sample
        return writer

    @property
    def recording(self) -> RecordingWriter | None:
        return self._writer

    @property
    def recording_start_s(self) -> float:
        """Stream time at which the current recording began (its time 0)."""
        return self._rec0 / self.info.rate

    @property
    def recording_elapsed_s(self) -> float:
        w = self._writer
        return 0.0 if w is None else w.n_samples / self.info.rate

    def set_recording_meta(self, key: str, value: Any) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.set_meta(key, value)

    def stop_recording(self) -> Path | None:
        """Close the recording cleanly; returns its path (None if none was open)."""
        with self._lock:
            writer, self._writer = self._writer, None
            if writer is None:
                return None
            writer.close()
        return writer.path

    def _close_writer_quietly(self) -> None:
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            try:
                writer.close()
            except UserError:
                pass

    # ----------------------------------------------------------------- chain settings
    def set_notch(self, notch_hz: float | None) -> ChainSettings:
        """Turn the mains notch on (50 or 60 Hz) or off from the next block on; returns the new settings.

        The filters restart (a short settling, as after a replay seek); the recording keeps raw samples,
        so only what is shown and measured live changes.
        """
        settings = ChainSettings.from_dict({**self.settings.to_dict(), "notch_hz": notch_hz})
        with self._pump_lock:
            with self._lock:
                self.settings = settings
                self.chain = SignalChain(self.info, settings)
        return settings

    # ----------------------------------------------------------------- pressure zero
    def zero_pressure(self, channel: str = "pressure", seconds: float = 1.0) -> float:
        """Zero a pressure channel to its mean raw reading over the last ``seconds`` (the probe in air).

        The recording keeps the raw pressure; the zero is recorded as a ``tare`` event and applies to the
        display from now on. Returns the offset in the channel's unit.
        """
        info = self.info
        if channel not in info.names:
            raise UserError(f"there is no {channel!r} channel to zero")
        col = info.index_of(channel)
        with self._pump_lock:
            with self._lock:
                m = min(int(seconds * info.rate), self._raw.count)
                recent = self._raw.last(m)[:, col] + self.settings.tare.get(channel, 0.0)  # back to raw
            finite = recent[np.isfinite(recent)]
            if finite.size == 0:
                raise UserError("no pressure reading yet to zero from; wait a moment and try again")
            offset = float(finite.mean())
            self.chain.set_tare(channel, offset)
            self.settings = self.chain.settings
        self._add_event(Event(self.time_s, "tare", channel, {"offset": offset, "unit": info.channels[col].unit}))
        return offset

    # ----------------------------------------------------------------- events, protocol
    def add_marker(self, label: str = "") -> Event:
        event = Event(self.time_s, "marker", label.strip())
        self._add_event(event)
        return event

    def add_event(self, event: Event) -> None:
        self._add_event(event)

    def set_protocol(self, runner: Runner | None) -> None:
        self._runner = runner

    @property
    def protocol(self) -> Runner | None:
        return self._runner

    def events_since(self, i: int) -> tuple[list[Event], int]:
        with self._lock:
            return self._events[i:], len(self._events)

    # ----------------------------------------------------------------- views
    @property
    def time_s(self) -> float:
        return self._end_index / self.info.rate

    def snapshot(self, seconds: float, raw: bool = False, fresh: bool = True) -> Snapshot:
        """The newest ``seconds``; with ``fresh`` first bring in what has just arrived (never waits)."""
        if fresh and self.running:
            self.pump(wait=False)
        rate = self.info.rate
        n_env = int(seconds * rate / self.env_step) + 1
        with self._lock:
            env = self._env.last(n_env)
            idx = self._env_idx.last(n_env)[:, 0]
            snap = Snapshot(rate, self._end_index, self._arrival, idx / rate, env)
            if raw:
                m = min(int(seconds * rate), self._raw.count)
                snap.filtered = self._raw.last(m)
                snap.raw_t = (self._end_index - snap.filtered.shape[0] + np.arange(snap.filtered.shape[0])) / rate
        return snap

    @property
    def stats(self) -> EngineStats:
        st = self.source.status
        return EngineStats(samples=self._samples, dropped=st.dropped, measured_rate=st.measured_rate,
                           state=st.state, message=self.error or st.message)

