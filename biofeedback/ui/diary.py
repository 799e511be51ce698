"""The short, skippable diary prompt after a session (or on any day)."""
from __future__ import annotations

import datetime as dt

from PySide6 import QtCore, QtWidgets

from biofeedback.clinic.filing import file_session
from biofeedback.clinic.library import Client, DiaryEntry, Library
from biofeedback.clinic.progress import GoalStatus, update_milestones

MOODS = ("very low", "low", "so-so", "good", "very good")


def _score_box(maximum: int) -> QtWidgets.QSpinBox:
    """0..maximum, with a blank 'not answered' below 0."""
    box = QtWidgets.QSpinBox()
    box.setRange(-1, maximum)
    box.setSpecialValueText("not answered")
    box.setValue(-1)
    box.setSuffix(f" / {maximum}")
    box.setMinimumWidth(130)
    return box


class DiaryDialog(QtWidgets.QDialog):
    """Pain, mood, practice and a note; every field may stay empty and the whole prompt may be skipped.

    After *Save*, :attr:`entry` holds the stored entry and :attr:`newly_met` the goals met for the first time.
    """

    def __init__(self, library: Library, client: Client, session_id: int | None = None,
                 day: dt.date | None = None, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.library, self.client, self.session_id = library, client, session_id
        self.day = day or dt.date.today()
        self.entry: DiaryEntry | None = None
        self.newly_met: list[GoalStatus] = []
        self.setWindowTitle(f"Diary — {client.name}")

        intro = QtWidgets.QLabel(f"How was it today ({self.day.day} {self.day:%B})? Answer what you like; "
                                 f"everything is optional.")
        intro.setWordWrap(True)
        self.pain_intercourse = _score_box(10)
        self.pain_pelvic = _score_box(10)
        self.mood = QtWidgets.QComboBox()
        self.mood.addItem("not answered", None)
        for i, word in enumerate(MOODS, start=1):
            self.mood.addItem(f"{i} — {word}", i)
        self.minutes = QtWidgets.QSpinBox()
        self.minutes.setRange(0, 600)
        self.minutes.setSuffix(" min")
        self.minutes.setSpecialValueText("not answered")
        self.notes = QtWidgets.QPlainTextEdit()
        self.notes.setPlaceholderText("Anything you noticed (optional)")
        self.notes.setFixedHeight(70)

        form = QtWidgets.QFormLayout()
        form.addRow("Pain with intercourse or dilator (0 none – 10 worst)", self.pain_intercourse)
        form.addRow("Pelvic pain in general (0 – 10)", self.pain_pelvic)
        form.addRow("Mood", self.mood)
        form.addRow("Minutes practised today", self.minutes)
        form.addRow("Notes", self.notes)

        buttons = QtWidgets.QDialogButtonBox()
        self.save_button = buttons.addButton("Save", QtWidgets.QDialogButtonBox.AcceptRole)
        self.skip_button = buttons.addButton("Skip", QtWidgets.QDialogButtonBox.RejectRole)
        self.save_button.setDefault(True)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)

        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def _value(self, box: QtWidgets.QSpinBox) -> int | None:
        return None if box.value() < 0 else box.value()

    def _save(self) -> None:
        notes = self.notes.toPlainText().strip()
        values = dict(pain_intercourse=self._value(self.pain_intercourse), pain_pelvic=self._value(self.pain_pelvic),
                      mood=self.mood.currentData(), minutes_practised=self.minutes.value() or None)
        if all(v is None for v in values.values()) and not notes:
            self.reject()            # nothing answered: the same as skipping
            return
        self.entry = self.library.add_diary(self.client, self.day, notes=notes, session_id=self.session_id, **values)
        self.newly_met = update_milestones(self.library, self.client)
        self.accept()


def ask_diary(library: Library, client: Client, session_id: int | None = None,
              parent: QtWidgets.QWidget | None = None) -> DiaryEntry | None:
    """Show the prompt; returns the entry, or None when skipped."""
    dialog = DiaryDialog(library, client, session_id, parent=parent)
    dialog.setWindowModality(QtCore.Qt.WindowModal)
    dialog.exec()
    if dialog.newly_met:
        names = "\n".join(f"★ {g.description}" for g in dialog.newly_met)
        QtWidgets.QMessageBox.information(parent, "Milestone reached", f"Well done — goal met:\n{names}")
    return dialog.entry


def finish_session(library: Library, recording_path: str, parent: QtWidgets.QWidget | None = None,
                   ask: bool = True) -> DiaryEntry | None:
    """After a session: file the recording in the library under its client, then offer the diary prompt.

    Raises :class:`~biofeedback.errors.UserError` when the recording names no client or cannot be read.
    """
    filed = file_session(library, recording_path)
    if not ask:
        return None
    return ask_diary(library, filed.client, filed.session.id, parent)
