"""Home mode end to end: a relaxation session on the simulated signal, driven by HER graded keyboard effort.

A real offscreen window, a real SQLite library and a real recording: the test plays the patient, pressing
the arrow keys when the cue says "gently squeeze" and letting go after, and then reads back what was kept.
"""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore

from biofeedback.clinic.library import Library
from biofeedback.files.recording import Recording
from biofeedback.signal.calibration import Bands
from biofeedback.signal.chain import envelope_offline
from biofeedback.sources.sim import GradedEffort
from biofeedback.ui.practice_keys import unnamed_controls
from biofeedback.ui.settings import Settings

MVC = 60.0      # the healthy simulated patient's maximum, as her therapist's calibration found it
SPEED = 15.0


@pytest.fixture(autouse=True)
def _light_afterwards(qapp):
    """A test that turns the theme dark changes the whole application's palette: leave it light for the next."""
    yield
    from biofeedback.ui.theme import LIGHT, apply_theme
    apply_theme(qapp, LIGHT)


@pytest.fixture
def library(tmp_path):
    path = tmp_path / "her.sqlite"
    with Library.open(path) as lib:
        lib.add_client("Ana", bands=Bands(24.0, 42.0, 6.0, mvc=MVC).to_dict())
    return path


@pytest.fixture
def make_home(qtbot, tmp_path, library):
    from biofeedback.ui.home import HomeWindow
    made = []

    def make(**kw):
        kw.setdefault("source", "sim:healthy?rate=500&seed=5")
        win = HomeWindow(client="Ana", library_path=library, recordings_dir=tmp_path / "rec", **kw)
        qtbot.addWidget(win)
        win.show()
        made.append(win)
        return win

    yield make
    for win in made:
        win.close()


def play_the_patient(win, qtbot):
    """Each frame: during a gentle squeeze, press Up to about a third (6 x 5 %); otherwise let go (Down)."""
    def act():
        state = win.controller.protocol_state()
        effort = win.effort
        if state is None or effort is None:
            return
        if state.step.kind == "contract" and effort.level < 0.3 - 1e-9:
            qtbot.keyClick(win.patient, QtCore.Qt.Key.Key_Up)
        elif state.step.kind != "contract" and effort.level > 1e-9:
            qtbot.keyClick(win.patient, QtCore.Qt.Key.Key_Down)

    timer = QtCore.QTimer(win)
    timer.setInterval(10)
    timer.timeout.connect(act)
    timer.start()
    return timer


@pytest.mark.timeout(300)
def test_home_relaxation_session_with_graded_keyboard_effort(make_home, qtbot, library):
    win = make_home(speed=SPEED)
    assert win.pages.currentWidget() is win.start_page
    assert "Relaxation" in win.today.text()
    win.start_button.setFocus()
    qtbot.keyClick(win.start_button, QtCore.Qt.Key.Key_Space)              # Space presses the focused Start
    assert win.controller.runner is not None and win.controller.is_recording
    assert win.pages.currentWidget() is win.practice_page
    assert isinstance(win.controller.patient.script, GradedEffort)          # her effort, never the demo
    patient = play_the_patient(win, qtbot)
    qtbot.waitUntil(lambda: win.pages.currentWidget() is win.done_page, timeout=200_000)
    patient.stop()
    path = win.controller.recording_path

    # the gentle squeezes: her effort sat inside the 20-40 % band of her maximum
    with Recording.open(path) as rec:
        _, env = envelope_offline(rec.read(), rec.info)
        steps = [(e.time_s, e.data["duration_s"]) for e in rec.events
                 if e.kind == "step" and e.data.get("kind") == "contract"]
        rate = rec.rate
    assert len(steps) == 6
    for start, duration in steps:
        a, b = int((start + 1.5) * rate), int((start + duration) * rate)
        pct = 100.0 * np.median(env[a:b, 0]) / MVC
        assert 20.0 <= pct <= 40.0, (start, pct)

    # in her library, then the diary (Return on the focused Save button)
    with Library.open(library) as lib:
        ana = lib.client("Ana")
        sessions = lib.sessions(ana)
    assert len(sessions) == 1 and sessions[0].protocol == "relaxation"
    win.diary.pain.setValue(3)
    win.diary.save_button.setFocus()
    qtbot.keyClick(win.diary.save_button, QtCore.Qt.Key.Key_Return)
    with Library.open(library) as lib:
        diary = lib.diary(lib.client("Ana"))
    assert len(diary) == 1 and diary[0].pain_intercourse == 3 and diary[0].session_id == sessions[0].id
    assert diary[0].minutes_practised == pytest.approx(7.5, abs=0.2)
    assert win.pages.currentWidget() is win.start_page
    assert "1 day this week" in win.progress_panel.week.text()
    assert "first session" in win.progress_panel.milestones.text()


