"""Home mode: one calm screen for practising alone at home.

Today's practice (from the programme her therapist gave her, when one is open here) and one large Start;
then the patient view (cue, countdown, breathing pacer and only the target she works on: no numbers, no
units, no device controls); the session is recorded into her library by itself, as home practice; then a
short, skippable diary; and "your progress" in her words. Two quiet buttons open her therapist's programme
file and save her practice to a file for her therapist (:mod:`biofeedback.ui.practice_actions`).

Like the clinic window, this is a view of one
:class:`~biofeedback.session.controller.SessionController`: the controller owns source, engine,
recording, exercise, bands, summary and filing; home mode only turns her clicks into controller calls
and draws what it tells. Without a sensor the simulated signal follows HER effort (arrows, mouse wheel,
space bar: :class:`~biofeedback.sources.sim.GradedEffort`); the cue-following demo is never on here.
"""
from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from biofeedback.clinic.her_progress import her_progress
from biofeedback.clinic.library import Client, Library, resolve_library_path
from biofeedback.clinic.shaping import SOFTER_WORDS
from biofeedback.errors import UserError
from biofeedback.protocols import Protocol, StepState, load_protocol
from biofeedback.session.controller import SessionController, primary_channel
from biofeedback.signal.calibration import Bands
from biofeedback.signal.sound import scale_from_bands
from biofeedback.ui.home_diary import HomeDiary
from biofeedback.ui.home_progress import ProgressPanel
from biofeedback.ui.patient_view import PatientView
from biofeedback.ui.practice_actions import HomeLoopButtons
from biofeedback.ui.practice_keys import PracticeKeys, name_controls
from biofeedback.ui.settings import SOUND_MODES, Settings
from biofeedback.ui.sound_output import SoundOutput
from biofeedback.ui.theme import OKABE_ITO, Theme, apply_theme, blend, get_theme

DEFAULT_SOURCE = "sim:healthy"
DEFAULT_PRACTICE = "relaxation"          # relaxation daily, until her programme says otherwise
FRAME_MS = 20
#: today's practice in her words (the protocol's own description is written for the therapist)
HOME_WORDS = {"relaxation": "Slow breathing, letting go a little more on each in-breath, and a few gentle "
                            "squeezes to about a third, each followed by a long, full release."}
EYES_CLOSED_WORDS = ("Close your eyes and listen.\n\nThe tone stays soft while you are relaxed and rises if "
                     "you tighten. A chime marks each new step; the rising and falling tone paces your breath.")
SOUND_WORDS = {"off": "Off", "relax": "Quiet while relaxed", "pitch": "Tone follows me", "pacer": "Breathing only"}


def home_client(library: Library, name: str | None) -> Client:
    """Her record in the library: the one named, else the only one, else a new "Me" in a new library."""
    if name:
        return library.client(name)
    clients = library.clients()
    if len(clients) == 1:
        return clients[0]
    if not clients:
        return library.add_client("Me", notes="added by home mode")
    raise UserError("this library holds several people; choose yours with --client NAME")


def todays_practice(library: Library, client: Client, day: dt.date | None = None) -> tuple[Protocol, str]:
    """Today's practice and a few words about her week.

    With a programme from her therapist open here: the protocol of this programme week with the most sessions
    still to do (ties in her therapist's order). Without one, or outside its weeks: relaxation, no words.
    A week already done is said kindly; a missed day is never mentioned.
    """
    from biofeedback.clinic.adherence import this_week
    week = this_week(library.programmes(client), library.sessions(client), library.session_places(client), day)
    if week is None or not week.protocols:
        return load_protocol(DEFAULT_PRACTICE), ""
    left = {name: p.prescribed - p.done for name, p in week.protocols.items()}
    name = max(left, key=lambda n: left[n])
    try:
        protocol = load_protocol(name)
    except UserError:
        return load_protocol(DEFAULT_PRACTICE), ""
    said = f"Week {week.week} of your programme: "
    if week.done >= week.prescribed:
        return protocol, said + "this week's practice is done. More is welcome."
    if week.done == 0:
        return protocol, said + f"{week.prescribed} sessions planned this week."
    return protocol, said + f"{week.done} of {week.prescribed} sessions so far."


def _minutes(seconds: float) -> str:
    m = seconds / 60.0
    return f"{m:.0f} minutes" if abs(m - round(m)) < 0.1 else f"{m:.1f} minutes".replace(".5", "½")


