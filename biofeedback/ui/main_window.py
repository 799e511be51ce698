"""The clinic window: live plot, bands, recording, markers, calibration, practice, replay, patient view."""
from __future__ import annotations

import collections
import importlib.util
import math
import time
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from biofeedback.calibration import Bands, Calibration, CalibrationPlan, placeholder_bands
from biofeedback.errors import UserError
from biofeedback.stream import Event
from biofeedback.ui.bands_panel import BandsPanel
from biofeedback.ui.calibration_wizard import CalibrationWizard
from biofeedback.ui.client_menu import ClientLink
from biofeedback.ui.liveplot import CHANNEL_TITLES, LivePlot, primary_channel
from biofeedback.ui.patient_view import PatientView
from biofeedback.ui.replay_bar import ReplayBar, fmt_time
from biofeedback.ui.source_picker import SourcePicker
from biofeedback.ui.theme import Theme, apply_theme, get_theme

DEFAULT_SOURCE = "sim:healthy"
PRACTICE_EFFORT = 0.6
WINDOWS_S = (5, 10, 30)
FRAME_MS = 16


def _module_available(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


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


class MainWindow(QtWidgets.QMainWindow):
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

        self._build()
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

    # ================================================================== layout
    def _build(self) -> None:
        self.plot = LivePlot(self.theme)
        self.plot.bandsEdited.connect(self._bands_from_plot)
        self.plot.framePainted.connect(self._painted)

        # -- top bar: source, recording, markers, view
        top = QtWidgets.QWidget()
        top.setObjectName("topbar")
        bar = QtWidgets.QHBoxLayout(top)
        bar.setContentsMargins(10, 6, 10, 6)
        self.source_label = QtWidgets.QLabel("No source")
        f = self.source_label.font()
        f.setBold(True)
        self.source_label.setFont(f)
        self.change_source = QtWidgets.QPushButton("Source…")
        self.change_source.clicked.connect(self.pick_source)
        self.connect_button = QtWidgets.QPushButton("Disconnect")
        self.connect_button.clicked.connect(self._toggle_connection)
        self.record_button = QtWidgets.QPushButton("● Record")
        self.record_button.setCheckable(True)
        self.record_button.clicked.connect(self._toggle_recording)
        self.record_name = QtWidgets.QLineEdit()
        self.record_name.setPlaceholderText("recording name")
        self.record_name.setMaximumWidth(190)
        self.record_time = QtWidgets.QLabel("")
        self.record_time.setMinimumWidth(56)
        self.marker_button = QtWidgets.QPushButton("Marker (M)")
        self.marker_button.clicked.connect(self.add_marker)
        self.marker_label = QtWidgets.QLineEdit()
        self.marker_label.setPlaceholderText("marker label")
        self.marker_label.setMaximumWidth(130)
        self.marker_label.returnPressed.connect(self.add_marker)
        self.window_box = QtWidgets.QComboBox()
        for w in WINDOWS_S:
            self.window_box.addItem(f"{w} s", w)
        self.window_box.setCurrentIndex(WINDOWS_S.index(10))
        self.window_box.currentIndexChanged.connect(lambda _i: self.set_window(self.window_box.currentData()))
        self.pause_button = QtWidgets.QPushButton("Pause view")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Freeze the plot; recording and exercises go on")
        self.pause_button.toggled.connect(self.set_view_paused)
        self.patient_button = QtWidgets.QPushButton("Patient view")
        self.patient_button.clicked.connect(lambda: self.set_patient_view(True))
        self.client_label = QtWidgets.QLabel("")
        self.client_label.setFont(f)
        for w in (self.client_label, self.source_label, self.change_source, self.connect_button):
            bar.addWidget(w)
        bar.addSpacing(18)
        for w in (self.record_button, self.record_name, self.record_time):
            bar.addWidget(w)
        bar.addSpacing(12)
        bar.addWidget(self.marker_button)
        bar.addWidget(self.marker_label)
        bar.addStretch(1)
        bar.addWidget(self.window_box)
        bar.addWidget(self.pause_button)
        bar.addWidget(self.patient_button)

        self.banner = QtWidgets.QLabel("")
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        self.banner.setContentsMargins(12, 6, 12, 6)

        self.replay_bar = ReplayBar()
        self.replay_bar.setVisible(False)

        # -- side panel: calibration, bands, exercise, practice, cues
        side = QtWidgets.QWidget()
        side.setFixedWidth(290)
        self.side_layout = sl = QtWidgets.QVBoxLayout(side)
        sl.setContentsMargins(8, 8, 8, 8)
        self.cue_big = QtWidgets.QLabel(self.cue_text)
        self.cue_big.setWordWrap(True)
        self.cue_big.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        cf = QtGui.QFont()
        cf.setPointSize(18)
        cf.setBold(True)
        self.cue_big.setFont(cf)
        self.cue_big.setMinimumHeight(64)
        sl.addWidget(self.cue_big)
        self.calibrate_button = QtWidgets.QPushButton("Calibrate…")
        self.calibrate_button.setToolTip("Rest baseline and three maximal squeezes set the bands")
        self.calibrate_button.clicked.connect(self.open_calibration)
        sl.addWidget(self.calibrate_button)
        self.bands_panel = BandsPanel()
        self.bands_panel.bandsChanged.connect(self._bands_from_panel)
        sl.addWidget(self.bands_panel)
        self._add_protocol_picker(sl)
        self.practice_box = QtWidgets.QGroupBox("Practice without a sensor")
        pl = QtWidgets.QVBoxLayout(self.practice_box)
        self.practice_button = QtWidgets.QPushButton("Hold to squeeze")
        self.practice_button.setMinimumHeight(64)
        pf = self.practice_button.font()
        pf.setPointSize(14)
        pf.setBold(True)
        self.practice_button.setFont(pf)
        self.practice_button.pressed.connect(lambda: self.set_practice(True))
        self.practice_button.released.connect(lambda: self.set_practice(False))
        self.practice_button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        hint = QtWidgets.QLabel("or hold the space bar; let go to release")
        hint.setWordWrap(True)
        pl.addWidget(self.practice_button)
        pl.addWidget(hint)
        sl.addWidget(self.practice_box)
        self.raw_check = QtWidgets.QCheckBox("Show filtered EMG row")
        self.raw_check.toggled.connect(self.plot.set_raw_visible)
        sl.addWidget(self.raw_check)
        sl.addStretch(1)

        plot_area = QtWidgets.QWidget()
        pv = QtWidgets.QVBoxLayout(plot_area)
        pv.setContentsMargins(0, 0, 0, 0)
        pv.setSpacing(0)
        pv.addWidget(self.banner)
        self._add_cue_panel(pv)
        pv.addWidget(self.plot, 1)
        pv.addWidget(self.replay_bar)

        clinic = QtWidgets.QWidget()
        cv = QtWidgets.QVBoxLayout(clinic)
        cv.setContentsMargins(0, 0, 0, 0)
        cv.setSpacing(0)
        cv.addWidget(top)
        body = QtWidgets.QHBoxLayout()
        body.setSpacing(0)
        body.addWidget(plot_area, 1)
        body.addWidget(side)
        cv.addLayout(body, 1)

        self.patient = PatientView(self.theme)
        self.patient.backRequested.connect(lambda: self.set_patient_view(False))
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(clinic)
        self.stack.addWidget(self.patient)
        self.setCentralWidget(self.stack)

        # -- status bar
        sb = self.statusBar()
        self.status_state = QtWidgets.QLabel("idle")
        self.status_rate = QtWidgets.QLabel("")
        self.status_dropped = QtWidgets.QLabel("")
        self.status_latency = QtWidgets.QLabel("")
        for w in (self.status_state, self.status_rate, self.status_dropped, self.status_latency):
            w.setContentsMargins(8, 0, 8, 0)
            sb.addPermanentWidget(w)

        # -- menus and shortcuts
        self._build_menus()
        QtGui.QShortcut(QtGui.QKeySequence("M"), self, activated=self.add_marker)
        QtGui.QShortcut(QtGui.QKeySequence("F11"), self, activated=lambda: self.set_patient_view(
            self.stack.currentWidget() is not self.patient))
        self._style()

    def _add_cue_panel(self, layout: QtWidgets.QVBoxLayout) -> None:
        """The cue panel (with its breathing pacer) from ``biofeedback.ui.cues``, above the plot while an
        exercise runs; left out when that module is not installed."""
        if not _module_available("biofeedback.ui.cues"):
            return
        try:
            from biofeedback.ui import cues
            self.cue_panel = cues.CuePanel()
        except Exception:  # a broken optional panel must not keep the window from opening
            self.cue_panel = None
            return
        self.cue_panel.setMaximumHeight(230)
        self.cue_panel.setVisible(False)
        layout.addWidget(self.cue_panel)

    def _add_protocol_picker(self, layout: QtWidgets.QVBoxLayout) -> None:
        self.protocols = []
        self.protocol_box = None
        if not _module_available("biofeedback.protocols"):
            return
        try:
            from biofeedback.protocols import list_protocols
            self.protocols = list(list_protocols())
        except Exception:
            self.protocols = []
        if not self.protocols:
            return
        box = QtWidgets.QGroupBox("Exercise")
        gl = QtWidgets.QVBoxLayout(box)
        self.protocol_combo = QtWidgets.QComboBox()
        for p in self.protocols:
            self.protocol_combo.addItem(getattr(p, "title", "") or p.name, p.name)
        self.protocol_button = QtWidgets.QPushButton("Start exercise")
        self.protocol_button.clicked.connect(self._toggle_protocol)
        self.sim_follows = QtWidgets.QCheckBox("Simulated patient follows cues")
        self.sim_follows.setChecked(True)
        gl.addWidget(self.protocol_combo)
        gl.addWidget(self.protocol_button)
        gl.addWidget(self.sim_follows)
        layout.addWidget(box)
        self.protocol_box = box

    def _build_menus(self) -> None:
        mb = self.menuBar()
        fm = mb.addMenu("&File")
        fm.addAction("Choose source…", self.pick_source)
        fm.addAction("Replay a recording…", self.open_recording_dialog, QtGui.QKeySequence.StandardKey.Open)
        fm.addAction("Review a recording…", self.review_dialog)
        fm.addSeparator()
        fm.addAction("Quit", self.close, QtGui.QKeySequence.StandardKey.Quit)
        vm = mb.addMenu("&View")
        vm.addAction("Patient view\tF11", lambda: self.set_patient_view(True))
        vm.addSeparator()
        modes = QtGui.QActionGroup(self)
        for mode, title in (("sweep", "Sweep trace (lightest on the computer)"), ("scroll", "Scrolling trace")):
            act = vm.addAction(title, lambda m=mode: self.plot.set_mode(m))
            act.setCheckable(True)
            act.setChecked(mode == self.plot.mode)
            modes.addAction(act)
        raw = vm.addAction("Filtered EMG row")
        raw.setCheckable(True)
        raw.toggled.connect(self.raw_check.setChecked)
        self.raw_check.toggled.connect(raw.setChecked)
        vm.addSeparator()
        group = QtGui.QActionGroup(self)
        for name in ("light", "dark"):
            act = vm.addAction(f"{name.capitalize()} theme", lambda n=name: self.set_theme(n))
            act.setCheckable(True)
            act.setChecked(name == self.theme.name)
            group.addAction(act)
        self.clients.add_menu(mb)

    def _style(self) -> None:
        t = self.theme
        self.setStyleSheet(
            f"#topbar {{ background:{t.panel}; border-bottom:1px solid {t.muted}; }}"
            f"QPushButton:checked {{ background:{t.marker}; color:white; font-weight:bold; }}")
        self.banner.setStyleSheet(f"background:{t.marker}; color:white; font-weight:bold;")
        self.cue_big.setStyleSheet(f"color:{t.foreground};")

    # ================================================================== source
    def connect_source(self, spec: str) -> bool:
        """Open and start ``spec``; on failure show one clear line and keep the window usable."""
        from biofeedback.engine import SessionEngine
        from biofeedback.sources import open_source
        self.disconnect_source()
        speed = self.speed
        try:
            source = open_source(spec, speed)
            engine = SessionEngine(source)
            engine.start()
        except UserError as exc:
            self.show_banner(str(exc))
            self.status_state.setText("not connected")
            return False
        self.source, self.engine, self.spec = source, engine, spec
        self._event_i = 0
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
        live = not self.is_replay
        self.calibrate_button.setEnabled(live)
        self.calibrate_button.setVisible(live)
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
                from biofeedback.session import store_summary
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
        self.wizard = CalibrationWizard(self.engine, self.patient_sim, self.calibration_plan, self)
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
        self.clients.save(calibration=cal, bands=self.bands)

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

    # ================================================================== frame loop
    def _frame(self) -> None:
        engine = self.engine
        if engine is None:
            return
        t_now = float(engine.time_s)
        state = self.runner.current(t_now) if self.runner is not None else None
        if self.is_replay:
            t_now = float(self.source.position_s)
            band = self._show_recorded_step(t_now)
        else:
            band = self._active_band(state)
        self.plot.set_active_band(band)
        if self.patient_view_active:
            snap = engine.snapshot(0.25)
            value = self._last_value(snap)
            self.patient.set_level(value, self.bands, band)
        elif not self.view_paused:
            snap = engine.snapshot(self.plot.needed_seconds(t_now, engine.info.rate), raw=self.plot.wants_raw)
            if self.plot.update_from(snap):
                self._arrivals[int(snap.end_index)] = float(getattr(snap, "arrival", 0.0) or 0.0)
        events, self._event_i = engine.events_since(self._event_i)
        for ev in events:
            self._on_event(ev)
        if state is not None:
            self._show_state(state, t_now)
        elif self.runner is not None and getattr(self.runner, "finished", False):
            self.stop_protocol()
        now = time.monotonic()
        if now - self._last_slow >= 0.25:
            self._last_slow = now
            self._slow_update(t_now)

    def _active_band(self, state) -> str | None:
        if state is not None:
            return getattr(state.step, "band", None)
        if self.wizard is not None and self.wizard.run is not None and self.wizard.running:
            phase = self.wizard.run.phase_at(float(self.engine.time_s))
            return "contraction" if phase is not None and phase.kind == "contract" else "release"
        if self.is_replay:
            return None
        return "contraction" if self.practice_held else "release"

    def _show_recorded_step(self, t_s: float) -> str | None:
        """In a replay: the recorded exercise step at ``t_s`` gives the active band and the cue."""
        step = None
        for start, duration, band, cue in self._replay_steps:
            if start > t_s:
                break
            if t_s < start + duration:
                step = (start, duration, band, cue)
        if step is None:
            if self.cue_text != "" or self.cue_detail != "":
                self._set_cue("", "")
            return None
        start, duration, band, cue = step
        detail = f"{math.ceil(start + duration - t_s):.0f} s"
        if cue != self.cue_text or detail != self.cue_detail:
            self._set_cue(cue, detail)
        return band

    def _last_value(self, snap) -> float:
        env = np.asarray(snap.envelope)
        if env.shape[0] == 0:
            return float("nan")
        col = env[:, primary_channel(self.engine.info)]
        finite = np.flatnonzero(np.isfinite(col))
        return float(col[finite[-1]]) if finite.size else float("nan")

    def _show_state(self, state, t_now: float) -> None:
        step = state.step
        detail = f"{math.ceil(state.remaining_s):.0f} s"
        if getattr(state, "next_step", None) is not None:
            detail += f" · next: {state.next_step.cue}"
        if step.cue != self.cue_text or detail != self.cue_detail:
            self._set_cue(step.cue, detail)
        if self.cue_panel is not None:
            self.cue_panel.update_state(state, t_now)

    def _on_event(self, ev: Event) -> None:
        if ev.kind == "summary" and self.cue_panel is not None and hasattr(self.cue_panel, "show_summary"):
            self.cue_panel.show_summary(dict(ev.data))
            self.cue_panel.setVisible(True)
            self._summary_shown = True
        elif ev.kind == "disconnected":
            self.show_banner("Sensor disconnected — recording keeps what came so far; waiting for it to come back")
        elif ev.kind == "reconnected":
            self.hide_banner()

    def _painted(self, end_index: int, t_paint: float) -> None:
        arrival = self._arrivals.pop(end_index, 0.0)
        if len(self._arrivals) > 256:
            self._arrivals.clear()
        if arrival > 0:
            self.latencies_ms.append(1000.0 * (t_paint - arrival))

    def _slow_update(self, t_now: float) -> None:
        engine = self.engine
        state = engine.stats.state
        if self.is_replay and getattr(self.source, "finished", False):
            state = "ended"
        elif self.is_replay and not self.replay_bar.playing:
            state = "paused"
        self.status_state.setText(f"● {state}")
        stats = engine.stats
        rate = getattr(stats, "measured_rate", None) if stats is not None else None
        self.status_rate.setText(f"{rate:.0f} Hz" if rate else f"{engine.info.rate:.0f} Hz nominal")
        dropped = getattr(stats, "dropped", 0) if stats is not None else 0
        self.status_dropped.setText(f"{dropped} dropped")
        if self.latencies_ms:
            self.status_latency.setText(f"display {np.median(self.latencies_ms):.0f} ms")
        if self.writer is not None:
            if engine.recording is None:       # the engine closed it (e.g. the disk filled up)
                self.stop_recording()
                self.show_banner(engine.error or "Recording stopped.")
            else:
                self.record_time.setText(fmt_time(engine.recording_elapsed_s)[:-2])
        elif engine.error:
            self.show_banner(engine.error)
        if self.is_replay:
            self.replay_bar.update_position(self.source.position_s, bool(self.source.finished))

    # ================================================================== closing
    def closeEvent(self, ev: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt name
        self.clients.ask_diary = False          # file the session, but no prompt while the window closes
        self.disconnect_source()
        app = QtWidgets.QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        super().closeEvent(ev)
