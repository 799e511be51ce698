"""History view, diary prompt and client chooser in real offscreen Qt windows."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from biofeedback.clinic.library import Library
from biofeedback.clinic.progress import update_milestones
from biofeedback.ui.clients import ClientDialog
from biofeedback.ui.diary import DiaryDialog
from biofeedback.ui.history import HistoryView


@pytest.fixture()
def library(tmp_path):
    lib = Library.open(tmp_path / "lib.sqlite")
    c = lib.add_client("Mira")
    d0 = dt.date(2026, 3, 31)
    for i, (days, tone, release, peak) in enumerate([(0, 9.1, 2.6, 35), (9, 6.2, 1.4, 38), (21, 4.6, 0.9, 41)]):
        lib.add_session(c, tmp_path / f"s{i}.bfr", f"{d0 + dt.timedelta(days=days)}T09:00:00", "glazer", 330,
                        {"resting_tone_uv": tone, "release_latency_s": release, "contraction_peak_uv": peak})
    for days, pain, mood in [(0, 7, 2), (14, 5, 3), (24, 3, 4)]:
        lib.add_diary(c, d0 + dt.timedelta(days=days), pain_intercourse=pain, mood=mood)
    lib.add_goal(c, "release_latency_s", "<=", 1.5, "release within 1.5 s")
    lib.add_goal(c, "resting_tone_uv", "<", 4)
    update_milestones(lib, c)
    yield lib
    lib.close()


def test_history_view_shows_sessions_trends_goals(qtbot, library, tmp_path):
    view = HistoryView(library, "mira")
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    qtbot.waitExposed(view)
    # newest session first, with its diary scores from the same day
    assert view.table.rowCount() == 3
    assert view.table.item(0, 0).text().startswith("21 Apr 2026")
    assert view.table.item(2, 0).text().startswith("31 Mar 2026")
    assert view.table.item(2, 4).text() == "2.60 s"
    assert view.table.item(2, 6).text() == "7/10"
    assert set(view.plots) == {"resting_tone_uv", "release_latency_s", "contraction_peak_uv", "pain_intercourse",
                               "mood"}
    release = view.plots["release_latency_s"]
    curves = [i for i in release.listDataItems() if i.xData is not None and len(i.xData) == 3]
    assert list(curves[0].yData) == [2.6, 1.4, 0.9]
    assert list(curves[0].xData) == sorted(curves[0].xData)
    goal_lines = [i for i in release.items if isinstance(i, pg.InfiniteLine) and i.angle == 0]
    assert [line.value() for line in goal_lines] == [1.5]
    stars = [i for i in release.listDataItems() if i.opts.get("symbol") == "star"]
    assert len(stars) == 1 and list(stars[0].yData) == [1.4]
    assert "first met 9 Apr 2026" in view.goals_label.text()
    assert "not yet" in view.goals_label.text()          # resting tone under 4 not met
    view.grab().save(str(tmp_path / "history.png"))
    assert (tmp_path / "history.png").stat().st_size > 20000
    # a double-click on a session offers its recording for replay
    with qtbot.waitSignal(view.recording_chosen) as sig:
        view.table.cellDoubleClicked.emit(0, 0)
    assert sig.args[0].endswith("s2.bfr")


def test_history_view_of_new_client_is_calm(qtbot, library):
    library.add_client("New")
    view = HistoryView(library, "New")
    qtbot.addWidget(view)
    assert view.table.rowCount() == 0 and view.plots == {}
    assert "No goals" in view.goals_label.text()


def test_diary_dialog_saves_and_marks_milestone(qtbot, library):
    client = library.client("Mira")
    library.add_goal(client, "pain_intercourse", "<=", 2, "pain at most 2/10")
    dialog = DiaryDialog(library, client, day=dt.date(2026, 5, 2))
    qtbot.addWidget(dialog)
    dialog.pain_intercourse.setValue(2)
    dialog.mood.setCurrentIndex(5)
    dialog.minutes.setValue(12)
    dialog.notes.setPlainText("easier with the breathing")
    qtbot.mouseClick(dialog.save_button, QtCore.Qt.LeftButton)
    assert dialog.result() == QtWidgets.QDialog.Accepted
    entry = library.diary(client)[-1]
    assert (entry.day, entry.pain_intercourse, entry.pain_pelvic, entry.mood, entry.minutes_practised, entry.notes) == \
        (dt.date(2026, 5, 2), 2, None, 5, 12, "easier with the breathing")
    assert [g.description for g in dialog.newly_met] == ["pain at most 2/10"]
    assert {g.label: g.met_on for g in library.goals(client)}["pain at most 2/10"] == dt.date(2026, 5, 2)


def test_diary_dialog_skip_and_empty_save_store_nothing(qtbot, library):
    client = library.client("Mira")
    before = len(library.diary(client))
    dialog = DiaryDialog(library, client)
    qtbot.addWidget(dialog)
    dialog.pain_intercourse.setValue(4)
    qtbot.mouseClick(dialog.skip_button, QtCore.Qt.LeftButton)
    assert dialog.result() == QtWidgets.QDialog.Rejected and dialog.entry is None
    empty = DiaryDialog(library, client)
    qtbot.addWidget(empty)
    qtbot.mouseClick(empty.save_button, QtCore.Qt.LeftButton)
    assert empty.entry is None
    assert len(library.diary(client)) == before


def test_client_dialog_add_and_choose(qtbot, library, tmp_path):
    dialog = ClientDialog(library)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.new_name, "Zoe")
    qtbot.mouseClick(dialog.add_button, QtCore.Qt.LeftButton)
    assert [c.name for c in library.clients()] == ["Mira", "Zoe"]
    assert dialog.list.currentItem().text().startswith("Zoe")
    qtbot.keyClicks(dialog.new_name, "mira")
    qtbot.mouseClick(dialog.add_button, QtCore.Qt.LeftButton)
    assert "already a client" in dialog.message.text()
    qtbot.keyClicks(dialog.filter, "mi")
    visible = [dialog.list.item(i).text() for i in range(dialog.list.count()) if not dialog.list.item(i).isHidden()]
    assert visible == ["Mira   (3 sessions)"]
    dialog.list.setCurrentRow(0)
    dialog.grab().save(str(tmp_path / "clients.png"))
    qtbot.mouseClick(dialog.ok_button, QtCore.Qt.LeftButton)
    assert dialog.client is not None and dialog.client.name == "Mira"


def test_finish_session_files_the_recording_and_asks_the_diary(qtbot, library, tmp_path):
    from biofeedback.session.headless import record_headless
    from biofeedback.ui.diary import finish_session
    path = tmp_path / "today.bfr"
    record_headless("sim:hypertonic?seed=3&rate=500", path, 3.0, speed=None, client="Mira")

    def answer():
        dialog = QtWidgets.QApplication.activeModalWidget()
        assert isinstance(dialog, DiaryDialog)
        dialog.pain_pelvic.setValue(2)
        qtbot.mouseClick(dialog.save_button, QtCore.Qt.LeftButton)

    QtCore.QTimer.singleShot(50, answer)
    entry = finish_session(library, str(path))
    session = library.session_for_recording(path)
    assert session is not None and session.client_id == library.client("Mira").id
    assert entry is not None and entry.session_id == session.id and entry.pain_pelvic == 2
    assert len(library.sessions(library.client("Mira"))) == 4


def test_goal_dialog_adds_a_goal_met_on_the_right_day(qtbot, library):
    from biofeedback.ui.clients import GoalDialog
    client = library.client("Mira")
    dialog = GoalDialog(library, client)
    qtbot.addWidget(dialog)
    dialog.measure.setCurrentIndex(dialog.measure.findData("release_latency_s"))
    assert dialog.direction.currentData() == "<="            # lower is better for release time
    dialog.target.setValue(1.0)
    dialog.label.setText("release within 1 s")
    qtbot.mouseClick(dialog.save_button, QtCore.Qt.LeftButton)
    assert dialog.result() == QtWidgets.QDialog.Accepted
    goal = {g.label: g for g in library.goals(client)}["release within 1 s"]
    assert (goal.metric, goal.comparison, goal.target, goal.met_on) == ("release_latency_s", "<=", 1.0,
                                                                        dt.date(2026, 4, 21))


def test_goal_dialog_names_the_protocol_for_session_measures_only(qtbot, library):
    from biofeedback.ui.clients import GoalDialog
    client = library.client("Mira")
    dialog = GoalDialog(library, client)
    qtbot.addWidget(dialog)
    assert dialog.protocol.itemData(0) == "" and dialog.protocol.itemText(0) == "Every exercise"
    assert dialog.protocol.itemData(1) == "glazer"            # the protocol she has practised comes first
    dialog.measure.setCurrentIndex(dialog.measure.findData("pain_intercourse"))
    assert not dialog.protocol.isEnabled()                    # pain comes from the diary, not a protocol
    dialog.measure.setCurrentIndex(dialog.measure.findData("resting_tone_uv"))
    assert dialog.protocol.isEnabled()
    dialog.protocol.setCurrentIndex(1)
    dialog.target.setValue(5.0)
    qtbot.mouseClick(dialog.save_button, QtCore.Qt.LeftButton)
    assert dialog.result() == QtWidgets.QDialog.Accepted
    assert (dialog.goal.metric, dialog.goal.protocol) == ("resting_tone_uv", "glazer")
    assert [g.protocol for g in library.goals(client)] == ["", "", "glazer"]


def test_run_with_progress_reports_and_turns_errors_into_a_message(qtbot, monkeypatch):
    from biofeedback.errors import UserError
    from biofeedback.ui.history import run_with_progress
    seen = []

    def job(progress):
        for f in (0.25, 0.5, 1.0):
            progress(f)
            seen.append(f)
        return "done"

    assert run_with_progress(None, "Working…", job) == "done" and seen == [0.25, 0.5, 1.0]
    shown = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a: shown.append(a[2]))

    def failing(progress):
        raise UserError("cannot write /x.pdf: Permission denied")

    assert run_with_progress(None, "Working…", failing) is None
    assert shown == ["cannot write /x.pdf: Permission denied"]


def test_release_target_steps_are_drawn_on_the_resting_tone_trend(qtbot, library, tmp_path):
    """Shaping (issue 11): every release-target step, with the day it was set, shows as a staircase on the
    resting-tone trend, and nowhere else; `history --json` carries the same steps."""
    from biofeedback.clinic.progress import client_progress
    c = library.client("mira")
    library.add_target_step(c, 8.0, dt.date(2026, 3, 31), rule="below_rest")
    library.add_target_step(c, 7.2, dt.date(2026, 4, 10), rule="shaping")
    p = client_progress(library, c)
    assert p.target_steps == [(dt.date(2026, 3, 31), 8.0), (dt.date(2026, 4, 10), 7.2)]
    assert p.to_dict()["release_target_steps"] == [{"day": "2026-03-31", "release_target_uv": 8.0},
                                                   {"day": "2026-04-10", "release_target_uv": 7.2}]
    view = HistoryView(library, "mira")
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    qtbot.waitExposed(view)

    def staircase(plot):
        return [i for i in plot.listDataItems() if i.yData is not None and len(i.yData) == 4
                and list(i.yData) == [8.0, 8.0, 7.2, 7.2]]
    rest = staircase(view.plots["resting_tone_uv"])
    assert len(rest) == 1
    x = rest[0].xData
    assert x[1] == x[2] == dt.datetime(2026, 4, 10).timestamp()     # the step falls on the day it was set
    assert not staircase(view.plots["release_latency_s"])
    low, high = view.plots["resting_tone_uv"].viewRange()[1]
    assert low <= 7.2 and high >= 8.0
    view.grab().save(str(tmp_path / "history-steps.png"))


def test_another_room_opens_a_server_session_from_the_history_view(qtbot, pg_url, tmp_path, monkeypatch):
    """Issue 14: a session recorded in room 1 and stored on the clinic's server opens in room 2's history
    view (double-click, report, export) from a verified copy fetched into room 2's cache."""
    from biofeedback.clinic.filing import register_recording
    from tests.clinic.test_library_server import make_recording
    rec = make_recording(tmp_path / "room1.bfr", seconds=20.0)
    with Library.open(pg_url) as lib:
        lib.add_client("Anna")
        register_recording(lib, rec)
    rec.rename(tmp_path / "room1-archive.bfr")                      # room 2 does not have the file
    monkeypatch.setenv("BIOFEEDBACK_CACHE", str(tmp_path / "room2"))
    with Library.open(pg_url) as lib:
        view = HistoryView(lib, "anna")
        qtbot.addWidget(view)
        view.show()
        chosen = []
        view.recording_chosen.connect(chosen.append)
        view._open_row(0, 0)
        assert len(chosen) == 1
        fetched = Path(chosen[0])
        assert fetched.exists() and fetched.parent.parent == tmp_path / "room2"
        view.table.selectRow(0)
        assert view._selected_recording() == chosen[0]
        view.close()


