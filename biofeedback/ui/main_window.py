"""The clinic window: live plot, bands, recording, markers, calibration, practice, replay, patient view.

The window is a view of one :class:`~biofeedback.session.controller.SessionController`: the controller
owns the source, engine, recording, exercise, bands, calibration, summary and filing; the window turns
clicks into controller calls and shows what the controller tells it (its observers are called on the GUI
thread, from the window's own calls and from the frame timer's :meth:`SessionController.poll`).
"""
from __future__ import annotations

import collections
import time
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from biofeedback.errors import UserError
from biofeedback.protocols import ProtocolRunner
from biofeedback.protocols.spans import StepSpan, step_spans
from biofeedback.session.controller import SessionController, primary_channel
from biofeedback.signal.calibration import Bands, Calibration, CalibrationPlan
from biofeedback.sources import describe_source, is_replay
from biofeedback.stream import Event
from biofeedback.ui.calibration_wizard import CalibrationWizard
from biofeedback.ui.client_menu import ClientLink
from biofeedback.ui.display_units import display_factor, display_unit
from biofeedback.ui.frame_loop import FrameLoop
from biofeedback.ui.help import install_help
from biofeedback.ui.practice_keys import PracticeKeys, name_controls
from biofeedback.ui.replay_bar import fmt_time
from biofeedback.ui.settings import Settings
from biofeedback.ui.signal_status import install_signal_status
from biofeedback.ui.source_picker import SourcePicker
from biofeedback.ui.theme import Theme, apply_theme, get_theme
from biofeedback.ui.window_layout import WindowLayout

DEFAULT_SOURCE = "sim:healthy"
FRAME_MS = 16
#: how often the engine thread looks for new samples on its own. Each frame also pulls in what has arrived
#: just before it paints (SessionEngine.snapshot), so the display's latency does not depend on this; the
#: thread's polling only keeps the recording going while the view is paused (see ui/bench.py).
ENGINE_POLL_S = 0.05


