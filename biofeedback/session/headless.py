"""Headless sessions: record from any source into a file (the ``record`` command, scripts, tests).

The session itself is run by :class:`~biofeedback.session.controller.SessionController`, the same object
under the window; this module only plans the recording, waits for it, and reports what happened.
"""
from __future__ import annotations

import signal as _signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from biofeedback.clinic.filing import FiledSession
from biofeedback.errors import UserError
from biofeedback.files.outputs import new_output
from biofeedback.protocols import Protocol, load_protocol
from biofeedback.session.controller import SessionController, store_summary
from biofeedback.signal.chain import ChainSettings
from biofeedback.sources.base import Source, SourceStatus

__all__ = ["RecordResult", "record_headless", "store_summary"]


@dataclass
class RecordResult:
    path: Path
    source: str
    duration_s: float
    n_channels: int
    rate: float
    dropped: int
    events: int
    error: str | None = None
    note: str | None = None
    filed: FiledSession | None = None        # the library row and newly met goals, when filed
    filing_error: str | None = None          # why filing failed (the recording is kept)
    filing_queued: bool = False              # the library server was unreachable: filing waits in the queue

    def summary_line(self) -> str:
        text = (f"recorded {self.duration_s:.1f} s from {self.source} ({self.n_channels} channel"
                f"{'s' if self.n_channels != 1 else ''} at {self.rate:g} Hz, {self.dropped} samples lost, "
                f"{self.events} events) to {self.path}")
        if self.note:
            text += f"; {self.note}"
        return text


def _is_paced_by_data(source: Source) -> bool:
    """Real devices deliver at their own pace: a time limit on the wall clock applies too."""
    return getattr(source, "pacer", None) is None


MAX_DURATION_S = 24 * 3600.0
MIN_DURATION_S = 0.1


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _plan_duration(source: Source, guided: Protocol | None, duration_s: float | None) -> float:
    """The length to record: as asked, else the protocol's, else (a replay) the whole replayed file."""
    if guided is not None:
        duration_s = duration_s or guided.total_s
    replayed = getattr(source, "recording", None)
    if replayed is not None:
        duration_s = duration_s or getattr(source, "duration_s", None)
        if not getattr(source, "duration_s", 0):
            raise UserError(f"{replayed.path} holds no samples to replay")
    if not duration_s:
        raise UserError("--duration SECONDS is required (or a --protocol that gives it)")
    if not (MIN_DURATION_S <= duration_s <= MAX_DURATION_S):
        raise UserError(f"--duration must be between {MIN_DURATION_S:g} s and 24 hours, got {duration_s:g}")
    return float(duration_s)


@contextmanager
def _signals_abort_then_stop(stop: threading.Event) -> Iterator[Callable[[], None]]:
    """While the source opens Ctrl-C and SIGTERM abort at once; after ``armed()`` they only set ``stop``."""
    in_main = threading.current_thread() is threading.main_thread()
    old = {}
    if in_main:  # a device may take seconds to open: Ctrl-C must not wait for it
        old[_signal.SIGTERM] = _signal.signal(_signal.SIGTERM, _raise_interrupt)
        old[_signal.SIGINT] = _signal.signal(_signal.SIGINT, _raise_interrupt)

    def armed() -> None:  # from now on they end the recording early, keeping what was recorded
        if in_main:
            for sig in (_signal.SIGINT, _signal.SIGTERM):
                _signal.signal(sig, lambda *_: stop.set())
    try:
        yield armed
    finally:
        for sig, handler in old.items():
            _signal.signal(sig, handler)


def _wait_until_done(ctl: SessionController, stop: threading.Event, duration_s: float) -> SourceStatus:
    """Wait for the planned length, the source's end, an error or a stop; the source's state as it was live."""
    engine, source = ctl.engine, ctl.source
    assert engine is not None and source is not None
    wall_limit = time.monotonic() + duration_s + 3.0 if _is_paced_by_data(source) else None
    while not stop.is_set():
        if engine.recording_finished.wait(0.02) or source.finished or engine.error:
            break
        if wall_limit is not None and time.monotonic() > wall_limit:
            break
    return SourceStatus(**vars(source.status))  # copied before stopping resets it


def record_headless(spec: str, out: str | Path, duration_s: float | None, speed: float | None = 1.0,
                    settings: ChainSettings | None = None, client: str = "", meta: dict | None = None,
                    protocol: str | None = None, library: str | Path | None = None,
                    file_in_library: bool = False) -> RecordResult:
    """Record ``duration_s`` seconds of signal from ``spec`` into ``out``.

    With a ``protocol`` (a name or a file) its steps are recorded as events, a
    simulated patient follows its cues, the duration defaults to the protocol's
    length, and the session summary is stored in the recording at the end. A
    replay defaults to the replayed file's length. The source is opened before
    the file is created, so a wrong port leaves nothing behind; Ctrl-C or
    SIGTERM while opening abort, later they stop early and keep everything
    recorded so far. A source that delivered nothing is an error (no file kept).
    With ``file_in_library`` and a ``client`` the session is filed in ``library``
    with her milestones, exactly as the window files it.
    """
    out = new_output(out, what="recording")
    guided = load_protocol(protocol) if protocol else None
    ctl = SessionController(speed, settings, library_path=library, file_sessions=file_in_library)
    if client and file_in_library:
        ctl.set_client(client)           # her stored bands and calibration apply, as in the window
    ctl.open(spec)
    source, engine = ctl.source, ctl.engine
    assert source is not None and engine is not None
    try:
        duration_s = _plan_duration(source, guided, duration_s)
        stop = threading.Event()
        with _signals_abort_then_stop(stop) as armed:
            ctl.start_source()
            extra = dict(meta or {})
            if client and ctl.client is None:
                extra["client"] = client
            writer = ctl.start_recording(out, duration_s=duration_s, meta=extra)
            armed()
            if guided is not None:
                ctl.start_protocol(guided)
            ctl.start()
            state = _wait_until_done(ctl, stop, duration_s)
            n_events = len(engine.events_since(0)[0])
            ctl.close()                  # summary and filing happen here
    finally:
        ctl.close()
    return _result(spec, out, writer.n_samples, engine, state, n_events, stop, ctl)


def _result(spec: str, out: Path, n_samples: int, engine, state: SourceStatus, n_events: int,
            stop: threading.Event, ctl: SessionController) -> RecordResult:
    """What the ``record`` command reports; a source that sent nothing is an error (the empty file is gone)."""
    if not n_samples:
        detail = f" ({state.message})" if state.message else ""
        raise UserError(f"no samples arrived from {spec}{detail}; check that the device is on, connected and "
                        "streaming; nothing was recorded")
    result = RecordResult(Path(out), spec, n_samples / engine.info.rate, engine.info.n_channels,
                          engine.info.rate, state.dropped, n_events,
                          engine.error or ("interrupted" if stop.is_set() else None),
                          filed=ctl.last_filed, filing_error=ctl.filing_error,
                          filing_queued=ctl.filing_queued)
    if state.state == "disconnected":
        result.error = "the device was disconnected" + (f" ({state.message})" if state.message else "")
    return result
