"""The clinic window: live plot, bands, recording, markers, calibration, practice, replay, patient view.

The window is a view of one :class:`~biofeedback.session.controller.SessionController`: the controller
owns the source, engine, recording, exercise, bands, calibration, summary and filing; the window turns
clicks into controller calls and shows what the controller tells it (its observers are called on the GUI
thread, from the window's own calls and from the frame timer's :meth:`SessionController.poll`).
"""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from biofeedback.errors import UserError
from biofeedback.protocols import ProtocolRunner
from biofeedback.session.controller import SessionController, primary_channel
from biofeedback.signal.calibration import Bands, Calibration, CalibrationPlan
from biofeedback.sources import describe_source, is_replay
from biofeedback.stream import Event
from biofeedback.ui import window_layout
from biofeedback.ui.calibration_wizard import CalibrationWizard
from biofeedback.ui.client_menu import ClientLink
from biofeedback.ui.display_units import display_factor
from biofeedback.ui.frame_loop import FrameLoop
from biofeedback.ui.help import install_help
from biofeedback.ui.parts import (
    BandsPart,
    CuePart,
    PlotPart,
    RecordingControls,
    ReplayPart,
    SessionControls,
    ShapingBar,
    StatusPart,
)
from biofeedback.ui.patient_view import PatientView
from biofeedback.ui.practice_keys import PracticeKeys, name_controls
from biofeedback.ui.settings import Settings
from biofeedback.ui.signal_status import install_signal_status
from biofeedback.ui.source_picker import SourcePicker
from biofeedback.ui.theme import Theme, apply_theme, get_theme

DEFAULT_SOURCE = "sim:healthy"
#: how often the engine thread looks for new samples on its own. Each frame also pulls in what has arrived
#: just before it paints (SessionEngine.snapshot), so the display's latency does not depend on this; the
#: thread's polling only keeps the recording going while the view is paused (see ui/bench.py).
ENGINE_POLL_S = 0.05


