"""Window actions for the clinic <-> home loop (files, no server).

At the clinic: :class:`HomeProgrammeDialog` / :func:`write_home_programme` ("Home programme…" in the
Client menu) and :func:`import_practice_file` ("Import practice…"). At home:
:func:`open_programme_from_therapist` ("Open the programme from your therapist") and
:func:`send_practice_to_therapist` ("Send my practice to my therapist"); home mode places them as
buttons. Each takes an optional file path (tests, drag and drop) and otherwise asks with a file
dialog; each returns what it did, or None when cancelled or refused (the reason shown once).
:class:`HomeLoopButtons` holds the two home buttons ready for home mode to place.
The words the patient sees are calm and plain: no units, no blame.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6 import QtCore, QtWidgets

from biofeedback.clinic.library import Client, Library
from biofeedback.errors import UserError

ShowError = Callable[[str], None]
T = TypeVar("T")


def with_library(library_path: str | Path | None, work: Callable[[Library], T], show_error: ShowError) -> T | None:
    """Open the library, ``work`` with it, close it; a user error (say, an unreadable library) goes to
    ``show_error`` in one line instead, and None is returned. The window's actions all go through here."""
    try:
        library = Library.open(library_path)
        try:
            return work(library)
        finally:
            library.close()
    except UserError as exc:
        show_error(str(exc))
        return None


def _warn(parent: QtWidgets.QWidget | None, title: str) -> ShowError:
    return lambda text: QtWidgets.QMessageBox.warning(parent, title, text)


def _ask_save(parent: QtWidgets.QWidget | None, title: str, default: str, pattern: str) -> Path | None:
    path, _ = QtWidgets.QFileDialog.getSaveFileName(parent, title, str(Path.home() / default), pattern)
    return Path(path) if path else None


def _ask_open(parent: QtWidgets.QWidget | None, title: str, pattern: str) -> Path | None:
    path, _ = QtWidgets.QFileDialog.getOpenFileName(parent, title, str(Path.home()), pattern)
    return Path(path) if path else None


# --------------------------------------------------------------------------- at the clinic