def test_stop_early_keeps_and_files_what_she_did_and_the_diary_can_be_skipped(make_home, qtbot, library):
    win = make_home(speed=4.0)
    win.start_button.setFocus()
    qtbot.keyClick(win.start_button, QtCore.Qt.Key.Key_Return)             # Return presses it too
    qtbot.waitUntil(lambda: win.controller.engine.recording_elapsed_s > 2.0, timeout=10_000)
    qtbot.keyClick(win.patient, QtCore.Qt.Key.Key_Escape)                  # "Esc: stop for today"
    qtbot.waitUntil(lambda: win.pages.currentWidget() is win.done_page, timeout=20_000)
    win.diary.skip_button.click()
    assert win.pages.currentWidget() is win.start_page
    with Library.open(library) as lib:
        ana = lib.client("Ana")
        assert len(lib.sessions(ana)) == 1 and lib.diary(ana) == []
        assert set(lib.session_places(ana).values()) == {"home"}        # filed as home practice


def test_space_ramps_her_effort_only_in_practice(make_home, qtbot):
    win = make_home(speed=2.0)
    effort = win.effort
    qtbot.keyPress(win.start_page, QtCore.Qt.Key.Key_Space)                # not on the start page
    assert not effort.held
    win.start_practice()
    qtbot.keyPress(win.patient, QtCore.Qt.Key.Key_Space)
    assert effort.held
    qtbot.waitUntil(lambda: effort.level > 0.2, timeout=5000)
    qtbot.keyRelease(win.patient, QtCore.Qt.Key.Key_Space)
    assert not effort.held and effort.level == 0.0
    assert "Space bar" in win.patient.hint.text()


def test_names_for_screen_readers_and_no_units_for_her(make_home):
    win = make_home()
    for page in (win.start_page, win.practice_page, win.done_page):
        win.pages.setCurrentWidget(page)
        assert unnamed_controls(win) == []
    assert win.patient.accessibleName() == "Patient view" and win.patient.bar.accessibleName()
    assert win.progress_panel.accessibleName() and win.progress_panel.calendar.accessibleName()
    texts = " ".join(w.text() for w in win.findChildren(type(win.today)))
    assert "µV" not in texts and "uV" not in texts and "cmH2O" not in texts


def test_eyes_closed_hides_the_picture_and_guides_by_sound(make_home, qtbot):
    win = make_home(speed=2.0)
    win.eyes_closed.setChecked(True)
    win.start_practice()
    qtbot.waitUntil(lambda: win.controller.protocol_state() is not None, timeout=5000)
    assert win.sound.synth.pacer_on
    if win.sound.unavailable:                                               # no sound: the picture stays on
        assert win.patient.bar.isVisible() and "picture stays" in win.status.text()
    else:
        assert win.sound.playing and not win.patient.bar.isVisible() and win.patient.note.isVisible()


def test_eyes_closed_with_sound_the_picture_gives_way_to_words(make_home, qtbot, tmp_path):
    from tests.ui.audio_helpers import output_device
    with output_device(tmp_path):
        win = make_home(speed=2.0)
        win.eyes_closed.setChecked(True)
        win.start_practice()
        qtbot.waitUntil(lambda: win.sound.blocks_played > 3, timeout=5000)
        assert win.sound.playing and win.sound.synth.pacer_on and win.sound.synth.mode == "relax"
        assert not win.patient.bar.isVisible() and win.patient.note.isVisible()
        win.close()


