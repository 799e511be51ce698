"""Where the clinic window's parts sit: top bar, plot area, side panel, pages, menus, shortcuts, style.

Functions, not a mixin: each takes the :class:`~biofeedback.ui.main_window.MainWindow` whose parts it
places. The parts own their widgets and behaviour; this module only lays them out, and builds the few
plain controls that belong to the window itself (source, view and exercise buttons).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6 import QtGui, QtWidgets

from biofeedback.ui.home_switch import switch_to_home

if TYPE_CHECKING:
    from biofeedback.ui.main_window import MainWindow

WINDOWS_S = (5, 10, 30)


def build(win: MainWindow) -> None:
    """The window's layout, in stages: top bar, side panel, plot area, pages, menus, shortcuts, style."""
    top = build_top_bar(win)
    side = build_side_panel(win)
    plot_area = build_plot_area(win)
    build_pages(win, top, plot_area, side)
    build_menus(win)
    build_shortcuts(win)
    style(win)


def build_top_bar(win: MainWindow) -> QtWidgets.QWidget:
    """Source, recording, markers and view controls."""
    top = QtWidgets.QWidget()
    top.setObjectName("topbar")
    bar = QtWidgets.QHBoxLayout(top)
    bar.setContentsMargins(8, 6, 8, 6)
    bar.setSpacing(5)                  # with the program's 10.5 pt font the bar still fits a 1024-pixel screen
    win.source_label = QtWidgets.QLabel("No source")
    f = win.source_label.font()
    f.setBold(True)
    win.source_label.setFont(f)
    win.change_source = QtWidgets.QPushButton("Source…")
    win.change_source.clicked.connect(win.pick_source)
    win.connect_button = QtWidgets.QPushButton("Disconnect")
    win.connect_button.clicked.connect(win.toggle_connection)
    win.window_box = QtWidgets.QComboBox()
    for w in WINDOWS_S:
        win.window_box.addItem(f"{w} s", w)
    win.window_box.setCurrentIndex(WINDOWS_S.index(10))
    win.window_box.currentIndexChanged.connect(lambda _i: win.set_window(win.window_box.currentData()))
    win.pause_button = QtWidgets.QPushButton("Pause view")
    win.pause_button.setCheckable(True)
    win.pause_button.setToolTip("Freeze the plot; recording and exercises go on")
    win.pause_button.toggled.connect(win.set_view_paused)
    win.patient_button = QtWidgets.QPushButton("Patient view")
    win.patient_button.clicked.connect(lambda: win.set_patient_view(True))
    win.client_label = QtWidgets.QLabel("")
    win.client_label.setFont(f)
    win.client_label.setVisible(False)
    rec = win.recording
    for w in (win.client_label, win.source_label, win.change_source, win.connect_button):
        bar.addWidget(w)
    bar.addSpacing(10)
    for w in (rec.record_button, rec.record_name, rec.record_time):
        bar.addWidget(w)
    bar.addSpacing(8)
    bar.addWidget(rec.marker_button)
    bar.addWidget(rec.marker_label)
    bar.addStretch(1)
    bar.addWidget(win.window_box)
    bar.addWidget(win.pause_button)
    bar.addWidget(win.patient_button)
    return top


def build_side_panel(win: MainWindow) -> QtWidgets.QWidget:
    """Cue, calibration, pressure zero, bands, exercise, practice."""
    side = QtWidgets.QWidget()
    side.setFixedWidth(290)
    win.side_layout = sl = QtWidgets.QVBoxLayout(side)
    sl.setContentsMargins(8, 8, 8, 8)
    sl.addWidget(win.cues.big)
    ctl = win.controls
    sl.addWidget(ctl.calibrate_button)
    sl.addWidget(ctl.zero_button)
    sl.addWidget(win.bands_part.panel)
    if ctl.protocol_box is not None:
        sl.addWidget(ctl.protocol_box)
    sl.addWidget(ctl.practice_box)
    win.raw_check = QtWidgets.QCheckBox("Show filtered EMG row")
    win.raw_check.toggled.connect(win.plot.set_raw_visible)
    sl.addWidget(win.raw_check)
    sl.addStretch(1)
    return side