def test_a_goal_met_at_the_latest_session_is_labelled_inside_the_chart(qtbot, tmp_path):
    """Walkthrough: a goal met at her latest session put its "met 1 Jul" centred on the star at the
    chart's right edge, cut in half (and one under a low star ran below the axis); each label now stays
    inside its chart."""
    lib = Library.open(tmp_path / "long.sqlite")
    c = lib.add_client("Ines")
    d0 = dt.date(2026, 4, 1)
    for i in range(8):                            # thirteen weeks, the last session late in the day
        lib.add_session(c, tmp_path / f"l{i}.bfr", f"{d0 + dt.timedelta(days=13 * i)}T18:00:00", "relaxation", 450,
                        {"resting_tone_uv": 9.0 - 0.7 * i, "release_latency_s": 3.0 - 0.3 * i})
    lib.add_goal(c, "resting_tone_uv", "<=", 4.2, "tone at most 4.2")
    lib.add_goal(c, "release_latency_s", ">=", 2.9, "a first try")      # met at her first session: left edge
    update_milestones(lib, c)
    view = HistoryView(lib, "Ines")
    qtbot.addWidget(view)
    view.resize(1024, 640)
    view.show()
    qtbot.waitExposed(view)
    qtbot.wait(50)
    labels = [(name, item) for name, plot in view.plots.items() for item in plot.items
              if isinstance(item, pg.TextItem) and item.toPlainText().startswith("met ")]
    assert {(name, item.toPlainText()) for name, item in labels} == {("resting_tone_uv", "met 1 Jul"),
                                                                  ("release_latency_s", "met 1 Apr")}
    for name, item in labels:
        box = view.plots[name].vb.sceneBoundingRect()
        text = item.mapRectToScene(item.boundingRect())
        assert box.left() - 1 <= text.left() and text.right() <= box.right() + 1, (name, item.toPlainText())
        assert box.top() - 1 <= text.top() and text.bottom() <= box.bottom() + 1, (name, item.toPlainText())
    lib.close()