def test_choices_are_remembered_between_runs(make_home, tmp_path):
    win = make_home(source=None)
    win.dark.setChecked(True)
    win.sound_box.setCurrentIndex(win.sound_box.findData("pitch"))
    win.volume.setValue(30)
    win.close()
    s = Settings()
    assert (s.theme, s.sound_mode, s.sound_volume) == ("dark", "pitch", pytest.approx(0.3))
    again = make_home(source=None)
    assert again.theme.name == "dark" and again.dark.isChecked()
    assert again.sound_box.currentData() == "pitch" and again.volume.value() == 30


def test_the_clinic_window_switches_into_home_mode_and_back(make_window, qtbot, library):
    from biofeedback.ui.home_switch import switch_to_home
    win = make_window(source="sim:healthy", library_path=library)
    with Library.open(library) as lib:
        win.clients.set_client(lib.client("Ana"))
    home = switch_to_home(win)
    assert home is not None and home.isVisible() and not win.isVisible()
    assert home.client.name == "Ana" and win.engine is None and home.controller.engine is not None
    home.close()
    qtbot.waitUntil(lambda: win.isVisible() and win.engine is not None, timeout=5000)


def test_home_command_screenshot_and_one_line_errors(tmp_path, library):
    from tests.helpers import assert_one_line_error, run_cli
    r = run_cli("home", "--client", "ana", "--library", library, "--screenshot", "h.png", "--quit-after", "1.5",
                cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "h.png").stat().st_mode & 0o777 == 0o600        # owner-only, like every output
    assert "nobody" in assert_one_line_error(run_cli("home", "--client", "nobody", "--library", library,
                                                     "--screenshot", "x.png", cwd=tmp_path))
    with Library.open(library) as lib:
        lib.add_client("Bea")
    err = assert_one_line_error(run_cli("home", "--library", library, "--screenshot", "y.png", cwd=tmp_path))
    assert "--client" in err
    assert not (tmp_path / "y.png").exists()


def test_home_with_a_pressure_probe_follows_her_effort_above_resting_pressure(make_home, qtbot):
    """The same screen with a pressure channel (as a perineometer on an Arduino would give)."""
    win = make_home(source="sim:healthy?pressure=1&emg=0&rate=100", speed=2.0)
    assert win.bands.unit == "cmH2O"
    win.start_practice()
    effort = win.effort
    qtbot.waitUntil(lambda: win.patient.bar.value == win.patient.bar.value, timeout=5000)   # a finite level
    rest = win.patient.bar.value
    effort.set_level(0.5)
    qtbot.waitUntil(lambda: win.patient.bar.value > rest + 8.0, timeout=8000)               # squeeze above rest
    effort.set_level(0.0)
    win.finish_early()
    qtbot.waitUntil(lambda: win.pages.currentWidget() is win.done_page, timeout=20_000)


def test_home_with_a_signal_she_does_not_drive_has_no_squeeze_keys(make_home, qtbot, tmp_path):
    """A sensor (here a replayed session): no effort keys, no hint; Start still records her session."""
    from biofeedback.session.headless import record_headless
    rec = tmp_path / "earlier.bfr"
    record_headless("sim:healthy?rate=500", rec, 30.0, speed=None)
    win = make_home(source=f"replay:{rec}", speed=1.0)
    assert win.effort is None and "Space bar" not in win.patient.hint.text()
    assert win.start_practice()
    assert not win.hold(True) and not win.nudge(1)
    qtbot.waitUntil(lambda: win.controller.recording_elapsed_s > 0.5, timeout=10_000)
    win.finish_early()
    qtbot.waitUntil(lambda: win.pages.currentWidget() is win.done_page, timeout=20_000)