class MainWindow(WindowLayout, FrameLoop, QtWidgets.QMainWindow):
    """A view of one :class:`SessionController`: draws its engine on a frame timer; it never filters."""

    sourceChanged = QtCore.Signal(str)

    def __init__(self, source: str | None = DEFAULT_SOURCE, theme: str = "light", speed: float | None = 1.0,
                 recordings_dir: str | Path | None = None, calibration_plan: CalibrationPlan | None = None,
                 library_path: str | Path | None = None) -> None:
        super().__init__()
        self.controller = SessionController(speed, poll_s=ENGINE_POLL_S, library_path=library_path)
        self.clients = ClientLink(self, self.controller, show_error=self.show_banner)
        self.setWindowTitle("Pelvic-floor biofeedback")
        self.theme: Theme = get_theme(theme)
        self.speed = speed
        self.calibration_plan = calibration_plan
        self.recordings_dir = Path(recordings_dir) if recordings_dir else self._default_recordings_dir()
        self.practice_held = False
        self.view_paused = False
        self.wizard: CalibrationWizard | None = None
        self.cue_text, self.cue_detail = "Rest and breathe", ""
        self._event_i = 0
        self._arrivals: dict[int, float] = {}
        self.latencies_ms: collections.deque[float] = collections.deque(maxlen=120)
        self._last_slow = 0.0
        self._connected_at = 0.0
        self.cue_panel = None
        self._summary_shown = False
        self._replay_spans: list[StepSpan] = []
        self.pressure_unit = "cmH2O"            # how pressure is shown; stored values are always cmH2O

        self._build()
        self.help_menu = install_help(self)
        install_signal_status(self)
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._frame)
        self._follow_controller()
        self.keys = PracticeKeys(self, (self.plot, self.patient), on_hold=self.set_practice,
                                 on_nudge=self.nudge_effort, on_space_elsewhere=self._space_on_replay)
        QtGui.QShortcut(QtGui.QKeySequence("K"), self, activated=self._space_on_replay)
        self.replay_bar.play.setToolTip("Play or pause (K, or the space bar on the trace)")
        self.window_box.setAccessibleName("Seconds of signal shown")
        name_controls(self)
        self.settings = Settings()              # her and the therapist's choices, remembered between runs
        if self.settings.pressure_unit != self.pressure_unit:
            self.set_pressure_unit(self.settings.pressure_unit)
        if self.cue_panel is not None and hasattr(self.cue_panel, "set_theme"):
            self.cue_panel.set_theme(self.theme)
        self.resize(1280, 800)
        self.layout_restored = self.settings.restore_layout("clinic", self)
        if source:
            self.connect_source(source)

    @staticmethod
    def _default_recordings_dir() -> Path:
        docs = QtCore.QStandardPaths.writableLocation(QtCore.QStandardPaths.StandardLocation.DocumentsLocation)
        return Path(docs or Path.home()) / "Biofeedback recordings"

    # ================================================================== the controller's state, read here
    @property
    def engine(self):
        return self.controller.engine

    @property
    def source(self):
        return self.controller.source

    @property
    def spec(self) -> str:
        return self.controller.spec

    @property
    def writer(self):
        return self.controller.writer

    @property
    def recording_path(self) -> Path | None:
        return self.controller.recording_path

    @property
    def runner(self) -> ProtocolRunner | None:
        return self.controller.runner

    @property
    def bands(self) -> Bands:
        return self.controller.bands

    @property
    def calibration(self) -> Calibration | None:
        return self.controller.calibration

    @property
    def markers_added(self) -> int:
        return self.controller.markers_added

    @property
    def patient_sim(self):
        """The simulated patient, when the source is the simulator."""
        return self.controller.patient

    @property
    def is_replay(self) -> bool:
        return is_replay(self.source)

    def _follow_controller(self) -> None:
        """Subscribe the window's parts to what the controller tells."""
        c = self.controller
        c.bands_model.changed.connect(self._show_bands)
        c.connected.connect(self._on_connected)
        c.disconnected.connect(self._on_disconnected)
        c.recording_started.connect(self._on_recording_started)
        c.recording_stopped.connect(self._on_recording_stopped)
        c.protocol_started.connect(self._on_protocol_started)
        c.protocol_stopped.connect(self._on_protocol_stopped)
        c.summary_ready.connect(self._show_summary)
        c.client_changed.connect(self._client_changed)
        c.filed.connect(self.clients.session_filed)
        c.problem.connect(self.show_banner)

    # ================================================================== source
    def connect_source(self, spec: str) -> bool:
        """Open and start ``spec``; on failure show one clear line and keep the window usable."""
        if self.wizard is not None:
            self.wizard.reject()
        try:
            self.controller.connect(spec)
        except UserError as exc:
            self.show_banner(str(exc))
            self.status_state.setText("not connected")
            return False
        self.sourceChanged.emit(spec)
        return True

    def _on_connected(self, spec: str) -> None:
        """A new source: configure the plot and show the controls that apply to it."""
        engine = self.controller.engine
        self._event_i = 0
        self._summary_shown = False  # a new source starts clean: no cue or summary of the last session
        if self.cue_panel is not None:
            self.cue_panel.setVisible(False)
        self.cue_big.setVisible(True)
        self._arrivals.clear()
        self.latencies_ms.clear()
        self._connected_at = time.monotonic()
        self.hide_banner()
        info = engine.info
        ch = info.channels[primary_channel(info)]
        self.plot.configure(info)
        self.plot.set_bands(self.bands)
        self.bands_panel.set_bands(self.bands)
        self.source_label.setText(describe_source(spec))
        self.connect_button.setText("Disconnect")
        self.practice_box.setVisible(self.patient_sim is not None)
        self.patient.set_squeeze_hint(self.patient_sim is not None)
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

    def disconnect_source(self) -> None:
        if self.wizard is not None:
            self.wizard.reject()
        was_connected = self.controller.is_connected
        self.controller.close()                 # tells _on_disconnected when a source was open
        if not was_connected:
            self._on_disconnected()

    def _on_disconnected(self) -> None:
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

    def _setup_replay(self, spec: str) -> None:
        if not self.is_replay:
            self.replay_bar.setVisible(False)
            self._replay_spans = []
            return
        rec = self.source.recording
        self.replay_bar.attach(self.source, self.source.duration_s, list(rec.events))
        self._replay_spans = step_spans(rec.events, self.source.duration_s)
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

    def start_recording(self, path: str | Path | None = None, duration_s: float | None = None) -> Path | None:
        """Record from now on (into ``path`` or the next free name); ``duration_s`` ends it by itself."""
        if self.engine is None or self.writer is not None:
            return self.recording_path
        target = Path(path) if path else self._next_record_path()
        try:
            self.controller.start_recording(target, duration_s=duration_s)
        except (UserError, OSError) as exc:
            self.show_banner(f"Cannot record to {target}: {exc}")
            self.record_button.setChecked(False)
            return None
        return target

    def _on_recording_started(self, target: Path) -> None:
        self.record_button.setChecked(True)
        self.record_button.setText("■ Stop")
        self.record_name.setText(target.name)
        self.record_name.setReadOnly(True)
        self.record_time.setText("00:00")

    def stop_recording(self) -> Path | None:
        """Stop recording: the controller stores the summary and files a client's session."""
        if self.writer is None:
            return None
        path = self.recording_path
        self.controller.stop_recording()
        return path

    def _on_recording_stopped(self, path: Path | None) -> None:
        self.record_button.setChecked(False)
        self.record_button.setText("● Record")
        self.record_name.setReadOnly(False)
        self.record_name.setText("")
        self.record_time.setText("saved ✓" if path else "")
        self.record_time.setToolTip(str(path) if path else "")
        if path:
            self.statusBar().showMessage(f"Recording saved: {path}", 8000)

    def _show_summary(self, summary: dict) -> None:
        if self.cue_panel is not None:
            self.cue_panel.show_summary(summary)
            self.cue_panel.setVisible(True)
            self._summary_shown = True

    def _client_changed(self, client) -> None:
        name = getattr(client, "name", "")
        self.setWindowTitle(f"Pelvic-floor biofeedback — {name}" if name else "Pelvic-floor biofeedback")
        self.client_label.setText(f"Client: {name}" if name else "")
        self.client_label.setVisible(bool(name))

    def _toggle_recording(self) -> None:
        if self.writer is None:
            self.start_recording()
        else:
            self.stop_recording()

    def add_marker(self) -> Event | None:
        if self.engine is None:
            return None
        label = self.marker_label.text().strip()[:40]
        recording = self.controller.is_recording
        ev = self.controller.add_marker(label)
        self.marker_label.clear()
        if recording:                           # the recording's clock, as its timer and the file have it
            at = fmt_time(ev.time_s - self.engine.recording_start_s)
            self.statusBar().showMessage(f"Marker at {at}" + (f": {label}" if label else ""), 3000)
        else:
            self.statusBar().showMessage("Marker not saved: not recording", 3000)
        return ev

    # ================================================================== bands and calibration
    def set_bands(self, bands: Bands) -> None:
        self.controller.set_bands(bands)

    def _bands_from_plot(self, bands: Bands) -> None:
        self.controller.set_bands(bands, origin=self.plot, keep=True)

    def _bands_from_panel(self, bands: Bands) -> None:
        self.controller.set_bands(bands, origin=self.bands_panel, keep=True)

    def _show_bands(self, bands: Bands, origin: object) -> None:
        """The one place the window learns of new bands; the widget that made the edit already shows it."""
        if origin is not self.plot:
            self.plot.set_bands(bands)
        if origin is not self.bands_panel:
            self.bands_panel.set_bands(bands)

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
        self.controller.apply_calibration(cal)

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
    def practice_effort(self):
        """Her graded effort on the simulated source (None with a sensor, during calibration or the demo)."""
        graded = getattr(self.source, "graded_effort", None)
        if graded is None or (self.wizard is not None and self.wizard.running):
            return None
        script = getattr(self.patient_sim, "script", None)
        if script is not None and not callable(getattr(script, "press", None)):
            return None                        # the demo: the simulated patient is following the cues
        return graded()

    def set_practice(self, held: bool) -> bool:
        """Space bar / big button: the effort ramps up while held and lets go when released."""
        effort = self.practice_effort()
        if effort is None:
            self.practice_held = False
            return False
        self.practice_held = bool(held)
        effort.press() if held else effort.release()
        if self.runner is None:
            self._set_cue("Squeeze gently" if held else "Let go completely", "")
        return True

    def nudge_effort(self, steps: int) -> bool:
        """Up/Down arrows, mouse wheel: squeeze a little harder or softer (5 % a step)."""
        effort = self.practice_effort()
        if effort is None:
            return False
        effort.nudge(steps)
        return True

    def _space_on_replay(self) -> bool:
        if self.is_replay and self.replay_bar.isVisible():
            self.replay_bar.toggle()
            return True
        return False

    def _toggle_protocol(self) -> None:
        if self.runner is not None:
            self.stop_protocol()
        else:
            self.start_protocol(self.protocol_combo.currentData())

    def start_protocol(self, name: str) -> None:
        """Run an exercise protocol from now on the stream clock (the engine records its step events)."""
        if self.engine is None:
            return
        proto = next((p for p in self.protocols if p.name == name), None)
        if proto is None:
            return
        self._summary_shown = False
        follow = self.protocol_box is None or self.sim_follows.isChecked()
        if self.patient_sim is not None and follow:
            self.practice_held = False
        self._demo = follow and self.patient_sim is not None
        self.controller.start_protocol(proto, follow=follow)

    def _on_protocol_started(self, _runner: ProtocolRunner) -> None:
        if self.protocol_box is not None:
            self.protocol_button.setText("Stop exercise")
        self.practice_box.setVisible(self.patient_sim is not None and not getattr(self, "_demo", False))
        if self.cue_panel is not None:
            self.cue_panel.setVisible(True)
            self.cue_big.setVisible(False)

    def _active_band(self, state) -> str | None:
        """The band to highlight; a step with its own %MVC band (``band_pct``) shows that range meanwhile."""
        self.plot.set_step_band_pct(getattr(state.step, "band_pct", None) if state is not None else None)
        return super()._active_band(state)

    def stop_protocol(self) -> None:
        self.controller.stop_protocol()

    def _on_protocol_stopped(self) -> None:
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
        if hasattr(self, "settings"):
            self.settings.pressure_unit = unit
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
        self.settings.theme = name
        apply_theme(QtWidgets.QApplication.instance(), self.theme)
        self.plot.set_theme(self.theme)
        self.plot.set_bands(self.bands)
        self.patient.set_theme(self.theme)
        if self.cue_panel is not None and hasattr(self.cue_panel, "set_theme"):
            self.cue_panel.set_theme(self.theme)
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
    def closeEvent(self, ev: QtGui.QCloseEvent) -> None:
        self.clients.ask_diary = False          # file the session, but no prompt while the window closes
        self.settings.save_layout("clinic", self)
        self.disconnect_source()
        app = QtWidgets.QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        super().closeEvent(ev)
