"""The clinic window: live plot, bands, recording, markers, calibration, practice, replay, patient view."""
from __future__ import annotations

import collections
import time
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from biofeedback.errors import UserError
from biofeedback.signal.calibration import Bands, Calibration, CalibrationPlan, placeholder_bands
from biofeedback.stream import Event
from biofeedback.ui.calibration_wizard import CalibrationWizard
from biofeedback.ui.client_menu import ClientLink
from biofeedback.ui.display_units import display_factor, display_unit
from biofeedback.ui.frame_loop import FrameLoop
from biofeedback.ui.help import install_help
from biofeedback.ui.liveplot import primary_channel
from biofeedback.ui.replay_bar import fmt_time
from biofeedback.ui.source_picker import SourcePicker
from biofeedback.ui.theme import Theme, apply_theme, get_theme
from biofeedback.ui.window_layout import WindowLayout

DEFAULT_SOURCE = "sim:healthy"
PRACTICE_EFFORT = 0.6
FRAME_MS = 16
#: how often the engine thread looks for new samples on its own. Each frame also pulls in what has arrived
#: just before it paints (SessionEngine.snapshot), so the display's latency does not depend on this; the
#: thread's polling only keeps the recording going while the view is paused (see ui/bench.py).
ENGINE_POLL_S = 0.05


def describe_source(spec: str) -> str:
    kind, _, rest = spec.partition(":")
    name = rest.split("?")[0]
    if kind == "sim":
        return f"Simulated patient · {name or 'healthy'}"
    if kind == "replay":
        return f"Replay · {Path(name).name}"
    if kind == "serial":
        dev = spec.partition("device=")[2].split("&")[0]
        return f"Sensor · {name}" + (f" ({dev})" if dev else "")
    return spec