def test_home_opens_her_programme_today_follows_it_and_she_sends_her_practice(make_home, qtbot, tmp_path,
                                                                               library, monkeypatch):
    """The two home-loop buttons in home mode: "today" comes from the programme; practice goes back in a file."""
    import datetime as dt

    from PySide6 import QtWidgets

    from biofeedback.clinic.demo_programme import write_small_recording
    from biofeedback.ui import practice_actions as actions
    with Library.open(tmp_path / "clinic.sqlite") as clinic:
        actions.write_home_programme(clinic, clinic.add_client("Ana"), [("relaxation", 2), ("work-rest", 5)], 4,
                                     "Gently, most days", tmp_path / "ana.bfprog")
    win = make_home()
    assert "Relaxation" in win.today.text() and "programme" not in win.today.text()   # no programme yet
    loop = win.loop
    assert [b.text() for b in (loop.open_button, loop.send_button)] == [
        "Open the programme from your therapist", "Send my practice to my therapist"]
    assert loop.open_button.isVisible() and loop.send_button.isVisible()
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(tmp_path / "ana.bfprog"), "")))
    with qtbot.waitSignal(loop.programmeInstalled):
        qtbot.mouseClick(loop.open_button, QtCore.Qt.MouseButton.LeftButton)
    assert "Your programme is ready" in win.message_box.text() and win.message_box.isVisible()
    assert "Work-rest" in win.today.text() and "Week 1 of your programme: 7 sessions planned" in win.today.text()
    win.grab().save(str(tmp_path / "home-programme.png"))
    win.message_box.grab().save(str(tmp_path / "home-programme-message.png"))
    win.message_box.accept()

    started = f"{dt.date.today().isoformat()}T08:00:00+00:00"             # a work-rest session this morning
    (tmp_path / "rec").mkdir(exist_ok=True)
    rec = write_small_recording(tmp_path / "rec" / "wr.bfr", started, "work-rest", 7.0)
    win.controller.file(rec)                                              # as the end of a session files it
    qtbot.waitUntil(lambda: win.pages.currentWidget() is win.done_page, timeout=10_000)
    win.diary.skip_button.click()
    assert "1 of 7" in win.today.text()
    with Library.open(library) as lib:
        ana = lib.client("Ana")
        assert lib.session_places(ana) == {lib.sessions(ana)[0].id: "home"}
        assert lib.programmes(ana)[-1].installed

    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(tmp_path / "mine.bfpack"), "")))
    with qtbot.waitSignal(loop.practiceSent):
        qtbot.mouseClick(loop.send_button, QtCore.Qt.MouseButton.LeftButton)
    assert (tmp_path / "mine.bfpack").is_file() and "send this file" in win.message_box.text()
    with Library.open(tmp_path / "clinic.sqlite") as clinic:                # and the clinic files it as home
        from biofeedback.clinic.practice import import_practice
        assert import_practice(clinic, tmp_path / "mine.bfpack").sessions_added == 1
        ana = clinic.client("Ana")
        assert set(clinic.session_places(ana).values()) == {"home"}


def test_after_the_session_she_reads_what_went_well_never_a_count_of_nothing():
    """Walkthrough: after one squeeze that did not quite let go, the done page said "You let go fully
    after 0 of 1 squeezes"; the words now stay kind, and a count reads in good English."""
    from biofeedback.ui.home import HomeWindow
    said = {key: HomeWindow._kind_summary({"trials": t, "trials_released": r})
            for key, (t, r) in {"none": (1, 0), "one": (1, 1), "all": (6, 6), "some": (6, 4), "zero": (6, 0),
                                "no trials": (0, 0)}.items()}
    assert said["one"].startswith("You let go fully after your squeeze.")
    assert said["all"].startswith("You let go fully after every squeeze.")
    assert said["some"].startswith("You let go fully after 4 of 6 squeezes.")
    assert said["no trials"] == "You made time for yourself today. That is what helps."
    for words in said.values():
        assert " 0 " not in words and "of 1 squeezes" not in words and "µV" not in words
        for harsh in ("fail", "missed", "should", "only", "did not"):
            assert harsh not in words.lower()