class HomeProgrammeDialog(QtWidgets.QDialog):
    """Which protocols how many times a week, for how many weeks, and a note for her."""

    def __init__(self, client_name: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        from biofeedback.protocols import list_protocols
        self.setWindowTitle(f"Home programme — {client_name}")
        self.times: dict[str, QtWidgets.QSpinBox] = {}
        form = QtWidgets.QFormLayout()
        for proto in list_protocols():
            box = QtWidgets.QSpinBox()
            box.setRange(0, 21)
            box.setSuffix(" × a week")
            box.setSpecialValueText("not in the programme")
            box.setValue({"relaxation": 7, "work-rest": 2}.get(proto.name, 0))
            box.setAccessibleName(f"{proto.title}: times a week")
            form.addRow(f"{proto.title} ({proto.total_s / 60:.0f} min)", box)
            self.times[proto.name] = box
        self.weeks = QtWidgets.QSpinBox()
        self.weeks.setRange(1, 52)
        self.weeks.setValue(4)
        self.weeks.setSuffix(" weeks")
        self.weeks.setAccessibleName("Weeks")
        form.addRow("For", self.weeks)
        self.note = QtWidgets.QPlainTextEdit()
        self.note.setPlaceholderText("A short note for her (optional)")
        self.note.setFixedHeight(70)
        self.note.setAccessibleName("Note for her")
        form.addRow("Note", self.note)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Save | QtWidgets.QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(QtWidgets.QLabel("Her bands, release target, calibration and goals go with the programme."))
        layout.addLayout(form)
        layout.addWidget(buttons)

    def prescriptions(self) -> list[tuple[str, int]]:
        return [(name, box.value()) for name, box in self.times.items() if box.value() > 0]


def write_home_programme(library: Library, client: Client, prescriptions: list[tuple[str, int]], weeks: int,
                         note: str, out: Path | None = None, parent: QtWidgets.QWidget | None = None,
                         show_error: ShowError | None = None) -> Path | None:
    """Write her ``.bfprog`` (asking where when ``out`` is None); None when cancelled or refused."""
    from biofeedback.clinic.programme import SUFFIX, build_programme, write_programme
    show_error = show_error or _warn(parent, "Home programme not written")
    try:
        programme = build_programme(library, client.name, prescriptions, weeks, note)
        if out is None:
            out = _ask_save(parent, "Save the home programme", f"{client.name} programme{SUFFIX}",
                            f"Home programme (*{SUFFIX})")
            if out is None:
                return None
        return write_programme(library, programme, out)
    except UserError as exc:
        show_error(str(exc))
        return None


def import_practice_file(library: Library, path: Path | None = None, parent: QtWidgets.QWidget | None = None,
                         show_error: ShowError | None = None):
    """Import a ``.bfpack`` into the library; returns the :class:`ImportResult` or None."""
    from biofeedback.clinic.practice import SUFFIX, import_practice
    show_error = show_error or _warn(parent, "Practice not imported")
    if path is None:
        path = _ask_open(parent, "Import practice from home", f"Practice file (*{SUFFIX})")
        if path is None:
            return None
    try:
        return import_practice(library, path)
    except UserError as exc:
        show_error(str(exc))
        return None


# --------------------------------------------------------------------------- at home

def open_programme_from_therapist(library: Library, path: Path | None = None,
                                  parent: QtWidgets.QWidget | None = None, show_error: ShowError | None = None):
    """Install the programme file her therapist gave her; returns the :class:`InstallResult` or None."""
    from biofeedback.clinic.programme import SUFFIX, install_programme
    show_error = show_error or _warn(parent, "The programme could not be opened")
    if path is None:
        path = _ask_open(parent, "Open the programme from your therapist", f"Programme from your therapist (*{SUFFIX})")
        if path is None:
            return None
    try:
        return install_programme(library, path)
    except UserError as exc:
        show_error(f"{exc}\n\nNothing was changed. You could ask your therapist to send the file again.")
        return None


def programme_words(result) -> str:
    """What she reads after opening her programme: plain, calm, no units."""
    s = result.programme.schedule
    times = ", ".join(f"{name.replace('-', ' ')} {n} time{'s' if n != 1 else ''} a week"
                      for name, n in s.protocols.items())
    text = f"Your programme is ready: {times}, for {s.weeks} week{'s' if s.weeks != 1 else ''}."
    if result.programme.note:
        text += f"\n\nFrom your therapist: {result.programme.note}"
    return text + "\n\nAny practice counts. If a day slips by, simply carry on the next."


def send_practice_to_therapist(library: Library, client_name: str, out: Path | None = None,
                               parent: QtWidgets.QWidget | None = None, show_error: ShowError | None = None):
    """Write her practice since the last time into a file she can send; returns the :class:`ExportResult`."""
    from biofeedback.clinic.practice import SUFFIX, export_practice
    show_error = show_error or _warn(parent, "Your practice was not saved")
    if out is None:
        out = _ask_save(parent, "Send my practice to my therapist",
                        f"my practice {dt.date.today().isoformat()}{SUFFIX}", f"Practice file (*{SUFFIX})")
        if out is None:
            return None
    try:
        return export_practice(library, client_name, out)
    except UserError as exc:
        show_error(str(exc))
        return None


def sent_words(result) -> str:
    """What she reads after saving her practice."""
    n = result.sessions
    done = f"{n} practice session{'s' if n != 1 else ''}" if n else "your diary"
    return (f"Saved {done} in {result.path.name}.\n\nYou can send this file to your therapist "
            f"(by e-mail or on a USB stick). It stays private: only people you give it to can open it.")


class HomeLoopButtons(QtWidgets.QWidget):
    """The two buttons home mode shows: "Open the programme from your therapist", "Send my practice to my therapist".

    Home mode places this widget and listens to :attr:`programmeInstalled` (refresh "today") and
    :attr:`practiceSent`. Messages go to :attr:`show_message` (a calm dialog by default).
    """

    programmeInstalled = QtCore.Signal(object)     # InstallResult
    practiceSent = QtCore.Signal(object)           # ExportResult

    def __init__(self, library_path: str | Path | None, client_name: str = "",
                 parent: QtWidgets.QWidget | None = None, vertical: bool = False) -> None:
        super().__init__(parent)
        self.library_path = library_path
        self.client_name = client_name
        self.show_message: ShowError = lambda text: QtWidgets.QMessageBox.information(self, "Your practice", text)
        self.open_button = QtWidgets.QPushButton("Open the programme from your therapist")
        self.send_button = QtWidgets.QPushButton("Send my practice to my therapist")
        for button in (self.open_button, self.send_button):
            button.setAccessibleName(button.text())
        self.open_button.clicked.connect(lambda: self.open_programme())
        self.send_button.clicked.connect(lambda: self.send_practice())
        layout: QtWidgets.QBoxLayout = QtWidgets.QVBoxLayout(self) if vertical else QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.open_button)
        layout.addWidget(self.send_button)

    def _with_library(self, job):
        return with_library(self.library_path, job, self.show_message)

    def open_programme(self, path: Path | None = None):
        result = self._with_library(lambda lib: open_programme_from_therapist(lib, path, self, self.show_message))
        if result is not None:
            self.client_name = result.client_name
            self.show_message(programme_words(result) if result.changed else
                              "This programme is already open on this computer. Nothing needed changing.")
            self.programmeInstalled.emit(result)
        return result

    def send_practice(self, out: Path | None = None):
        if not self.client_name:
            self.show_message("Open the programme from your therapist first; then your practice can go back to her.")
            return None
        result = self._with_library(lambda lib: send_practice_to_therapist(lib, self.client_name, out, self,
                                                                           self.show_message))
        if result is not None:
            self.show_message(sent_words(result))
            self.practiceSent.emit(result)
        return result
