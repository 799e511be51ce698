"""The diary prompt after a home session, on the home screen itself (no pop-up), and skippable.

A few optional questions in her words; *Save* keeps what she answered (with the minutes she just
practised), *Not today* skips. Both lead back to the home screen.
"""
from __future__ import annotations

import datetime as dt

from PySide6 import QtCore, QtWidgets

from biofeedback.clinic.library import Client, DiaryEntry, Library
from biofeedback.clinic.progress import update_milestones
from biofeedback.ui.diary import MOODS


class HomeDiary(QtWidgets.QFrame):
    """``finished(entry or None)`` after Save or Skip."""

    finished = QtCore.Signal(object)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("HomeDiary")
        self.setAccessibleName("Diary")
        self.library_path: str | None = None
        self.client: Client | None = None
        self.session_id: int | None = None
        self.minutes: float | None = None
        self.entry: DiaryEntry | None = None
        intro = QtWidgets.QLabel("If you like, a few words for your diary. Everything here is optional.")
        intro.setWordWrap(True)
        self.pain = QtWidgets.QSpinBox()
        self.pain.setRange(-1, 10)
        self.pain.setSpecialValueText("not answered")
        self.pain.setValue(-1)
        self.pain.setSuffix(" / 10")
        self.pain.setAccessibleName("Pain with intercourse or dilator, 0 to 10")
        self.mood = QtWidgets.QComboBox()
        self.mood.addItem("not answered", None)
        for i, word in enumerate(MOODS, start=1):
            self.mood.addItem(word.capitalize(), i)
        self.mood.setAccessibleName("Mood")
        self.notes = QtWidgets.QLineEdit()
        self.notes.setPlaceholderText("Anything you noticed (optional)")
        self.notes.setAccessibleName("Diary notes")
        form = QtWidgets.QFormLayout()
        form.addRow("Pain with intercourse or a dilator lately (0 none, 10 worst)", self.pain)
        form.addRow("How do you feel?", self.mood)
        form.addRow("Notes", self.notes)
        self.save_button = QtWidgets.QPushButton("Save in my diary")
        self.skip_button = QtWidgets.QPushButton("Not today")
        self.save_button.setAccessibleName("Save in my diary")
        self.skip_button.setAccessibleName("Skip the diary today")
        self.save_button.clicked.connect(self.save)
        self.skip_button.clicked.connect(self.skip)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.skip_button)
        buttons.addWidget(self.save_button)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addLayout(form)
        lay.addLayout(buttons)

    def ask(self, library_path: str, client: Client, session_id: int | None, minutes: float | None) -> None:
        self.library_path, self.client, self.session_id, self.minutes = library_path, client, session_id, minutes
        self.entry = None
        self.pain.setValue(-1)
        self.mood.setCurrentIndex(0)
        self.notes.clear()

    def save(self) -> DiaryEntry | None:
        """Keep her answers (and the minutes practised); returns the entry."""
        if self.client is None:
            return None
        pain = self.pain.value() if self.pain.value() >= 0 else None
        with Library.open(self.library_path) as library:
            self.entry = library.add_diary(self.client, dt.date.today(), pain_intercourse=pain,
                                           mood=self.mood.currentData(), minutes_practised=self.minutes,
                                           notes=self.notes.text().strip(), session_id=self.session_id)
            update_milestones(library, self.client)
        self.finished.emit(self.entry)
        return self.entry

    def skip(self) -> None:
        self.entry = None
        self.finished.emit(None)
