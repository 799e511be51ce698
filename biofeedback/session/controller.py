"""The session controller: one Qt-free object that owns a session's whole life.

It opens the source, runs the :class:`~biofeedback.session.engine.SessionEngine`, starts and stops the
recording, runs an exercise protocol, holds the bands and the calibration, writes the recording's meta,
adds markers, stores the session summary and files the session in the client library with its
milestones. The ``record`` command and the window both drive this one object, so the two cannot drift;
the window is only a view of it (as napari's ``QtViewer`` sits over its ``ViewerModel``).

Views subscribe with plain callbacks (:class:`Observers`). Every notification is sent on the thread that
called the controller's method -- the GUI thread for the window, whose frame timer calls :meth:`poll` --
never on the engine thread, so a view may touch its widgets in a callback.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from biofeedback.clinic.analysis import summarize
from biofeedback.clinic.filing import FiledSession, file_session
from biofeedback.clinic.library import Client, ConflictError, Library, LibraryUnreachableError, require_client
from biofeedback.clinic.shaping import ShapingOutcome, StepProposal, accept_step, after_session, file_target_step
from biofeedback.clinic.store import resolve_target
from biofeedback.errors import UserError
from biofeedback.files.recording import Recording, RecordingWriter, update_meta
from biofeedback.protocols import Protocol, ProtocolRunner, StepState, effort_script
from biofeedback.session.engine import SessionEngine
from biofeedback.signal.calibration import (
    Bands,
    Calibration,
    ReleaseTarget,
    is_kept,
    keep_typed_target,
    placeholder_bands,
)
from biofeedback.signal.chain import ChainSettings
from biofeedback.signal.hum import HumEstimate
from biofeedback.signal.quality import Quality, QualityMeter
from biofeedback.sources import open_source
from biofeedback.sources.base import Source
from biofeedback.stream import Event, StreamInfo, primary_channel
from biofeedback.words import unit_text

_LIGHT_ORDER = {"green": 0, "amber": 1, "red": 2}


class Observers:
    """A list of plain callbacks: ``connect(fn)`` to subscribe, ``emit(*args)`` calls each in turn."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[..., Any]) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            callback(*args)


class BandsModel:
    """The session's bands, with ONE change notification: ``changed(bands, origin)``.

    ``origin`` is whoever made the change (a view passes itself), so that view need not redraw its own edit.
    """

    def __init__(self, bands: Bands | None = None) -> None:
        self._bands = bands or placeholder_bands()
        self.changed = Observers()

    @property
    def bands(self) -> Bands:
        return self._bands

    def set(self, bands: Bands, origin: object = None) -> bool:
        """Take ``bands``; returns whether they changed (only then are observers told)."""
        if bands == self._bands:
            return False
        self._bands = bands
        self.changed.emit(bands, origin)
        return True


def quality_channel(info: StreamInfo) -> int | None:
    """The raw EMG channel whose signal quality is watched live: the primary one if EMG, else the first EMG."""
    first = primary_channel(info)
    if info.channels[first].kind == "emg":
        return first
    return next((i for i, ch in enumerate(info.channels) if ch.kind == "emg"), None)


class WorstCheck:
    """The worst live signal check seen while a recording ran, kept in it as meta ``live_quality``.

    Why here, on the engine thread, every second: the window polls a few dozen times a second, the ``record``
    command not at all, and a source may run far faster than real time; stored as each verdict is made, every
    second counts and ``record`` and the window keep the same verdict. :meth:`start` takes the check showing
    when the recording began (the one its first meta holds).
    """

    def __init__(self) -> None:
        self._writer: RecordingWriter | None = None
        self.quality: Quality | None = None
        self._lock = threading.Lock()          # start() on the controller's thread, see() on the engine's

    @staticmethod
    def _worse(a: Quality | None, b: Quality | None) -> Quality | None:
        if a is None or (b is not None and _LIGHT_ORDER[b.light] > _LIGHT_ORDER[a.light]):
            return b
        return a

    def start(self, writer: RecordingWriter, quality: Quality | None, engine: SessionEngine | None = None) -> None:
        """``quality``: the check ``writer``'s first meta holds. The engine thread runs on as soon as the
        recording starts, so it may already have stored its own verdict for ``writer``: the worse of the two
        is kept (and stored again through ``engine`` when the first meta's was worse)."""
        with self._lock:
            seen = self.quality if writer is self._writer else None
            self._writer, self.quality = writer, self._worse(quality, seen)
            restore = seen is not None and self.quality is not seen
        if restore and engine is not None and quality is not None:
            engine.set_recording_meta("live_quality", quality.to_dict())

    def see(self, engine: SessionEngine, quality: Quality | None) -> None:
        writer = engine.recording
        if writer is None or quality is None:
            return
        with self._lock:
            if writer is not self._writer:            # a recording this check was not told about yet
                self._writer, self.quality = writer, None
            if self._worse(self.quality, quality) is self.quality:
                return
            self.quality = quality
        engine.set_recording_meta("live_quality", quality.to_dict())