class HomeWindow(QtWidgets.QMainWindow):
    """Home practice: start page, practice page (the patient view), done page (diary)."""

    def __init__(self, source: str | None = DEFAULT_SOURCE, client: str | None = None,
                 library_path: str | Path | None = None, speed: float | None = 1.0,
                 recordings_dir: str | Path | None = None, theme: str | None = None,
                 settings: Settings | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.theme: Theme = get_theme(theme or self.settings.theme)
        self.library_path = resolve_library_path(library_path)
        with Library.open(self.library_path) as library:
            self.client = home_client(library, client)
            self.practice, self.week_words = todays_practice(library, self.client)
        self.controller = SessionController(speed, poll_s=0.05, library_path=self.library_path)
        self.controller.place = "home"             # what she practises here is home practice, for her therapist
        self.controller.set_client(self.client)
        self.recordings_dir = Path(recordings_dir) if recordings_dir else self._default_recordings_dir()
        self.sound = SoundOutput(self.settings.sound_mode if self.settings.sound_mode != "off" else "relax",
                                 volume=self.settings.sound_volume, on_status=self.say)
        self.last_session_id: int | None = None
        self._step_index: int | None = None
        self._started_at = 0.0
        self.setWindowTitle("Home practice")
        self._build()
        self.keys = PracticeKeys(self, (self.patient, self.practice_page), on_hold=self.hold, on_nudge=self.nudge)
        name_controls(self)
        self._follow_controller()
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._frame)
        self.apply_theme(self.theme.name)
        self.resize(1180, 780)
        self.settings.restore_layout("home", self)
        self.refresh_progress()
        if source:
            self.connect_source(source)

    @staticmethod
    def _default_recordings_dir() -> Path:
        docs = QtCore.QStandardPaths.writableLocation(QtCore.QStandardPaths.StandardLocation.DocumentsLocation)
        return Path(docs or Path.home()) / "Biofeedback recordings"

    # ================================================================== building
    def _build(self) -> None:
        self.pages = QtWidgets.QStackedWidget()
        self.start_page = self._build_start_page()
        self.practice_page = self._build_practice_page()
        self.done_page = self._build_done_page()
        for page in (self.start_page, self.practice_page, self.done_page):
            self.pages.addWidget(page)
        self.status = QtWidgets.QLabel("")
        self.status.setAccessibleName("Status")
        self.status.setWordWrap(True)
        central = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 6)
        lay.addWidget(self.pages, 1)
        lay.addWidget(self.status)
        self.setCentralWidget(central)
        QtGui.QShortcut(QtGui.QKeySequence("F11"), self, activated=self.toggle_full_screen)

    def _build_start_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        self.hello = QtWidgets.QLabel(f"Hello, {self.client.name}")
        f = self.hello.font()
        f.setPointSize(22)
        f.setBold(True)
        self.hello.setFont(f)
        self.today = QtWidgets.QLabel("")
        tf = self.today.font()
        tf.setPointSize(15)
        self.today.setFont(tf)
        self.today.setWordWrap(True)
        self.today.setAccessibleName("Today's practice")
        self.about = QtWidgets.QLabel(HOME_WORDS.get(self.practice.name, self.practice.description))
        self.about.setWordWrap(True)
        self.start_button = QtWidgets.QPushButton("Start today's practice")
        self.start_button.setAccessibleName("Start today's practice")
        self.start_button.setMinimumHeight(84)
        self.start_button.setMinimumWidth(420)
        bf = self.start_button.font()
        bf.setPointSize(20)
        bf.setBold(True)
        self.start_button.setFont(bf)
        self.start_button.setObjectName("StartButton")
        self.start_button.clicked.connect(self.start_practice)
        self.start_button.setDefault(True)
        self.progress_panel = ProgressPanel(self.theme)

        top = QtWidgets.QHBoxLayout()
        words = QtWidgets.QVBoxLayout()
        words.addWidget(self.hello)
        words.addWidget(self.today)
        words.addWidget(self.about)
        side = QtWidgets.QVBoxLayout()
        side.addWidget(self._build_choices())
        side.addWidget(self._build_therapist_box())
        top.addLayout(words, 3)
        top.addLayout(side, 2)
        centre = QtWidgets.QHBoxLayout()
        centre.addStretch(1)
        centre.addWidget(self.start_button)
        centre.addStretch(1)
        lay = QtWidgets.QVBoxLayout(page)
        lay.setContentsMargins(36, 26, 36, 16)
        lay.addLayout(top)
        lay.addSpacing(18)
        lay.addLayout(centre)
        lay.addSpacing(18)
        lay.addWidget(self.progress_panel, 1)
        self._show_today()
        return page

    def _build_choices(self) -> QtWidgets.QWidget:
        box = QtWidgets.QGroupBox("My settings")
        box.setObjectName("Choices")
        form = QtWidgets.QFormLayout(box)
        self.sound_box = QtWidgets.QComboBox()
        for mode in SOUND_MODES:
            self.sound_box.addItem(SOUND_WORDS[mode], mode)
        self.sound_box.setCurrentIndex(SOUND_MODES.index(self.settings.sound_mode))
        self.sound_box.setAccessibleName("Sound")
        self.sound_box.currentIndexChanged.connect(lambda _i: self.set_sound_mode(self.sound_box.currentData()))
        self.volume = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(int(round(100 * self.settings.sound_volume)))
        self.volume.setAccessibleName("Volume")
        self.volume.valueChanged.connect(lambda v: self.set_volume(v / 100.0))
        self.eyes_closed = QtWidgets.QCheckBox("Eyes closed (guided by sound)")
        self.eyes_closed.setChecked(self.settings.eyes_closed)
        self.eyes_closed.toggled.connect(self.set_eyes_closed)
        self.dark = QtWidgets.QCheckBox("Dark screen")
        self.dark.setChecked(self.theme.name == "dark")
        self.dark.toggled.connect(lambda on: self.apply_theme("dark" if on else "light"))
        form.addRow("Sound", self.sound_box)
        form.addRow("Volume", self.volume)
        form.addRow(self.eyes_closed)
        form.addRow(self.dark)
        return box

    def _build_therapist_box(self) -> QtWidgets.QWidget:
        """Her programme in, her practice out: two quiet buttons (files only, no account, no network)."""
        box = QtWidgets.QGroupBox("My therapist")
        box.setObjectName("Therapist")
        self.loop = HomeLoopButtons(self.library_path, self.client.name, vertical=True)
        self.loop.show_message = self.tell
        self.message_box: QtWidgets.QMessageBox | None = None
        self.loop.programmeInstalled.connect(self._programme_installed)
        lay = QtWidgets.QVBoxLayout(box)
        lay.addWidget(self.loop)
        return box

    def _build_practice_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        page.setAccessibleName("Home practice")
        self.patient = PatientView(self.theme, back_hint="Esc: stop for today")
        self.patient.backRequested.connect(self.finish_early)
        self.stop_button = QtWidgets.QPushButton("Stop for today")
        self.stop_button.clicked.connect(self.finish_early)
        self.stop_button.setFocusPolicy(QtCore.Qt.FocusPolicy.TabFocus)
        row = QtWidgets.QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.stop_button)
        lay = QtWidgets.QVBoxLayout(page)
        lay.addWidget(self.patient, 1)
        lay.addLayout(row)
        return page

    def _build_done_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        self.well_done = QtWidgets.QLabel("Well done.")
        f = self.well_done.font()
        f.setPointSize(24)
        f.setBold(True)
        self.well_done.setFont(f)
        self.well_done.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.done_words = QtWidgets.QLabel("")
        self.done_words.setWordWrap(True)
        self.done_words.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.softer_words = QtWidgets.QLabel("")          # her programme's rule lowered her target (shaping)
        self.softer_words.setObjectName("SofterWords")
        self.softer_words.setWordWrap(True)
        self.softer_words.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.softer_words.setAccessibleName("Your target")
        self.softer_words.setVisible(False)
        self.diary = HomeDiary()
        self.diary.finished.connect(self._diary_done)
        lay = QtWidgets.QVBoxLayout(page)
        lay.setContentsMargins(80, 40, 80, 30)
        lay.addWidget(self.well_done)
        lay.addWidget(self.done_words)
        lay.addSpacing(10)
        lay.addWidget(self.softer_words)
        lay.addSpacing(20)
        lay.addWidget(self.diary)
        lay.addStretch(1)
        return page

    def _show_today(self) -> None:
        title = self.practice.title.split(" (")[0]          # "Relaxation (downtraining)": her word first
        today = f"Today's practice: {title}, about {_minutes(self.practice.total_s)}"
        self.today.setText(today + (f"\n{self.week_words}" if self.week_words else ""))
        self.about.setText(HOME_WORDS.get(self.practice.name, self.practice.description))

    def refresh_today(self) -> None:
        """Today's practice again from her library (after a session, or a new programme)."""
        if self.controller.runner is not None or self.controller.is_recording:
            return                                           # never change the practice under her
        try:
            with Library.open(self.library_path) as library:
                self.practice, self.week_words = todays_practice(library, self.client)
        except UserError as exc:
            self.say(f"Today's practice could not be read just now: {exc}")
            return
        self._show_today()

    def _programme_installed(self, result) -> None:
        """Her programme is open here: she is its client from now on, and "today" follows it."""
        try:
            with Library.open(self.library_path) as library:
                self.client = library.client(result.client_name)
        except UserError as exc:
            self.say(str(exc))
            return
        self.controller.set_client(self.client)
        self.hello.setText(f"Hello, {self.client.name}")
        self.refresh_today()
        self.refresh_progress()

    # ================================================================== the controller
    def _follow_controller(self) -> None:
        c = self.controller
        c.problem.connect(self.say)
        c.filed.connect(self._filed)
        c.summary_ready.connect(self._summary)
        c.recording_stopped.connect(self._recording_stopped)

    def connect_source(self, spec: str) -> bool:
        try:
            self.controller.connect(spec)
        except UserError as exc:
            self.say(f"The sensor could not be opened: {exc}")
            self.start_button.setEnabled(False)
            return False
        self.spec = spec
        self.start_button.setEnabled(True)
        self.patient.set_squeeze_hint(self.effort is not None)
        self.timer.start()
        return True

    @property
    def effort(self):
        """Her graded effort when there is no sensor (the simulated signal), else None."""
        graded = getattr(self.controller.source, "graded_effort", None)
        return graded(self.settings.let_go) if graded is not None else None

    @property
    def bands(self) -> Bands:
        return self.controller.bands

    def say(self, text: str) -> None:
        """One calm line at the bottom (e.g. no sound output)."""
        self.status.setText(text)

    def tell(self, text: str) -> None:
        """A few sentences she should read (her programme, her practice file): a small window she closes with OK.

        Opened without blocking (``open``), so the screen behind stays alive.
        """
        if self.message_box is not None:
            self.message_box.close()
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.NoIcon, "Your practice", text,
                                    QtWidgets.QMessageBox.StandardButton.Ok, self)
        box.setAccessibleName("Message")
        self.message_box = box
        box.open()

    # ================================================================== her actions
    def start_practice(self) -> bool:
        """Start today's practice: the exercise runs and is recorded into her library."""
        c = self.controller
        if c.engine is None or c.runner is not None:
            return False
        effort = self.effort                     # her own effort drives the simulated signal; never the demo
        if effort is not None:
            effort.set_level(0.0)
        c.start_protocol(self.practice, follow=False)
        self.recordings_dir.mkdir(parents=True, exist_ok=True)
        path = self._new_recording_path()
        try:
            c.start_recording(path, duration_s=self.practice.total_s)
        except (UserError, OSError) as exc:
            c.stop_protocol()
            self.say(f"Your practice could not be saved to {path}: {exc}")
            return False
        self._started_at = float(c.engine.time_s)
        self._step_index = None
        if self.settings.sound_mode != "off" or self.settings.eyes_closed:
            self.sound.set_scale(scale_from_bands(self.bands.contraction_high, self.bands.release_high,
                                                  self.bands.zero, self.bands.mvc))
            self.sound.start()
        self._apply_eyes_closed()
        self.pages.setCurrentWidget(self.practice_page)
        self.patient.setFocus()
        return True

    def _new_recording_path(self) -> Path:
        stem = self.recordings_dir / f"home-{dt.datetime.now():%Y%m%d-%H%M%S}"
        path, n = stem.with_suffix(".bfr"), 2
        while path.exists():
            path, n = Path(f"{stem}-{n}.bfr"), n + 1
        return path

    def finish_early(self) -> None:
        """Stop for today: what she did is kept and filed like a whole session."""
        c = self.controller
        if c.runner is None and not c.is_recording:
            self.pages.setCurrentWidget(self.start_page)
            return
        c.stop_protocol()
        c.stop_recording()

    def hold(self, held: bool) -> bool:
        effort = self.effort
        if effort is None or self.pages.currentWidget() is not self.practice_page:
            return False
        effort.press() if held else effort.release()
        return True

    def nudge(self, steps: int) -> bool:
        effort = self.effort
        if effort is None or self.pages.currentWidget() is not self.practice_page:
            return False
        effort.nudge(steps)
        return True

    def set_sound_mode(self, mode: str) -> None:
        self.settings.sound_mode = mode
        if mode == "off":
            self.sound.set_muted(not self.settings.eyes_closed)
            return
        self.sound.set_muted(False)
        self.sound.set_mode(mode)

    def set_volume(self, volume: float) -> None:
        self.settings.sound_volume = volume
        self.sound.set_volume(volume)

    def set_eyes_closed(self, on: bool) -> None:
        self.settings.eyes_closed = bool(on)
        self._apply_eyes_closed()

    def _apply_eyes_closed(self) -> None:
        on = self.settings.eyes_closed
        practising = self.pages.currentWidget() is self.practice_page or self.controller.runner is not None
        self.sound.set_pacer(on)
        if on:
            if self.settings.sound_mode == "off":
                self.sound.set_mode("relax")
            self.sound.set_muted(False)
            if practising:
                self.sound.start()
        if on and self.sound.unavailable and practising:     # no sound: the picture stays, said kindly
            self.patient.set_eyes_closed(False)
            self.say("No sound output was found, so the picture stays on for eyes-closed practice.")
            return
        self.patient.set_eyes_closed(on, EYES_CLOSED_WORDS)

    def apply_theme(self, name: str) -> None:
        """Light or dark for every panel of home mode (remembered)."""
        self.theme = get_theme(name)
        self.settings.theme = name
        app = QtWidgets.QApplication.instance()
        if app is not None:
            apply_theme(app, self.theme)
        t = self.theme
        self.setStyleSheet(
            f"QMainWindow, QStackedWidget > QWidget {{ background:{t.background}; color:{t.foreground}; }}"
            f"QLabel {{ color:{t.foreground}; }}"
            f"QGroupBox#Choices, QGroupBox#Therapist {{ background:{t.panel}; border-radius:10px; padding-top:18px; }}"
            f"QFrame#HomeDiary {{ background:{t.panel}; border-radius:12px; padding:10px; }}"
            f"QLabel#SofterWords {{ background:{blend(t.release, t.background, 0.2)}; border-radius:12px; "
            f"padding:12px; font-size:15pt; }}"
            f"QPushButton#StartButton {{ background:{OKABE_ITO['bluish_green']}; color:white; border-radius:16px; }}"
            f"QPushButton#StartButton:focus {{ border:3px solid {t.foreground}; }}"
            f"QPushButton#StartButton:disabled {{ background:{blend(t.muted, t.background, 0.4)}; }}")
        self.status.setStyleSheet(f"color:{t.muted}; padding-left:12px;")
        self.patient.set_theme(t)
        self.progress_panel.set_theme(t)
        if self.dark.isChecked() != (name == "dark"):
            self.dark.setChecked(name == "dark")

    def toggle_full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    # ================================================================== what the controller tells
    def _summary(self, summary: dict) -> None:
        self.done_words.setText(self._kind_summary(summary))

    @staticmethod
    def _kind_summary(summary: dict) -> str:
        """What she did, kindly: never "0 of 1 squeezes" (a count of what did not happen reads as failing)."""
        trials = summary.get("trials") or 0
        released = summary.get("trials_released") or 0
        if not trials:
            return "You made time for yourself today. That is what helps."
        if released >= trials:
            done = "You let go fully after your squeeze." if trials == 1 else "You let go fully after every squeeze."
        elif released:
            done = f"You let go fully after {released} of {trials} squeezes."
        else:
            done = "Letting go fully takes time, and each squeeze you tried is part of learning it."
        return f"{done} Each calm breath is practice well spent."

    def _recording_stopped(self, path) -> None:
        if path is None:                         # nothing came in (the sensor was quiet): nothing to file
            self.sound.stop()
            self.say("Nothing was recorded this time. When you are ready, start again.")
            self.pages.setCurrentWidget(self.start_page)

    def _filed(self, filed) -> None:
        self.last_session_id = filed.session.id
        self.client = filed.client
        minutes = (float(filed.session.duration_s or 0.0)) / 60.0
        if not self.done_words.text():
            self.done_words.setText("You made time for yourself today. That is what helps.")
        self._tell_softer_target(filed.shaping)
        self.sound.stop()
        self.diary.ask(str(self.library_path), filed.client, filed.session.id, round(minutes, 1))
        self.pages.setCurrentWidget(self.done_page)
        self.diary.save_button.setFocus()
        self.refresh_progress()

    def _tell_softer_target(self, outcome) -> None:
        """Her programme's rule lowered her target after this session: said kindly, no numbers.

        The controller has already stored the step and moved this window's target for her next practice.
        """
        lowered = outcome is not None and not outcome.waiting
        self.softer_words.setText(SOFTER_WORDS if lowered else "")
        self.softer_words.setVisible(lowered)

    def _diary_done(self, _entry) -> None:
        self.done_words.setText("")
        self.softer_words.setVisible(False)
        self.refresh_today()
        self.refresh_progress()
        self.pages.setCurrentWidget(self.start_page)
        self.start_button.setFocus()

    def refresh_progress(self) -> None:
        try:
            with Library.open(self.library_path) as library:
                self.progress_panel.set_progress(her_progress(library, self.client))
        except UserError as exc:
            self.say(f"Your progress could not be read just now: {exc}")

    # ================================================================== the frame
    def _frame(self) -> None:
        c = self.controller
        c.poll()
        if c.engine is None:
            return
        t_now = float(c.engine.time_s)
        state = c.protocol_state(t_now)
        value = self._level()
        band, bands = self._target(state)
        self.patient.set_level(value, bands, band)
        self.patient.show_state(state)
        self.sound.set_level(value)
        if state is not None:
            self._show_step(state)
        elif c.runner is None and self.pages.currentWidget() is self.practice_page and not c.is_recording:
            self.pages.setCurrentWidget(self.start_page)

    def _level(self) -> float:
        snap = self.controller.engine.snapshot(0.25)
        env = np.asarray(snap.envelope)
        if env.shape[0] == 0:
            return float("nan")
        col = env[:, primary_channel(self.controller.engine.info)]
        finite = np.flatnonzero(np.isfinite(col))
        return float(col[finite[-1]]) if finite.size else float("nan")

    def _target(self, state: StepState | None) -> tuple[str, Bands]:
        """Only the target she works on now: a gentle squeeze's own band when the step has one."""
        bands = self.bands
        if state is None:
            return "release", bands
        band = state.step.band or "release"
        pct = getattr(state.step, "band_pct", None)
        if band == "contraction" and pct and bands.mvc:
            bands = bands.with_contraction_pct(*pct)
        return band, bands

    def _show_step(self, state: StepState) -> None:
        detail = f"{math.ceil(state.remaining_s):.0f} s"
        self.patient.set_cue(state.step.cue, detail)
        if state.index != self._step_index:
            self._step_index = state.index
            self.sound.chime()
            self.sound.set_breathing(state.step.breathing_bpm, state.breathing_phase)

    # ================================================================== closing
    def closeEvent(self, ev: QtGui.QCloseEvent) -> None:
        self.timer.stop()
        self.settings.save_layout("home", self)
        self.sound.stop()
        self.controller.close()                 # a session in progress is kept and filed
        super().closeEvent(ev)


def run_home(source: str | None = None, client: str | None = None, library: str | None = None,
             screenshot: str | None = None, quit_after: float | None = None, speed: float | None = 1.0,
             theme: str | None = None) -> int:
    """Open home mode; with ``screenshot`` save a PNG after ``quit_after`` seconds and exit."""
    from biofeedback.files.outputs import new_output
    from biofeedback.ui.app import ensure_app, save_screenshot
    if screenshot and not quit_after:
        quit_after = 3.0
    if screenshot:
        screenshot = str(new_output(screenshot, suffixes=[".png"], what="screenshot"))
    app = ensure_app()
    win = HomeWindow(source=source or DEFAULT_SOURCE, client=client, library_path=library, speed=speed, theme=theme)
    if win.controller.engine is None and (screenshot or quit_after):
        msg = win.status.text()
        win.close()
        raise UserError(msg or "cannot open the source")
    win.show()
    status = {"code": 0}

    def finish() -> None:
        if screenshot:
            status["code"] = save_screenshot(win, screenshot)
        win.close()
        app.quit()

    if quit_after:
        QtCore.QTimer.singleShot(int(quit_after * 1000), finish)
    app.exec()
    return status["code"]