class MainWindow(WindowLayout, FrameLoop, QtWidgets.QMainWindow):
    """Owns one :class:`SessionEngine` at a time and draws it on a frame timer; it never filters."""

    sourceChanged = QtCore.Signal(str)

    def __init__(self, source: str | None = DEFAULT_SOURCE, theme: str = "light", speed: float | None = 1.0,
                 recordings_dir: str | Path | None = None, calibration_plan: CalibrationPlan | None = None,
                 library_path: str | Path | None = None) -> None:
        super().__init__()
        self.clients = ClientLink(self, library_path, show_error=self.show_banner)
        self.clients.clientChanged.connect(self._client_changed)
        self.setWindowTitle("Pelvic-floor biofeedback")
        self.theme: Theme = get_theme(theme)
        self.speed = speed
        self.calibration_plan = calibration_plan
        self.recordings_dir = Path(recordings_dir) if recordings_dir else self._default_recordings_dir()
        self.engine = None
        self.source = None
        self.spec = ""
        self.writer = None
        self.recording_path: Path | None = None
        self._record_start_s = 0.0
        self.markers_added = 0
        self.bands: Bands = placeholder_bands()
        self.calibration: Calibration | None = None
        self.runner = None                      # a protocol runner, when an exercise runs
        self.practice_held = False
        self.view_paused = False
        self.wizard: CalibrationWizard | None = None
        self.cue_text, self.cue_detail = "Rest and breathe", ""
        self._event_i = 0
        self._arrivals: dict[int, float] = {}
        self.latencies_ms: collections.deque[float] = collections.deque(maxlen=120)
        self._last_slow = 0.0
        self.cue_panel = None
        self._summary_shown = False
        self._replay_steps: list[tuple[float, float, str | None, str]] = []
        self._protocol_recorded = False
        self.pressure_unit = "cmH2O"            # how pressure is shown; stored values are always cmH2O

        self._build()
        self.help_menu = install_help(self)
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._frame)
        QtWidgets.QApplication.instance().installEventFilter(self)
        self.resize(1280, 800)
        if source:
            self.connect_source(source)

    @staticmethod
    def _default_recordings_dir() -> Path:
        docs = QtCore.QStandardPaths.writableLocation(QtCore.QStandardPaths.StandardLocation.DocumentsLocation)
        return Path(docs or Path.home()) / "Biofeedback recordings"

    # ================================================================== source
    def connect_source(self, spec: str) -> bool:
        """Open and start ``spec``; on failure show one clear line and keep the window usable."""
        from biofeedback.session.engine import SessionEngine
        from biofeedback.sources import open_source
        self.disconnect_source()
        speed = self.speed
        try:
            source = open_source(spec, speed)
            engine = SessionEngine(source, poll_s=ENGINE_POLL_S)
            engine.start()
        except UserError as exc:
            self.show_banner(str(exc))
            self.status_state.setText("not connected")
            return False
        self.source, self.engine, self.spec = source, engine, spec
        self._event_i = 0
        self._summary_shown = False  # a new source starts clean: no cue or summary of the last session
        if self.cue_panel is not None:
            self.cue_panel.setVisible(False)
        self.cue_big.setVisible(True)
        self._arrivals.clear()
        self.latencies_ms.clear()
        self.hide_banner()
        info = engine.info
        ch = info.channels[primary_channel(info)]
        if self.bands.unit != ch.unit:
            self.set_bands(placeholder_bands(ch.unit, ch.name))
        self.plot.configure(info)
        self.plot.set_bands(self.bands)
        self.source_label.setText(describe_source(spec))
        self.connect_button.setText("Disconnect")
        self.practice_box.setVisible(self.patient_sim is not None)
        if self.protocol_box is not None:
            self.sim_follows.setVisible(self.patient_sim is not None)
        live = not self.is_replay
        self.calibrate_button.setEnabled(live)
        self.calibrate_button.setVisible(live)
        self.zero_button.setVisible(live and "pressure" in info.names)
        self.raw_check.setVisible(ch.kind == "emg")     # a pressure probe has no band-passed EMG row
        if self.protocol_box is not None:
            self.protocol_box.setVisible(live)
        for w in (self.record_button, self.record_name, self.record_time, self.marker_button, self.marker_label):
            w.setEnabled(live)
            w.setVisible(live)
        self._setup_replay(spec)
        self.timer.start()
        self.sourceChanged.emit(spec)
        return True

    def disconnect_source(self) -> None:
        if self.wizard is not None:
            self.wizard.reject()
        self.stop_protocol()
        self.stop_recording()
        if self.engine is not None:
            self.engine.stop()
            close = getattr(self.source, "close", None)     # a replay holds its recording open
            if close is not None:
                close()
        self.engine = self.source = None
        self.timer.stop()
        self.connect_button.setText("Connect")
        self.status_state.setText("disconnected")
        self.replay_bar.setVisible(False)

    def _toggle_connection(self) -> None:
        if self.engine is not None:
            self.disconnect_source()
        else:
            self.connect_source(self.spec or DEFAULT_SOURCE)

    def pick_source(self) -> None:
        dlg = SourcePicker(self.spec, self)
        if dlg.exec() == QtWidgets.QDialog.DialogCode.Accepted:
            self.connect_source(dlg.spec)

    @property
    def patient_sim(self):
        """The simulated patient, when the source is the simulator."""
        return getattr(self.source, "patient", None)

    @property
    def is_replay(self) -> bool:
        return self.spec.startswith("replay:")

    def _setup_replay(self, spec: str) -> None:
        if not self.is_replay:
            self.replay_bar.setVisible(False)
            self._replay_steps = []
            return
        rec = self.source.recording
        self.replay_bar.attach(self.source, self.source.duration_s, list(rec.events))
        self._replay_steps = sorted((float(e.time_s), float(e.data.get("duration_s") or 0.0), e.data.get("band"),
                                     str(e.data.get("cue") or e.label)) for e in rec.events if e.kind == "step")
        meta = dict(rec.meta or {})
        if meta.get("bands"):
            try:
                self.set_bands(Bands.from_dict(meta["bands"]))
            except (KeyError, ValueError, TypeError):
                pass
        if meta.get("calibration"):
            try:
                self.calibration = Calibration.from_dict(meta["calibration"])
            except (KeyError, ValueError, TypeError):
                pass
        self.replay_bar.setVisible(True)

    def open_recording_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Replay a recording", str(self.recordings_dir),
                                                        "Recordings (*.bfr);;All files (*)")
        if path:
            self.connect_source(f"replay:{path}")

    def review_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Review a recording", str(self.recordings_dir),
                                                        "Recordings (*.bfr);;All files (*)")
        if path:
            self.open_review(path)

    def open_review(self, path: str | Path):
        from biofeedback.ui.review import ReviewWindow
        try:
            win = ReviewWindow(path, self.theme, bands=None)
        except UserError as exc:
            self.show_banner(str(exc))
            return None
        win.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        win.show()
        self._review = win
        return win

    # ================================================================== recording and markers
    def _next_record_path(self) -> Path:
        name = self.record_name.text().strip() or time.strftime("session-%Y%m%d-%H%M%S")
        if not name.endswith(".bfr"):
            name += ".bfr"
        path = Path(name) if Path(name).is_absolute() else self.recordings_dir / name
        stem, n = path.with_suffix(""), 2
        while path.exists():
            path = Path(f"{stem}-{n}.bfr")
            n += 1
        return path

    def start_recording(self, path: str | Path | None = None) -> Path | None:
        if self.engine is None or self.writer is not None:
            return self.recording_path
        target = Path(path) if path else self._next_record_path()
        meta = {"source": self.spec, "bands": self.bands.to_dict()}
        if self.clients.client_name:
            meta["client"] = self.clients.client_name
        if self.runner is not None:
            meta["protocol"] = self.runner.protocol.name
        if self.calibration is not None:
            meta["calibration"] = self.calibration.to_dict()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self.writer = self.engine.start_recording(str(target), meta)
        except (UserError, OSError) as exc:
            self.show_banner(f"Cannot record to {target}: {exc}")
            self.record_button.setChecked(False)
            return None
        self.recording_path = target
        self._protocol_recorded = self.runner is not None
        self.markers_added = 0
        self.record_button.setChecked(True)
        self.record_button.setText("■ Stop")
        self.record_name.setText(target.name)
        self.record_name.setReadOnly(True)
        self.record_time.setText("00:00")
        return target

    def stop_recording(self) -> Path | None:
        if self.writer is None:
            return None
        path = self.recording_path
        try:
            self.engine.stop_recording()
        except UserError as exc:
            self.show_banner(f"The recording could not be closed cleanly: {exc}")
        finally:
            self.writer = None
            self.record_button.setChecked(False)
            self.record_button.setText("● Record")
            self.record_name.setReadOnly(False)
            self.record_name.setText("")
            self.record_time.setText("saved ✓" if path else "")
            self.record_time.setToolTip(str(path) if path else "")
            if path:
                self.statusBar().showMessage(f"Recording saved: {path}", 8000)
        if path is not None and path.exists():
            self._after_recording(path)
        return path

    def _after_recording(self, path: Path) -> None:
        """A guided session gets its summary stored (and shown); a client's recording goes into the library."""
        if self._protocol_recorded:
            self._protocol_recorded = False
            try:
                from biofeedback.session.headless import store_summary
                summary = store_summary(path)
            except (ImportError, UserError, ValueError) as exc:
                summary = None
                self.show_banner(f"The session summary could not be computed: {exc}")
            if summary and self.cue_panel is not None and hasattr(self.cue_panel, "show_summary"):
                self.cue_panel.show_summary(summary)
                self.cue_panel.setVisible(True)
                self._summary_shown = True
        self.clients.recording_finished(path)

    def _client_changed(self, client) -> None:
        name = getattr(client, "name", "")
        self.setWindowTitle(f"Pelvic-floor biofeedback — {name}" if name else "Pelvic-floor biofeedback")
        self.client_label.setText(f"Client: {name}" if name else "")
        self.client_label.setVisible(bool(name))
        bands = self.clients.stored_bands()
        cal = self.clients.stored_calibration()
        if cal is not None:
            self.calibration = cal
        if bands is not None and bands.unit == self.bands.unit:
            self.set_bands(bands)

    def _toggle_recording(self) -> None:
        if self.writer is None:
            self.start_recording()
        else:
            self.stop_recording()

    def add_marker(self) -> Event | None:
        if self.engine is None:
            return None
        label = self.marker_label.text().strip()[:40]
        ev = self.engine.add_marker(label)
        self.marker_label.clear()
        self.markers_added += 1
        self.statusBar().showMessage(f"Marker at {fmt_time(ev.time_s)}" + (f": {label}" if label else ""), 3000)
        return ev

    # ================================================================== bands and calibration
    def set_bands(self, bands: Bands) -> None:
        self.bands = bands
        self.plot.set_bands(bands)
        self.bands_panel.set_bands(bands)
        self._store_meta("bands", bands.to_dict())

    def _bands_from_plot(self, bands: Bands) -> None:
        self.bands = bands
        self.bands_panel.set_bands(bands)
        self._store_meta("bands", bands.to_dict())
        self.clients.save(bands=bands)

    def _bands_from_panel(self, bands: Bands) -> None:
        self.bands = bands
        self.plot.set_bands(bands)
        self._store_meta("bands", bands.to_dict())
        self.clients.save(bands=bands)

    def _store_meta(self, key: str, value) -> None:
        if self.writer is not None and self.engine is not None:
            self.engine.set_recording_meta(key, value)

    def open_calibration(self) -> CalibrationWizard | None:
        if self.engine is None or self.is_replay:
            return None
        if self.wizard is not None:
            self.wizard.raise_()
            return self.wizard
        self.stop_protocol()
        self.set_practice(False)
        self.wizard = CalibrationWizard(self.engine, self.patient_sim, self.calibration_plan, self,
                                        pressure_unit=self.pressure_unit)
        self.wizard.calibrated.connect(self.apply_calibration)
        self.wizard.cueChanged.connect(self._set_cue)
        self.wizard.finished.connect(self._wizard_closed)
        self.wizard.show()
        return self.wizard

    def _wizard_closed(self, _result: int) -> None:
        self.wizard = None

    def apply_calibration(self, cal: Calibration) -> None:
        self.calibration = cal
        self.set_bands(cal.default_bands())
        self._store_meta("calibration", cal.to_dict())
        if self.engine is not None:             # a timed event too, so a review shows when it was done
            self.engine.add_event(Event(float(self.engine.time_s), "calibration", "calibration",
                                        {"calibration": cal.to_dict(), "bands": self.bands.to_dict()}))
        self.clients.save(calibration=cal, bands=self.bands)

    def zero_pressure(self) -> float | None:
        """Zero the pressure probe to its reading in air over the last second (display only; raw kept, tare event)."""
        if self.engine is None or self.is_replay or "pressure" not in self.engine.info.names:
            return None                         # the button is hidden then: nothing to zero
        try:
            offset = self.engine.zero_pressure("pressure", seconds=1.0)
        except UserError as exc:
            self.show_banner(str(exc))
            return None
        self.hide_banner()
        shown = offset * display_factor("cmH2O", self.pressure_unit)
        self.statusBar().showMessage(f"Pressure zeroed at {shown:.1f} {display_unit('cmH2O', self.pressure_unit)}",
                                     6000)
        return offset

    # ================================================================== practice and protocol
    def set_practice(self, held: bool) -> None:
        """Space bar / big button: the simulated patient squeezes (effort 0.6) while held."""
        patient = self.patient_sim
        if patient is None or (self.wizard is not None and self.wizard.running):
            self.practice_held = False
            return
        if self.runner is not None and getattr(patient, "script", None) is not None:
            return                             # the simulated patient is following an exercise
        self.practice_held = bool(held)
        patient.effort = PRACTICE_EFFORT if held else 0.0
        self._set_cue("Squeeze gently" if held else "Let go completely", "")

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:  # noqa: N802 - Qt name
        et = ev.type()
        if et in (QtCore.QEvent.Type.KeyPress, QtCore.QEvent.Type.KeyRelease) \
                and ev.key() == QtCore.Qt.Key.Key_Space and isinstance(obj, QtWidgets.QWidget) \
                and obj.window() is self and not isinstance(obj, (QtWidgets.QLineEdit, QtWidgets.QAbstractSpinBox,
                                                                   QtWidgets.QComboBox)):
            if self.patient_sim is None:
                return False
            if not ev.isAutoRepeat():
                self.set_practice(et == QtCore.QEvent.Type.KeyPress)
            return True
        return False

    def _toggle_protocol(self) -> None:
        if self.runner is not None:
            self.stop_protocol()
        else:
            self.start_protocol(self.protocol_combo.currentData())

    def start_protocol(self, name: str) -> None:
        """Run an exercise protocol from now on the stream clock (the engine records its step events)."""
        from biofeedback import protocols
        if self.engine is None:
            return
        proto = next((p for p in self.protocols if p.name == name), None)
        if proto is None:
            return
        start = float(self.engine.time_s)
        runner = protocols.ProtocolRunner(proto, start_s=start)
        self._summary_shown = False
        set_protocol = getattr(self.engine, "set_protocol", None)
        if set_protocol is not None:
            set_protocol(runner)
        self.runner = runner
        if self.writer is not None:
            self._protocol_recorded = True
            self._store_meta("protocol", proto.name)
        patient = self.patient_sim
        if patient is not None and self.sim_follows.isChecked() and hasattr(protocols, "effort_script"):
            self.practice_held = False
            patient.script = protocols.effort_script(proto, start_s=start)
        self.protocol_button.setText("Stop exercise")
        self.practice_box.setVisible(False)
        if self.cue_panel is not None:
            self.cue_panel.setVisible(True)
            self.cue_big.setVisible(False)

    def _active_band(self, state) -> str | None:
        """The band to highlight; a step with its own %MVC band (``band_pct``) shows that range meanwhile."""
        self.plot.set_step_band_pct(getattr(state.step, "band_pct", None) if state is not None else None)
        return super()._active_band(state)

    def stop_protocol(self) -> None:
        if self.runner is None:
            return
        set_protocol = getattr(self.engine, "set_protocol", None) if self.engine is not None else None
        if set_protocol is not None:
            set_protocol(None)
        self.runner = None
        patient = self.patient_sim
        if patient is not None:
            patient.script = None
            patient.effort = 0.0
        if self.protocol_box is not None:
            self.protocol_button.setText("Start exercise")
        self.practice_box.setVisible(self.patient_sim is not None)
        if self.cue_panel is not None and not self._summary_shown:
            self.cue_panel.setVisible(False)
        self.cue_big.setVisible(True)
        self._set_cue("Rest and breathe", "")

    # ================================================================== view
    def set_window(self, seconds: float) -> None:
        self.plot.set_window(seconds)
        i = self.window_box.findData(int(seconds))
        if i >= 0 and i != self.window_box.currentIndex():
            self.window_box.setCurrentIndex(i)

    def set_pressure_unit(self, unit: str) -> None:
        """Show pressure in ``cmH2O`` (default) or ``mmHg`` everywhere in the window; nothing stored changes."""
        display_factor("cmH2O", unit)          # refuses an unknown unit
        self.pressure_unit = unit
        self.plot.set_pressure_unit(unit)
        self.bands_panel.set_pressure_unit(unit)
        act = self.pressure_unit_actions.get(unit)
        if act is not None and not act.isChecked():
            act.setChecked(True)

    def set_view_paused(self, paused: bool) -> None:
        """Freeze the plot only: the engine keeps recording and running the exercise."""
        self.view_paused = bool(paused)
        self.pause_button.setText("Resume view" if paused else "Pause view")
        if self.pause_button.isChecked() != self.view_paused:
            self.pause_button.setChecked(self.view_paused)

    def set_patient_view(self, on: bool, full_screen: bool = True) -> None:
        """The patient's simplified view (full screen by default); Esc, F11 or a double-click go back."""
        if on:
            self.stack.setCurrentWidget(self.patient)
            self.menuBar().setVisible(False)
            self.statusBar().setVisible(False)
            self.patient.setFocus()
            if full_screen and self.isVisible() and not self.isFullScreen():
                self._was_maximized = self.isMaximized()
                self.showFullScreen()
        else:
            self.stack.setCurrentIndex(0)
            self.menuBar().setVisible(True)
            self.statusBar().setVisible(True)
            if self.isFullScreen():
                self.showMaximized() if getattr(self, "_was_maximized", False) else self.showNormal()

    @property
    def patient_view_active(self) -> bool:
        return self.stack.currentWidget() is self.patient

    def set_theme(self, name: str) -> None:
        self.theme = get_theme(name)
        apply_theme(QtWidgets.QApplication.instance(), self.theme)
        self.plot.set_theme(self.theme)
        self.plot.set_bands(self.bands)
        self.patient.set_theme(self.theme)
        self._style()

    def show_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(True)

    def hide_banner(self) -> None:
        self.banner.setVisible(False)

    def _set_cue(self, cue: str, detail: str = "") -> None:
        self.cue_text, self.cue_detail = cue, detail
        self.cue_big.setText(cue)
        self.patient.set_cue(cue, detail)

    # ================================================================== closing
    def closeEvent(self, ev: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt name
        self.clients.ask_diary = False          # file the session, but no prompt while the window closes
        self.disconnect_source()
        app = QtWidgets.QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        super().closeEvent(ev)
