"""Window actions of the clinic <-> home loop, in a real offscreen window (pytest-qt)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6 import QtWidgets

from biofeedback.clinic.demo_programme import write_small_recording
from biofeedback.clinic.library import Library
from biofeedback.clinic.programme import read_programme
from biofeedback.ui import practice_actions as actions


def _menu_texts(win) -> list[str]:
    menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "&Client")
    return [a.text() for a in menu.actions()]


def _home_with_practice(tmp_path: Path, clinic: Path) -> Path:
    """Her programme installed at home (through the home action), two sessions and a diary entry."""
    home = tmp_path / "home" / "lib.sqlite"
    home.parent.mkdir()
    with Library.open(home) as lib:
        result = actions.open_programme_from_therapist(lib, tmp_path / "ana.bfprog")
        assert result is not None and result.changed
        ana = lib.client("Ana")
        for i in range(2):
            started = f"{dt.date.today().isoformat()}T{8 + 10 * i:02d}:00:00+00:00"     # morning and evening
            rec = write_small_recording(home.parent / f"s{i}.bfr", started, "relaxation", 7.0, seed=i)
            lib.add_session(ana, rec, started, "relaxation", 4.0, {"unit": "uV", "resting_tone_uv": 7.0})
        lib.add_diary(ana, dt.date.today(), pain_intercourse=3, notes="calmer")
    return home


def test_clinic_home_programme_and_import_practice(make_window, qtbot, tmp_path):
    clinic = tmp_path / "clinic.sqlite"
    with Library.open(clinic) as lib:
        ana = lib.add_client("Ana")
    win = make_window(library_path=clinic)
    texts = _menu_texts(win)
    assert "Home programme…" in texts and "Import practice…" in texts
    win.clients.set_client(ana)

    dialog = actions.HomeProgrammeDialog("Ana", win)
    qtbot.addWidget(dialog)
    dialog.times["relaxation"].setValue(6)
    dialog.times["work-rest"].setValue(0)
    dialog.weeks.setValue(6)
    dialog.note.setPlainText("Slow breaths first")
    dialog.setResult(QtWidgets.QDialog.Accepted)
    written = win.clients.home_programme(out=tmp_path / "ana.bfprog", dialog=dialog)
    assert written == tmp_path / "ana.bfprog"
    programme = read_programme(written)
    assert programme.schedule.protocols == {"relaxation": 6} and programme.schedule.weeks == 6
    assert programme.note == "Slow breaths first" and programme.client_name == "Ana"
    assert "saved" in win.banner.text()

    home = _home_with_practice(tmp_path, clinic)
    with Library.open(home) as lib:
        sent = actions.send_practice_to_therapist(lib, "Ana", tmp_path / "ana.bfpack")
    assert sent is not None and sent.sessions == 2 and "send this file" in actions.sent_words(sent)

    result = win.clients.import_practice(tmp_path / "ana.bfpack")
    assert result is not None and result.sessions_added == 2 and result.diary_added == 1
    assert "imported 2 home sessions" in win.banner.text()

    from biofeedback.ui.history import HistoryView
    with Library.open(clinic) as lib:
        view = HistoryView(lib, "Ana")
        qtbot.addWidget(view)
        view.resize(1100, 700)
        view.show()
        header = [view.table.horizontalHeaderItem(c).text() for c in range(view.table.columnCount())]
        assert header[-1] == "Place"
        places = {view.table.item(r, len(header) - 1).text() for r in range(view.table.rowCount())}
        assert places == {"home"}
        assert view.adherence_label.isVisible() and "2 of 6" in view.adherence_label.text()
        view.grab().save(str(tmp_path / "history.png"))
        view.close()


def test_home_actions_ask_for_files_and_refuse_kindly(qtbot, tmp_path, monkeypatch):
    clinic = tmp_path / "clinic.sqlite"
    with Library.open(clinic) as lib:
        ana = lib.add_client("Ana")
        assert actions.write_home_programme(lib, ana, [("relaxation", 7)], 4, "Be kind to yourself",
                                            tmp_path / "ana.bfprog") is not None
    home = tmp_path / "home.sqlite"
    errors: list[str] = []
    # "Open the programme from your therapist": the file dialog gives the file
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(tmp_path / "ana.bfprog"), "")))
    with Library.open(home) as lib:
        result = actions.open_programme_from_therapist(lib, show_error=errors.append)
        words = actions.programme_words(result)
        assert "relaxation 7 times a week, for 4 weeks" in words and "Be kind to yourself" in words
        assert "µV" not in words and "carry on" in words
        lib.add_diary(lib.client("Ana"), dt.date.today(), mood=4)
        # "Send my practice to my therapist": she chooses where
        monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName",
                            staticmethod(lambda *a, **k: (str(tmp_path / "mine.bfpack"), "")))
        sent = actions.send_practice_to_therapist(lib, "Ana", show_error=errors.append)
        assert sent is not None and sent.diary == 1 and (tmp_path / "mine.bfpack").is_file()
        assert "your diary" in actions.sent_words(sent)
        # cancelled dialogs do nothing
        monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: ("", "")))
        assert actions.send_practice_to_therapist(lib, "Ana", show_error=errors.append) is None
        # a damaged programme file: one calm message, nothing changed
        data = bytearray((tmp_path / "ana.bfprog").read_bytes())
        data[len(data) // 2] ^= 0xFF
        (tmp_path / "bad.bfprog").write_bytes(bytes(data))
        assert actions.open_programme_from_therapist(lib, tmp_path / "bad.bfprog", show_error=errors.append) is None
        assert len(lib.programmes(lib.client("Ana"))) == 1
    assert len(errors) == 1 and "Nothing was changed" in errors[0]


def test_home_mode_buttons(qtbot, tmp_path, monkeypatch):
    from PySide6 import QtCore
    clinic = tmp_path / "clinic.sqlite"
    with Library.open(clinic) as lib:
        actions.write_home_programme(lib, lib.add_client("Ana"), [("relaxation", 7)], 4, "", tmp_path / "a.bfprog")
    home = tmp_path / "home.sqlite"
    buttons = actions.HomeLoopButtons(home)
    qtbot.addWidget(buttons)
    buttons.show()
    said: list[str] = []
    buttons.show_message = said.append
    qtbot.mouseClick(buttons.send_button, QtCore.Qt.LeftButton)            # nothing to send yet: a kind word
    assert "first" in said[-1]
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(tmp_path / "a.bfprog"), "")))
    with qtbot.waitSignal(buttons.programmeInstalled):
        qtbot.mouseClick(buttons.open_button, QtCore.Qt.LeftButton)
    assert "Your programme is ready" in said[-1] and buttons.client_name == "Ana"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(tmp_path / "mine.bfpack"), "")))
    with Library.open(home) as lib:
        lib.add_diary(lib.client("Ana"), dt.date.today(), mood=4)
    with qtbot.waitSignal(buttons.practiceSent):
        qtbot.mouseClick(buttons.send_button, QtCore.Qt.LeftButton)
    assert "send this file to your therapist" in said[-1] and (tmp_path / "mine.bfpack").is_file()
    assert buttons.open_button.accessibleName() == "Open the programme from your therapist"
    buttons.grab().save(str(tmp_path / "buttons.png"))