class SignalWatch:
    """Live hum and signal quality of one EMG channel, fed on the engine thread, read on the view's.

    The engine calls :meth:`feed` with every block (a copy into a 1 s buffer; one FFT and a few sums per
    second, far under 1 % of a core, see ``biofeedback bench``). Once a second the verdict is worked out
    there and published as one immutable tuple, so the view's thread only reads a reference; a recording
    in progress keeps the worst verdict (``worst``, see :class:`WorstCheck`).
    Hum is measured on the band-passed signal, so it falls when the notch is turned on.
    """

    def __init__(self, rate: float, channel: int, engine: SessionEngine | None = None,
                 worst: WorstCheck | None = None) -> None:
        self.channel = channel
        self._meter = QualityMeter(rate, 1, hum_on_filtered=True)
        self._engine, self._worst = engine, worst
        self.latest: tuple[int, Quality | None, HumEstimate | None] = (0, None, None)

    def feed(self, raw: np.ndarray, filtered: np.ndarray) -> None:
        c = self.channel
        meter = self._meter
        before = meter.seconds
        meter.feed(raw[:, c:c + 1], filtered[:, c:c + 1])
        if meter.seconds != before:
            quality = meter.quality(0)
            self.latest = (meter.seconds, quality, meter.hum.estimates[0])
            if self._engine is not None and self._worst is not None:
                self._worst.see(self._engine, quality)


def describe_bands(bands: Bands) -> str:
    """The bands in a few words for the therapist: 'contraction 20.0-40.0 µV, release at or below 2.0 µV'."""
    unit = unit_text(bands.unit)
    return (f"contraction {bands.contraction_low:.1f}-{bands.contraction_high:.1f} {unit}, "
            f"release at or below {bands.release_high:.1f} {unit}")


def store_summary(path: str | Path) -> dict | None:
    """Analyse a finished guided recording and store its summary in it (meta ``summary``)."""
    with Recording.open(path) as rec:
        if not rec.meta.get("protocol") or not rec.n_samples:
            return None
        summary = summarize(rec)
    update_meta(path, {"summary": summary})
    return summary