def build_plot_area(win: MainWindow) -> QtWidgets.QWidget:
    """Banner, shaping bar, cue panel (with its breathing pacer, while an exercise runs), live plot, replay bar."""
    plot_area = QtWidgets.QWidget()
    pv = QtWidgets.QVBoxLayout(plot_area)
    pv.setContentsMargins(0, 0, 0, 0)
    pv.setSpacing(0)
    pv.addWidget(win.status.banner)
    pv.addWidget(win.shaping_bar)
    pv.addWidget(win.cues.panel)
    pv.addWidget(win.plot, 1)
    pv.addWidget(win.replay.bar)
    return plot_area


def build_pages(win: MainWindow, top: QtWidgets.QWidget, plot_area: QtWidgets.QWidget,
                side: QtWidgets.QWidget) -> None:
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
    win.patient.backRequested.connect(lambda: win.set_patient_view(False))
    win.stack = QtWidgets.QStackedWidget()
    win.stack.addWidget(clinic)
    win.stack.addWidget(win.patient)
    win.setCentralWidget(win.stack)



def build_shortcuts(win: MainWindow) -> None:
    """M adds a marker; F11 switches to the patient view and back."""
    QtGui.QShortcut(QtGui.QKeySequence("M"), win, activated=win.add_marker)
    QtGui.QShortcut(QtGui.QKeySequence("F11"), win, activated=lambda: win.set_patient_view(
        win.stack.currentWidget() is not win.patient))


def build_menus(win: MainWindow) -> None:
    mb = win.menuBar()
    fm = mb.addMenu("&File")
    fm.addAction("Choose source…", win.pick_source)
    fm.addAction("Replay a recording…", win.open_recording_dialog, QtGui.QKeySequence.StandardKey.Open)
    fm.addAction("Review a recording…", win.review_dialog)
    fm.addSeparator()
    fm.addAction("Quit", win.close, QtGui.QKeySequence.StandardKey.Quit)
    vm = mb.addMenu("&View")
    vm.addAction("Patient view\tF11", lambda: win.set_patient_view(True))
    vm.addAction("Home practice mode…", lambda: switch_to_home(win))
    vm.addSeparator()
    modes = QtGui.QActionGroup(win)
    for mode, title in (("sweep", "Sweep trace (lightest on the computer)"), ("scroll", "Scrolling trace")):
        act = vm.addAction(title, lambda m=mode: win.plot.set_mode(m))
        act.setCheckable(True)
        act.setChecked(mode == win.plot.mode)
        modes.addAction(act)
    raw = vm.addAction("Filtered EMG row")
    raw.setCheckable(True)
    raw.toggled.connect(win.raw_check.setChecked)
    win.raw_check.toggled.connect(raw.setChecked)
    vm.addSeparator()
    win.pressure_unit_actions = {}
    units = QtGui.QActionGroup(win)
    for unit, title in (("cmH2O", "Pressure in cmH₂O"), ("mmHg", "Pressure in mmHg")):
        act = vm.addAction(title, lambda u=unit: win.set_pressure_unit(u))
        act.setCheckable(True)
        act.setChecked(unit == win.pressure_unit)
        units.addAction(act)
        win.pressure_unit_actions[unit] = act
    vm.addSeparator()
    group = QtGui.QActionGroup(win)
    for name in ("light", "dark"):
        act = vm.addAction(f"{name.capitalize()} theme", lambda n=name: win.set_theme(n))
        act.setCheckable(True)
        act.setChecked(name == win.theme.name)
        group.addAction(act)
    win.clients.add_menu(mb)


def style(win: MainWindow) -> None:
    t = win.theme
    win.setStyleSheet(
        f"#topbar {{ background:{t.panel}; border-bottom:1px solid {t.muted}; }}"
        f"QPushButton:checked {{ background:{t.marker}; color:white; font-weight:bold; }}")
    win.status.set_style(t)
    win.shaping_bar.set_style(t)
    win.cues.set_style(t)