class MainWindow(QtWidgets.QMainWindow):
    """A view of one :class:`SessionController`, assembled from parts that own their widgets (see
    :mod:`biofeedback.ui.parts`); a frame timer draws the engine's signal. It never filters."""

    sourceChanged = QtCore.Signal(str)

    def __init__(self, source: str | None = DEFAULT_SOURCE, theme: str = "light", speed: float | None = 1.0,
                 recordings_dir: str | Path | None = None, calibration_plan: CalibrationPlan | None = None,
                 library_path: str | Path | None = None) -> None:
        super().__init__()
        self.controller = c = SessionController(speed, poll_s=ENGINE_POLL_S, library_path=library_path)
        self.clients = ClientLink(self, c, show_error=self.show_banner)
        self.setWindowTitle("Pelvic-floor biofeedback")
        self.theme: Theme = get_theme(theme)
        self.speed = speed
        self.calibration_plan = calibration_plan
        self.recordings_dir = Path(recordings_dir) if recordings_dir else self._default_recordings_dir()
        self.view_paused = False
        self.pressure_unit = "cmH2O"            # how pressure is shown; stored values are always cmH2O

        # the parts, in the order they hear of a new source
        self.plot_part = PlotPart(c, self.theme)
        self.bands_part = BandsPart(c)
        self.status = StatusPart(c, self.statusBar())
        self.shaping_bar = ShapingBar(c)        # before the diary prompt hears of a filed session: seen behind it
        self.patient = PatientView(self.theme)
        self.cues = CuePart(c, self.patient)
        self.controls = SessionControls(c, self.cues, self.status, self, calibration_plan, lambda: self.pressure_unit)
        self.recording = RecordingControls(c, self.status, self.recordings_dir)
        self.replay = ReplayPart(c, self.plot_part.plot, self.cues, self.open_review)
        self.frames = FrameLoop(self)
        self._name_parts()
        window_layout.build(self)
        self.help_menu = install_help(self)
        install_signal_status(self)
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
        self.cue_panel.set_theme(self.theme)
        self.resize(1280, 800)
        self.layout_restored = self.settings.restore_layout("clinic", self)
        if source:
            self.connect_source(source)

    def _name_parts(self) -> None:
        """Short names for the parts' widgets that other modules and tests reach (references, not copies)."""
        self.plot = self.plot_part.plot
        self.bands_panel = self.bands_part.panel
        self.banner = self.status.banner
        self.status_state, self.status_rate = self.status.state, self.status.rate
        self.status_dropped, self.status_latency = self.status.dropped, self.status.latency
        rec = self.recording
        self.record_button, self.record_name, self.record_time = rec.record_button, rec.record_name, rec.record_time
        self.marker_button, self.marker_label = rec.marker_button, rec.marker_label
        self.cue_big, self.cue_panel = self.cues.big, self.cues.panel
        self.replay_bar = self.replay.bar
        ctl = self.controls
        self.calibrate_button, self.zero_button = ctl.calibrate_button, ctl.zero_button
        self.protocol_box = ctl.protocol_box
        if ctl.protocol_box is not None:
            self.protocol_combo, self.protocol_button = ctl.protocol_combo, ctl.protocol_button
            self.sim_follows = ctl.sim_follows
        self.practice_box, self.practice_button = ctl.practice_box, ctl.practice_button
        self.timer = self.frames.timer
        self.latencies_ms = self.plot_part.latencies_ms

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

    @property
    def cue_text(self) -> str:
        return self.cues.text

    def _follow_controller(self) -> None:
        """What the window itself does when the controller tells (each part follows it on its own)."""
        c = self.controller
        c.connected.connect(self._on_connected)
        c.disconnected.connect(self._on_disconnected)
        c.client_changed.connect(self._client_changed)
        c.filed.connect(self.clients.session_filed)

    # ================================================================== source
    def connect_source(self, spec: str) -> bool:
        """Open and start ``spec``; on failure show one clear line and keep the window usable."""
        self.controls.close_wizard()
        try:
            self.controller.connect(spec)
        except UserError as exc:
            self.show_banner(str(exc))
            self.status_state.setText("not connected")
            return False
        self.sourceChanged.emit(spec)
        return True

    def _on_connected(self, spec: str) -> None:
        """A new source: show the controls that apply to it (the parts set themselves up)."""
        info = self.controller.engine.info
        ch = info.channels[primary_channel(info)]
        self.source_label.setText(describe_source(spec))
        self.connect_button.setText("Disconnect")
        self.raw_check.setVisible(ch.kind == "emg")     # a pressure probe has no band-passed EMG row

    def disconnect_source(self) -> None:
        self.controls.close_wizard()
        was_connected = self.controller.is_connected
        self.controller.close()                 # tells the parts when a source was open
        if not was_connected:
            self.controller.disconnected.emit()

    def _on_disconnected(self) -> None:
        self.connect_button.setText("Connect")

    def toggle_connection(self) -> None:
        if self.engine is not None:
            self.disconnect_source()
        else:
            self.connect_source(self.spec or DEFAULT_SOURCE)

    def pick_source(self) -> None:
        dlg = SourcePicker(self.spec, self)
        if dlg.exec() == QtWidgets.QDialog.DialogCode.Accepted:
            self.connect_source(dlg.spec)

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
    def start_recording(self, path: str | Path | None = None, duration_s: float | None = None) -> Path | None:
        """Record from now on (into ``path`` or the next free name); ``duration_s`` ends it by itself."""
        return self.recording.start(path, duration_s)

    def stop_recording(self) -> Path | None:
        return self.recording.stop()

    def add_marker(self) -> Event | None:
        return self.recording.add_marker()

    def _client_changed(self, client) -> None:
        name = getattr(client, "name", "")
        self.setWindowTitle(f"Pelvic-floor biofeedback — {name}" if name else "Pelvic-floor biofeedback")
        self.client_label.setText(f"Client: {name}" if name else "")
        self.client_label.setVisible(bool(name))

    # ================================================================== calibration, practice and exercise
    def open_calibration(self) -> CalibrationWizard | None:
        return self.controls.open_calibration()

    def apply_calibration(self, cal: Calibration) -> None:
        self.controls.apply_calibration(cal)

    def zero_pressure(self) -> float | None:
        return self.controls.zero_pressure()

    def set_practice(self, held: bool) -> bool:
        return self.controls.set_practice(held)

    def start_protocol(self, name: str) -> None:
        self.controls.start_protocol(name)

    def stop_protocol(self) -> None:
        self.controls.stop_protocol()

    @property
    def protocols(self) -> list:
        """The exercises the picker offers (the session controls' list)."""
        return self.controls.protocols

    @property
    def wizard(self) -> CalibrationWizard | None:
        return self.controls.wizard

    @property
    def practice_held(self) -> bool:
        return self.controls.practice_held

    def practice_effort(self):
        return self.controls.practice_effort()

    def nudge_effort(self, steps: int) -> bool:
        return self.controls.nudge_effort(steps)

    def _space_on_replay(self) -> bool:
        if self.is_replay and self.replay_bar.isVisible():
            self.replay_bar.toggle()
            return True
        return False

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
        if hasattr(self, "settings"):           # not yet while the window reads its settings
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
        self.cue_panel.set_theme(self.theme)
        window_layout.style(self)

    def show_banner(self, text: str) -> None:
        self.status.show_banner(text)

    def hide_banner(self) -> None:
        self.status.hide_banner()

    # ================================================================== closing
    def closeEvent(self, ev: QtGui.QCloseEvent) -> None:
        self.clients.ask_diary = False          # file the session, but no prompt while the window closes
        self.settings.save_layout("clinic", self)
        self.disconnect_source()
        super().closeEvent(ev)
