"""Headless sessions: record from any source into a file (the ``record`` command, scripts, tests)."""
from __future__ import annotations

import signal as _signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from biofeedback.errors import UserError
from biofeedback.files.outputs import new_output
from biofeedback.session.engine import SessionEngine
from biofeedback.signal.chain import ChainSettings
from biofeedback.sources import open_source
from biofeedback.sources.base import Source, SourceStatus


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


def attach_protocol(engine: SessionEngine, protocol, seed: int = 0) -> None:
    """Run ``protocol`` from the engine's current time; a simulated patient follows its cues."""
    from biofeedback.protocols import ProtocolRunner, effort_script
    start = engine.time_s
    engine.set_protocol(ProtocolRunner(protocol, start_s=start))
    patient = getattr(engine.source, "patient", None)
    if patient is not None:
        patient.script = effort_script(protocol, start_s=start, seed=seed)


def store_summary(path: str | Path) -> dict | None:
    """Analyse a finished guided recording and store its summary in it (meta ``summary``)."""
    from biofeedback.clinic.analysis import summarize
    from biofeedback.files.recording import Recording, update_meta
    with Recording.open(path) as rec:
        if not rec.meta.get("protocol") or not rec.n_samples:
            return None
        summary = summarize(rec)
    update_meta(path, {"summary": summary})
    return summary


MAX_DURATION_S = 24 * 3600.0
MIN_DURATION_S = 0.1


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def record_headless(spec: str, out: str | Path, duration_s: float | None, speed: float | None = 1.0,
                    settings: ChainSettings | None = None, client: str = "", meta: dict | None = None,
                    protocol: str | None = None) -> RecordResult:
    """Record ``duration_s`` seconds of signal from ``spec`` into ``out``.

    With a ``protocol`` (a name or a file) its steps are recorded as events, a
    simulated patient follows its cues, the duration defaults to the protocol's
    length, and the session summary is stored in the recording at the end. A
    replay defaults to the replayed file's length. The source is opened before
    the file is created, so a wrong port leaves nothing behind; Ctrl-C or
    SIGTERM while opening abort, later they stop early and keep everything
    recorded so far. A source that delivered nothing is an error (no file kept).
    """
    out = new_output(out, what="recording")
    source = open_source(spec, speed)
    meta = dict(meta or {})
    if client:
        meta["client"] = client
    guided = None
    if protocol:
        from biofeedback.protocols import load_protocol
        guided = load_protocol(protocol)
        meta["protocol"] = guided.name
        duration_s = duration_s or guided.total_s
    if hasattr(source, "recording"):  # a replay: by default the whole file, and say where it came from
        meta["replayed_from"] = str(source.recording.path)
        duration_s = duration_s or getattr(source, "duration_s", None)
        if not getattr(source, "duration_s", 0):
            raise UserError(f"{source.recording.path} holds no samples to replay")
    if not duration_s:
        raise UserError("--duration SECONDS is required (or a --protocol that gives it)")
    if not (MIN_DURATION_S <= duration_s <= MAX_DURATION_S):
        raise UserError(f"--duration must be between {MIN_DURATION_S:g} s and 24 hours, got {duration_s:g}")
    engine = SessionEngine(source, settings)
    in_main = threading.current_thread() is threading.main_thread()
    old_handlers = {}
    stop = threading.Event()
    try:
        if in_main:  # while the source opens (a device may take seconds), Ctrl-C and SIGTERM abort at once
            old_handlers[_signal.SIGTERM] = _signal.signal(_signal.SIGTERM, _raise_interrupt)
            old_handlers[_signal.SIGINT] = _signal.signal(_signal.SIGINT, _raise_interrupt)
        engine.start_source()
        writer = engine.start_recording(out, meta, duration_s=duration_s)
        if in_main:  # from now on they end the recording early, keeping what was recorded
            for sig in (_signal.SIGINT, _signal.SIGTERM):
                _signal.signal(sig, lambda *_: stop.set())
        if guided is not None:
            attach_protocol(engine, guided, seed=int(getattr(getattr(source, "patient", None), "seed", 0)))
        engine.start()
        wall_limit = time.monotonic() + duration_s + 3.0 if _is_paced_by_data(source) else None
        while not stop.is_set():
            if engine.recording_finished.wait(0.02) or source.finished or engine.error:
                break
            if wall_limit is not None and time.monotonic() > wall_limit:
                break
        state = SourceStatus(**vars(source.status))  # as it was live, before stopping resets it
    finally:
        try:
            engine.stop()
        finally:
            for sig, handler in old_handlers.items():
                _signal.signal(sig, handler)
    result = RecordResult(Path(out), spec, writer.n_samples / engine.info.rate, engine.info.n_channels,
                          engine.info.rate, state.dropped, len(engine.events_since(0)[0]),
                          engine.error or ("interrupted" if stop.is_set() else None))
    if not writer.n_samples:
        writer.discard_if_empty()
        detail = f" ({state.message})" if state.message else ""
        raise UserError(f"no samples arrived from {spec}{detail}; check that the device is on, connected and "
                        "streaming; nothing was recorded")
    if state.state == "disconnected":
        result.error = "the device was disconnected" + (f" ({state.message})" if state.message else "")
    if guided is not None:
        store_summary(out)
    return result