class SessionController:
    """One session at a time: source, engine, recording, protocol, bands, calibration, summary and filing.

    ``speed`` paces simulated and replayed sources (None = as fast as possible); ``library_path`` is the
    client library sessions are filed in (None = the default library); with ``file_sessions`` False a
    recording is never filed (the ``record`` command without ``--client``).
    """

    def __init__(self, speed: float | None = 1.0, settings: ChainSettings | None = None, poll_s: float = 0.002,
                 library_path: str | Path | None = None, file_sessions: bool = True) -> None:
        self.speed = speed
        self.settings = settings
        self.poll_s = poll_s
        self.library_path = library_path
        self.file_sessions = file_sessions
        self.place: str | None = None          # where its sessions take place ('home' in home mode); None: unsaid
        self.engine: SessionEngine | None = None
        self.source: Source | None = None
        self.spec = ""
        self.recording_path: Path | None = None
        self._writer: RecordingWriter | None = None
        self._protocol_recorded = False
        self.markers_added = 0
        self.bands_model = BandsModel()
        self.calibration: Calibration | None = None
        self.runner: ProtocolRunner | None = None
        self.client: Client | None = None
        self.last_summary: dict | None = None
        self.last_filed: FiledSession | None = None
        self.filing_error: str | None = None
        self.filing_queued = False                 # the library server was unreachable: filing waits in the queue
        self.offline_client: str | None = None     # the client named while the library server was unreachable
        # what views subscribe to (see Observers); each is called with the arguments shown
        self.connected = Observers()           # (spec)
        self.disconnected = Observers()        # ()
        self.recording_started = Observers()   # (path)
        self.recording_stopped = Observers()   # (path)
        self.protocol_started = Observers()    # (runner)
        self.protocol_stopped = Observers()    # ()
        self.calibrated = Observers()          # (calibration)
        self.client_changed = Observers()      # (client or None)
        self.summary_ready = Observers()       # (summary dict)
        self.filed = Observers()               # (FiledSession)
        self.problem = Observers()             # (one line for the user)
        self.signal_changed = Observers()      # (quality, hum): the live signal check, at most once a second
        self.quality: Quality | None = None    # the live signal check of the EMG channel (None: not yet / none)
        self.hum: HumEstimate | None = None    # the live mains-hum estimate of that channel
        self._watch: SignalWatch | None = None
        self._watch_seen = 0
        self._worst = WorstCheck()             # the worst check stored in the open recording (engine thread)

    # ================================================================== state a view reads
    @property
    def bands(self) -> Bands:
        return self.bands_model.bands

    @property
    def is_connected(self) -> bool:
        return self.engine is not None

    @property
    def is_recording(self) -> bool:
        return self._writer is not None

    @property
    def writer(self) -> RecordingWriter | None:
        """The open recording (None when not recording)."""
        return self._writer

    @property
    def is_calibrated(self) -> bool:
        return self.calibration is not None

    @property
    def is_replay(self) -> bool:
        return self.spec.startswith("replay:")

    @property
    def patient(self) -> Any:
        """The simulated patient, when the source is the simulator (else None)."""
        return getattr(self.source, "patient", None)

    @property
    def notch_hz(self) -> float | None:
        """The mains notch in use (None: off)."""
        settings = self.engine.settings if self.engine is not None else self.settings
        return settings.notch_hz if settings is not None else None

    @property
    def hum_warning(self) -> str | None:
        """A clear line with what to do when mains hum is present (None when not)."""
        h = self.hum
        if h is None or not h.detected:
            return None
        return f"mains hum {h.total_uv:.1f} µV: check the reference electrode and cables"

    @property
    def client_name(self) -> str:
        return self.client.name if self.client is not None else ""

    @property
    def recording_elapsed_s(self) -> float:
        return self.engine.recording_elapsed_s if self.engine is not None and self._writer is not None else 0.0

    def protocol_state(self, t_s: float | None = None) -> StepState | None:
        """The exercise step running at ``t_s`` (default: now on the stream clock), or None."""
        if self.runner is None or self.engine is None:
            return None
        return self.runner.current(float(self.engine.time_s) if t_s is None else t_s)

    # ================================================================== source
    def open(self, spec: str) -> SessionEngine:
        """Open ``spec`` and make its engine, not started yet (see :meth:`start`); a wrong spec raises here."""
        self.close()
        source = open_source(spec, self.speed)
        engine = SessionEngine(source, self.settings, poll_s=self.poll_s)
        self.source, self.engine, self.spec = source, engine, spec
        self.last_summary = None
        self._watch_signal(engine)
        ch = engine.info.channels[primary_channel(engine.info)]
        if self.bands.unit != ch.unit:
            self.bands_model.set(placeholder_bands(ch.unit, ch.name))
        if self.is_replay:
            self._take_replayed_settings()
        self.connected.emit(spec)
        return engine

    def _take_replayed_settings(self) -> None:
        """A replay shows the bands and calibration it was recorded with."""
        meta = dict(getattr(getattr(self.source, "recording", None), "meta", None) or {})
        if meta.get("bands"):
            try:
                self.bands_model.set(Bands.from_dict(meta["bands"]))
            except (KeyError, ValueError, TypeError):
                pass
        if meta.get("calibration"):
            try:
                self.calibration = Calibration.from_dict(meta["calibration"])
            except (KeyError, ValueError, TypeError):
                pass

    def start_source(self) -> None:
        """Start the source without draining it (a device may take seconds; errors raise here)."""
        if self.engine is not None:
            self.engine.start_source()

    def start(self) -> None:
        """Start the engine thread (and the source, if not yet started)."""
        if self.engine is not None:
            self.engine.start()

    def connect(self, spec: str) -> SessionEngine:
        """Open and start ``spec``; on failure nothing is left open and the error is raised."""
        engine = self.open(spec)
        try:
            engine.start()
        except BaseException:
            self.close()
            raise
        return engine

    def close(self) -> None:
        """End the session: the exercise, the recording (summary, filing) and the source."""
        if self.engine is None:
            return
        self.stop_protocol()
        engine, source = self.engine, self.source
        try:
            engine.stop()                       # the thread and the source first; an open recording is closed
            self.stop_recording()               # then its summary and filing, with nothing else running
        finally:
            self.engine = self.source = None
            self._writer = None
            self._watch = None
            self._set_signal(None, None)
            close = getattr(source, "close", None)     # a replay holds its recording open
            if close is not None:
                close()
            self.disconnected.emit()

    # ================================================================== recording
    def recording_meta(self) -> dict[str, Any]:
        """What a recording keeps about its session: source, bands, client, exercise, calibration."""
        meta: dict[str, Any] = {"source": self.spec, "bands": self.bands.to_dict()}
        if self.client is not None:
            meta["client"] = self.client.name
        if self.runner is not None:
            meta["protocol"] = self.runner.protocol.name
        if self.calibration is not None:
            meta["calibration"] = self.calibration.to_dict()
        if self.notch_hz:
            meta.update(self._notch_meta(self.notch_hz))
        if self.quality is not None:
            meta["live_quality"] = self.quality.to_dict()
        replayed = getattr(self.source, "recording", None)
        if replayed is not None:
            meta["replayed_from"] = str(replayed.path)
        return meta

    def start_recording(self, path: str | Path, duration_s: float | None = None,
                        meta: dict[str, Any] | None = None) -> RecordingWriter:
        """Record from now on into the new file ``path`` (at most ``duration_s`` seconds if given).

        Raises :class:`UserError` or :class:`OSError` when the file cannot be made.
        """
        if self.engine is None:
            raise UserError("connect a source before recording")
        if self._writer is not None:
            return self._writer
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        full = self.recording_meta()
        full.update(meta or {})
        self._writer = self.engine.start_recording(str(target), full, duration_s=duration_s)
        self.recording_path = target
        self._worst.start(self._writer, self.quality, self.engine)
        self._protocol_recorded = self.runner is not None
        self.markers_added = 0
        self.filing_error = None
        self.filing_queued = False
        self.recording_started.emit(target)
        return self._writer

    def stop_recording(self) -> Path | None:
        """Close the recording; a guided one gets its summary, a client's is filed. Returns its path.

        A recording that never received a sample is deleted (None is returned). Problems computing the
        summary or filing are told through :attr:`problem` (and :attr:`filing_error`); the file is kept.
        """
        writer = self._writer
        if writer is None or self.engine is None:
            return None
        path = self.recording_path
        self._writer = None
        try:
            self.engine.stop_recording()
        except UserError as exc:
            self.problem.emit(f"The recording could not be closed cleanly: {exc}")
        if not writer.n_samples:
            writer.discard_if_empty()
            self._protocol_recorded = False
            self.recording_stopped.emit(None)
            return None
        self.recording_stopped.emit(path)
        if path is not None and path.exists():
            self._after_recording(path)
        return path

    def _after_recording(self, path: Path) -> None:
        """A guided session gets its summary stored; a client's recording goes into the library."""
        if self._protocol_recorded:
            self._protocol_recorded = False
            try:
                summary = store_summary(path)
            except (UserError, ValueError) as exc:
                summary = None
                self.problem.emit(f"The session summary could not be computed: {exc}")
            if summary:
                self.last_summary = summary
                self.summary_ready.emit(summary)
        if (self.client is not None or self.offline_client) and self.file_sessions:
            self.file(path)

    def file(self, path: str | Path) -> FiledSession | None:
        """File ``path`` in the client library under the current client, with her milestones."""
        try:
            with Library.open(self.library_path) as library:
                filed = file_session(library, path, self.client, place=self.place)
        except LibraryUnreachableError as exc:     # a clinic's server is down: filed when it is back, never lost
            from biofeedback.clinic.sync import queue_filing
            name = self.client.name if self.client is not None else str(self.offline_client)
            queue_filing(str(resolve_target(self.library_path)), path, name, str(exc))
            self.filing_queued = True
            self.problem.emit(f"{exc}; the session is kept on this computer and filed when the server is back")
            return None
        except UserError as exc:
            self.filing_error = str(exc)
            self.problem.emit(str(exc))
            return None
        self.client = filed.client
        filed.shaping = self._shape_after_filing(filed)
        self.last_filed = filed
        self.filed.emit(filed)
        return filed

    # ================================================================== shaping (the release target steps down)
    def _shape_after_filing(self, filed: FiledSession) -> ShapingOutcome | None:
        """Once after filing: the next release-target step when she has met hers (:func:`after_session`).

        At the clinic it waits for the therapist (:meth:`accept_shaping_step`); in her home library her
        programme's rule has taken it, and this session's release target follows at once.
        """
        try:
            with Library.open(self.library_path) as library:
                outcome = after_session(library, filed.client)
                if outcome is not None and outcome.applied is not None:
                    filed.client = self.client = library.client_by_id(filed.client.id)
        except UserError as exc:
            self.problem.emit(f"The next release-target step could not be worked out: {exc}")
            return None
        if outcome is not None and outcome.applied is not None:
            self._follow_stored_target(outcome.proposal.proposed)
        return outcome

    def accept_shaping_step(self, proposal: StepProposal) -> dict[str, Any] | None:
        """The therapist accepts a proposed step ("Lower it"): stored with her, and the live target moves."""
        if self.client is None:
            return None
        try:
            with Library.open(self.library_path) as library:
                step = accept_step(library, self.client, proposal)
                self.client = library.client_by_id(self.client.id)
        except UserError as exc:
            self.problem.emit(str(exc))
            return None
        self._follow_stored_target(proposal.proposed)
        return step

    def _follow_stored_target(self, value: float) -> None:
        """The session takes her newly stored release target (bands and the calibration's kept target)."""
        stored = (self.client.calibration or {}).get("target") if self.client is not None else None
        if self.calibration is not None and isinstance(stored, dict):
            self.calibration.target = ReleaseTarget.from_dict(stored)
        if self.bands.unit == "uV":
            self.set_bands(self.bands.with_release(value))

    def poll(self) -> None:
        """Notice what the engine thread did on its own: a recording it closed, an exercise that ended.

        The window's frame timer and the ``record`` loop call this; notifications go out from here.
        """
        engine = self.engine
        if engine is None:
            return
        if self._writer is not None and engine.recording is None:
            self.stop_recording()              # the planned duration is complete, or the disk filled up
            if engine.error:
                self.problem.emit(engine.error)
        if self.runner is not None and self.runner.finished:
            self.stop_protocol()
        self._poll_signal()

    # ================================================================== live signal check and notch
    def _watch_signal(self, engine: SessionEngine) -> None:
        channel = quality_channel(engine.info)
        self._watch = None if channel is None else SignalWatch(engine.info.rate, channel, engine, self._worst)
        self._watch_seen = 0
        if self._watch is not None:
            engine.taps.append(self._watch.feed)

    def _poll_signal(self) -> None:
        """Tell views when the once-a-second verdict changed (called from :meth:`poll`)."""
        watch = self._watch
        if watch is None:
            return
        seconds, quality, hum = watch.latest
        if seconds == self._watch_seen:
            return
        self._watch_seen = seconds
        self._set_signal(quality, hum)

    def _set_signal(self, quality: Quality | None, hum: HumEstimate | None) -> None:
        if quality == self.quality and hum == self.hum:
            return
        self.quality, self.hum = quality, hum       # (the recording's worst is kept by WorstCheck)
        self.signal_changed.emit(quality, hum)

    def set_notch(self, notch_hz: float | None) -> None:
        """Turn the mains notch on (50 or 60 Hz) or off, live; kept for the next source too.

        A recording in progress stores the notch with its settings (meta ``chain``, ``notch``, ``notch_hz``)
        and a timed ``notch`` event; the recorded samples stay raw. The hum estimate starts afresh.
        """
        base = self.engine.settings if self.engine is not None else (self.settings or ChainSettings())
        self.settings = ChainSettings.from_dict({**base.to_dict(), "notch_hz": notch_hz})
        engine = self.engine
        if engine is None:
            return
        engine.set_notch(notch_hz)
        if self._watch is not None:                 # measure the notched signal from now on
            engine.taps = [t for t in engine.taps if t != self._watch.feed]
            self._watch_signal(engine)
        self._store_meta("chain", engine.settings.to_dict())
        for key, value in self._notch_meta(notch_hz).items():
            self._store_meta(key, value)
        engine.add_event(Event(float(engine.time_s), "notch", f"{notch_hz:g} Hz" if notch_hz else "off",
                               {"notch_hz": notch_hz}))

    @staticmethod
    def _notch_meta(notch_hz: float | None) -> dict[str, Any]:
        """How a recording says which notch was used live (the keys ``import --notch`` writes too)."""
        if notch_hz:
            return {"notch": f"{notch_hz:g}", "notch_hz": float(notch_hz),
                    "notch_reason": f"notch at {notch_hz:g} Hz turned on during the session"}
        return {"notch": "auto", "notch_hz": None, "notch_reason": "no notch during the session"}

    def add_marker(self, label: str = "") -> Event | None:
        if self.engine is None:
            return None
        event = self.engine.add_marker(label[:40])
        self.markers_added += 1
        return event

    def _store_meta(self, key: str, value: Any) -> None:
        if self._writer is not None and self.engine is not None:
            self.engine.set_recording_meta(key, value)

    # ================================================================== bands, calibration, client
    def set_bands(self, bands: Bands, origin: object = None, keep: bool = False) -> None:
        """New bands for the session (and the recording); ``keep`` saves them with the client too."""
        self.bands_model.set(bands, origin)
        self._store_meta("bands", bands.to_dict())
        if keep:
            self._save_with_client(bands=bands)

    @property
    def previous_target(self) -> ReleaseTarget | None:
        """The release target typed by the therapist for this client (None when none was typed).

        Passed to the calibration wizard so that re-calibrating never overwrites it. A target chosen in
        another unit than the connected channel's (µV for her EMG sensor, a pressure probe now) is not kept.
        """
        unit = self.engine.info.channels[primary_channel(self.engine.info)].unit if self.engine is not None else None
        return self._kept_target(unit)

    def _kept_target(self, unit: str | None) -> ReleaseTarget | None:
        """Her typed (or shaping) target, when it was chosen in ``unit`` (or the unit is unknown)."""
        stored_cal = (self.client.calibration or {}) if self.client is not None else {}
        for stored, its_unit in ((self.calibration.target if self.calibration is not None else None,
                                  self.calibration.unit if self.calibration is not None else None),
                                 (stored_cal.get("target"), stored_cal.get("unit", "uV"))):
            target = ReleaseTarget.from_dict(stored) if isinstance(stored, dict) else stored
            if is_kept(target) and not (unit and its_unit and unit != its_unit):   # typed, or a shaping step
                return target
        return None

    def apply_calibration(self, cal: Calibration) -> None:
        """Take a calibration: its bands, a timed event in the recording, and both kept with the client.

        A target the therapist typed before is kept unless ``cal`` brings a newly typed one
        (:func:`~biofeedback.signal.calibration.keep_typed_target`).
        """
        if cal.target is not None and cal.target.rule != "typed":
            cal.target = keep_typed_target(self._kept_target(cal.unit), cal.target)
        self.calibration = cal
        self.set_bands(cal.default_bands())
        self._store_meta("calibration", cal.to_dict())
        if self.engine is not None:             # a timed event too, so a review shows when it was done
            self.engine.add_event(Event(float(self.engine.time_s), "calibration", "calibration",
                                        {"calibration": cal.to_dict(), "bands": self.bands.to_dict()}))
        self._save_with_client(calibration=cal, bands=self.bands)
        self.calibrated.emit(cal)

    def set_client(self, client: Client | str | None) -> Client | None:
        """Work with ``client`` (a name is looked up: an unknown one raises); her stored settings apply."""
        if isinstance(client, str):
            name = client
            try:
                with Library.open(self.library_path) as library:
                    client = require_client(library, name)
            except LibraryUnreachableError as exc:   # a clinic's server being down never stops a session
                self.offline_client = name
                self.problem.emit(str(exc))
                return None
        self.client = client
        if client is not None:
            self._take_stored_settings(client)
        self.client_changed.emit(client)
        return client

    def _take_stored_settings(self, client: Client) -> None:
        """The calibration and bands saved with the client, when they fit the connected channel."""
        try:
            cal = Calibration.from_dict(client.calibration) if client.calibration else None
        except (KeyError, TypeError, ValueError):
            cal = None
        try:
            bands = Bands.from_dict(client.bands) if client.bands else None
        except (KeyError, TypeError, ValueError):
            bands = None
        if cal is not None:
            self.calibration = cal
        if bands is not None and bands.unit == self.bands.unit:
            self.set_bands(bands)

    def _save_with_client(self, calibration: Calibration | None = None, bands: Bands | None = None) -> None:
        """Keep calibration and bands with the client for her next session."""
        if self.client is None:
            return
        try:
            with Library.open(self.library_path) as library:
                try:
                    self.client = library.update_client(
                        self.client, calibration=None if calibration is None else calibration.to_dict(),
                        bands=None if bands is None else bands.to_dict())
                except ConflictError:
                    self._take_the_other_rooms_change(library, calibrated=calibration is not None)
                    return
                if calibration is not None and calibration.target is not None:   # a new target is a shaping step
                    file_target_step(library, self.client, calibration.target.value, calibration.target.rule,
                                     unit=calibration.unit)
        except UserError as exc:
            self.problem.emit(str(exc))

    def _take_the_other_rooms_change(self, library: Library, calibrated: bool = False) -> None:
        """Another room changed the client since she was read: use the library's row, and say so once.

        Why: the stale copy's ``row_version`` would make every later save conflict too. Nothing of theirs is
        overwritten and the next save is made against the fresh row, so it goes through. Edited bands give way
        to the bands saved there (when they fit the channel); a calibration just made keeps its bands in the
        session, since they were measured on her now.
        """
        assert self.client is not None
        fresh = library.client_by_id(self.client.id)
        self.client = fresh
        try:
            theirs = Bands.from_dict(fresh.bands) if fresh.bands else None
        except (KeyError, TypeError, ValueError):
            theirs = None
        if not calibrated and theirs is not None and theirs.unit == self.bands.unit:
            self.set_bands(theirs)
            now = f"so the bands saved there are now in use ({describe_bands(theirs)})"
        else:
            now = f"and this session keeps its bands ({describe_bands(self.bands)})"
        who = f" by {fresh.changed_by}" if fresh.changed_by else ""
        when = f" at {fresh.changed_at[11:16]}" if len(fresh.changed_at) >= 16 else ""
        unsaved = ("your calibration and bands were not saved with her: calibrate again to keep them" if calibrated
                   else "your bands were not saved with her: make the change again to keep it")
        self.client_changed.emit(fresh)
        self.problem.emit(f"{fresh.name}'s record was changed meanwhile{who}{when}, {now}; {unsaved}")

    # ================================================================== protocol
    def start_protocol(self, protocol: Protocol, follow: bool = True) -> ProtocolRunner | None:
        """Run ``protocol`` from now on the stream clock; a simulated patient follows it when ``follow``."""
        if self.engine is None:
            return None
        self.stop_protocol()
        start = float(self.engine.time_s)
        runner = ProtocolRunner(protocol, start_s=start)
        self.engine.set_protocol(runner)
        self.runner = runner
        self.last_summary = None
        if self._writer is not None:
            self._protocol_recorded = True
            self._store_meta("protocol", protocol.name)
        patient = self.patient
        if patient is not None and follow:
            patient.script = effort_script(protocol, start_s=start, seed=int(getattr(patient, "seed", 0) or 0))
        self.protocol_started.emit(runner)
        return runner

    def stop_protocol(self) -> None:
        if self.runner is None:
            return
        if self.engine is not None:
            self.engine.set_protocol(None)
        self.runner = None
        patient = self.patient
        if patient is not None:
            patient.script = None
            patient.effort = 0.0
        self.protocol_stopped.emit()
