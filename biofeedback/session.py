"""Headless sessions: record from any source into a file (the ``record`` command, scripts, tests)."""
from __future__ import annotations

import signal as _signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from biofeedback.chain import ChainSettings
from biofeedback.engine import SessionEngine
from biofeedback.sources import open_source
from biofeedback.sources.base import Source


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
        if self.error:
            text += f"; stopped early: {self.error}"
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
    from biofeedback.analysis import summarize
    from biofeedback.recording import Recording, update_meta
    with Recording.open(path) as rec:
        if not rec.meta.get("protocol") or not rec.n_samples:
            return None
        summary = summarize(rec)
    update_meta(path, {"summary": summary})
    return summary


def record_headless(spec: str, out: str | Path, duration_s: float | None, speed: float | None = 1.0,
                    settings: ChainSettings | None = None, client: str = "", meta: dict | None = None,
                    protocol: str | None = None) -> RecordResult:
    """Record ``duration_s`` seconds of signal from ``spec`` into ``out``.

    With a ``protocol`` (a name or a file) its steps are recorded as events, a
    simulated patient follows its cues, the duration defaults to the protocol's
    length, and the session summary is stored in the recording at the end.
    Ctrl-C or SIGTERM stop early and keep everything recorded so far.
    """
    source = open_source(spec, speed)
    engine = SessionEngine(source, settings)
    meta = dict(meta or {})
    if client:
        meta["client"] = client
    guided = None
    if protocol:
        from biofeedback.protocols import load_protocol
        guided = load_protocol(protocol)
        meta["protocol"] = guided.name
        duration_s = duration_s or guided.total_s
    if not duration_s:
        from biofeedback.errors import UserError
        raise UserError("--duration SECONDS is required (or a --protocol that gives it)")
    stop = threading.Event()
    old_handlers = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (_signal.SIGINT, _signal.SIGTERM):
            old_handlers[sig] = _signal.signal(sig, lambda *_: stop.set())
    try:
        writer = engine.start_recording(out, meta, duration_s=duration_s)
        try:
            if guided is not None:
                attach_protocol(engine, guided, seed=int(getattr(getattr(source, "patient", None), "seed", 0)))
            engine.start()
        except BaseException:
            engine.stop_recording()
            writer.discard_if_empty()  # e.g. a wrong port: leave no empty file behind
            raise
        try:
            wall_limit = time.monotonic() + duration_s + 3.0 if _is_paced_by_data(source) else None
            while not stop.is_set():
                if engine.recording_finished.wait(0.02) or source.finished or engine.error:
                    break
                if wall_limit is not None and time.monotonic() > wall_limit:
                    break
        finally:
            engine.stop()
    finally:
        for sig, handler in old_handlers.items():
            _signal.signal(sig, handler)
    result = RecordResult(Path(out), spec, writer.n_samples / engine.info.rate, engine.info.n_channels,
                          engine.info.rate, source.status.dropped, len(engine.events_since(0)[0]),
                          engine.error or ("interrupted" if stop.is_set() else None))
    status = source.status
    if status.state == "disconnected":
        result.note = "the device was still disconnected at the end" + (f" ({status.message})" if status.message else "")
    if guided is not None and writer.n_samples:
        store_summary(out)
    return result
