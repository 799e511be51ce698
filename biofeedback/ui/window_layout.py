"""The clinic window's widgets, menus and styling (a mixin of :class:`~biofeedback.ui.main_window.MainWindow`)."""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from biofeedback.protocols import list_protocols
from biofeedback.ui.bands_panel import BandsPanel
from biofeedback.ui.cues import CuePanel
from biofeedback.ui.home_switch import switch_to_home
from biofeedback.ui.liveplot import LivePlot
from biofeedback.ui.patient_view import PatientView
from biofeedback.ui.replay_bar import ReplayBar
from biofeedback.ui.theme import cue_label

WINDOWS_S = (5, 10, 30)


class WindowLayout:
    """Builds the top bar, plot area, side panel, patient page, status bar and menus."""

    def _build(self) -> None:
        """The window's widgets, in stages: plot, top bar, side panel, plot area, pages, status bar, menus."""
        self.plot = LivePlot(self.theme)
        self.plot.bandsEdited.connect(self._bands_from_plot)
        self.plot.framePainted.connect(self._painted)
        top = self._build_top_bar()
        side = self._build_side_panel()
        plot_area = self._build_plot_area()
        self._build_pages(top, plot_area, side)
        self._build_status_bar()
        self._build_menus()
        self._build_shortcuts()
        self._style()

    def _build_top_bar(self) -> QtWidgets.QWidget:
        """Source, recording, markers and view controls."""
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
        self.client_label.setVisible(False)
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
        return top

    def _build_side_panel(self) -> QtWidgets.QWidget:
        """Cue, calibration, pressure zero, bands, exercise, practice."""
        side = QtWidgets.QWidget()
        side.setFixedWidth(290)
        self.side_layout = sl = QtWidgets.QVBoxLayout(side)
        sl.setContentsMargins(8, 8, 8, 8)
        self.cue_big = cue_label(self.cue_text, 18, bold=True)
        self.cue_big.setMinimumHeight(64)
        sl.addWidget(self.cue_big)
        self.calibrate_button = QtWidgets.QPushButton("Calibrate…")
        self.calibrate_button.setToolTip("Rest baseline and three maximal squeezes set the bands")
        self.calibrate_button.clicked.connect(self.open_calibration)
        sl.addWidget(self.calibrate_button)
        self.zero_button = QtWidgets.QPushButton("Zero pressure (probe in air)")
        self.zero_button.setToolTip("With the probe in air, before insertion: the pressure shown reads 0 from now on."
                                    " The recording keeps the raw pressure and notes the zero.")
        self.zero_button.clicked.connect(self.zero_pressure)
        self.zero_button.setVisible(False)
        sl.addWidget(self.zero_button)
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
        hint = QtWidgets.QLabel("or click the trace, then hold the space bar; ↑/↓ or the mouse wheel set how hard")
        hint.setWordWrap(True)
        pl.addWidget(self.practice_button)
        pl.addWidget(hint)
        sl.addWidget(self.practice_box)
        self.raw_check = QtWidgets.QCheckBox("Show filtered EMG row")
        self.raw_check.toggled.connect(self.plot.set_raw_visible)
        sl.addWidget(self.raw_check)
        sl.addStretch(1)
        return side

    def _build_plot_area(self) -> QtWidgets.QWidget:
        """Banner, cue panel, the live plot and the replay bar, stacked."""
        self.banner = QtWidgets.QLabel("")
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        self.banner.setContentsMargins(12, 6, 12, 6)

        self.replay_bar = ReplayBar()
        self.replay_bar.setVisible(False)
        self.replay_bar.review.clicked.connect(lambda: self.open_review(self.spec.partition(":")[2].split("?")[0]))

        plot_area = QtWidgets.QWidget()
        pv = QtWidgets.QVBoxLayout(plot_area)
        pv.setContentsMargins(0, 0, 0, 0)
        pv.setSpacing(0)
        pv.addWidget(self.banner)
        self._add_cue_panel(pv)
        pv.addWidget(self.plot, 1)
        pv.addWidget(self.replay_bar)
        return plot_area

    def _build_pages(self, top: QtWidgets.QWidget, plot_area: QtWidgets.QWidget, side: QtWidgets.QWidget) -> None:
        """The clinic page (top bar over plot and side panel) and the patient page, one shown at a time."""
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

    def _build_status_bar(self) -> None:
        """Source state, measured rate, samples lost, display latency."""
        sb = self.statusBar()
        self.status_state = QtWidgets.QLabel("idle")
        self.status_rate = QtWidgets.QLabel("")
        self.status_dropped = QtWidgets.QLabel("")
        self.status_latency = QtWidgets.QLabel("")
        for w in (self.status_state, self.status_rate, self.status_dropped, self.status_latency):
            w.setContentsMargins(8, 0, 8, 0)
            sb.addPermanentWidget(w)

    def _build_shortcuts(self) -> None:
        """M adds a marker; F11 switches to the patient view and back."""
        QtGui.QShortcut(QtGui.QKeySequence("M"), self, activated=self.add_marker)
        QtGui.QShortcut(QtGui.QKeySequence("F11"), self, activated=lambda: self.set_patient_view(
            self.stack.currentWidget() is not self.patient))

    def _add_cue_panel(self, layout: QtWidgets.QVBoxLayout) -> None:
        """The cue panel (with its breathing pacer), above the plot while an exercise runs."""
        self.cue_panel = CuePanel()
        self.cue_panel.setMaximumHeight(230)
        self.cue_panel.setVisible(False)
        layout.addWidget(self.cue_panel)

    def _add_protocol_picker(self, layout: QtWidgets.QVBoxLayout) -> None:
        """The exercise picker: the built-in protocols and the user's own."""
        self.protocols = list(list_protocols())
        self.protocol_box = None
        if not self.protocols:
            return
        box = QtWidgets.QGroupBox("Exercise")
        gl = QtWidgets.QVBoxLayout(box)
        self.protocol_combo = QtWidgets.QComboBox()
        for p in self.protocols:
            self.protocol_combo.addItem(p.title or p.name, p.name)
        self.protocol_button = QtWidgets.QPushButton("Start exercise")
        self.protocol_button.clicked.connect(self._toggle_protocol)
        self.sim_follows = QtWidgets.QCheckBox("Demo: patient follows cues")
        self.sim_follows.setToolTip("A demonstration: the simulated patient does the exercise by itself")
        self.sim_follows.setChecked(False)
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
        vm.addAction("Home practice mode…", lambda: switch_to_home(self))
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
        self.pressure_unit_actions = {}
        units = QtGui.QActionGroup(self)
        for unit, title in (("cmH2O", "Pressure in cmH₂O"), ("mmHg", "Pressure in mmHg")):
            act = vm.addAction(title, lambda u=unit: self.set_pressure_unit(u))
            act.setCheckable(True)
            act.setChecked(unit == self.pressure_unit)
            units.addAction(act)
            self.pressure_unit_actions[unit] = act
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