def test_history_fits_a_laptop_and_every_button_says_what_it_does(qtbot, library):
    """Walkthrough: the heading and six buttons in one row made the view wider than a 1024-pixel screen,
    and the greyed session buttons did not say that a session has to be chosen first."""
    c = library.add_client("Marie-Christine Delacroix-Fontaine")
    for i in range(12):
        library.add_session(c, Path(f"m{i}.bfr"), f"2026-0{1 + i // 4}-{10 + i}T09:00:00", "glazer", 330,
                            {"resting_tone_uv": 9.0 - 0.3 * i})
        library.add_diary(c, dt.date(2026, 1 + i // 4, 10 + i), pain_intercourse=6)
    view = HistoryView(library, c.name)
    qtbot.addWidget(view)
    view.resize(1024, 640)
    view.show()
    qtbot.waitExposed(view)
    assert view.minimumSizeHint().width() <= 1024 and view.width() <= 1024
    buttons = view.findChildren(QtWidgets.QPushButton)
    assert len(buttons) >= 6 and all(b.toolTip() for b in buttons)
    assert not view.export_button.isEnabled() and "choose one first" in view.export_button.toolTip()


def _contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours."""
    from PySide6 import QtGui

    def lum(c: str) -> float:
        q = QtGui.QColor(c)
        parts = [x / 255.0 for x in (q.red(), q.green(), q.blue())]
        lin = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in parts]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_heading_and_goals_are_readable_in_either_theme(qtbot, qapp, library, theme):
    """Walkthrough in the dark theme: the session count and the goals were dark grey and dark green on
    a near-black window; every colour of the heading and goal words now reads at 4.5:1 or better."""
    import re

    from biofeedback.ui.theme import LIGHT, apply_theme, get_theme
    apply_theme(qapp, get_theme(theme))
    try:
        view = HistoryView(library, "Mira")
        qtbot.addWidget(view)
        window = view.palette().color(view.backgroundRole()).name()
        html = view.heading.text() + view.goals_label.text()
        colours = re.findall(r"color:\s*(#[0-9a-fA-F]{6})", html)
        assert len(colours) >= 3                       # the count, a met goal, a goal not met yet
        for colour in colours:
            assert _contrast(colour, window) >= 4.5, (theme, colour, window)
        assert "3 sessions, 3 diary entries over 4 weeks" in view.heading.text()
    finally:
        apply_theme(qapp, LIGHT)
