"""The window's link to the client library: the Client menu (choose a client, history, diary).

The client herself, her stored bands and calibration, and the filing of finished sessions belong to the
:class:`~biofeedback.session.controller.SessionController`; this part only asks, shows and prompts.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6 import QtCore, QtWidgets

from biofeedback.clinic.filing import FiledSession
from biofeedback.clinic.library import Client, Library
from biofeedback.errors import UserError
from biofeedback.session.controller import SessionController
from biofeedback.ui.clients import choose_client
from biofeedback.ui.diary import ask_diary
from biofeedback.ui.history import HistoryView
from biofeedback.ui.practice_actions import (
    HomeProgrammeDialog,
    import_practice_file,
    with_library,
    write_home_programme,
)

T = TypeVar("T")


class ClientLink(QtCore.QObject):
    """Holds the current client and the library file; emits :attr:`clientChanged` on a new choice."""

    def __init__(self, parent: QtWidgets.QWidget, controller: SessionController,
                 show_error: Callable[[str], None] | None = None) -> None:
        super().__init__(parent)
        self.window = parent
        self.controller = controller
        self.ask_diary = True                      # after a recording (tests switch the modal prompt off)
        self.show_error = show_error or (lambda text: None)
        self._history = None

    @property
    def library_path(self) -> str | Path | None:
        return self.controller.library_path

    @property
    def client(self) -> Client | None:
        return self.controller.client

    @property
    def client_name(self) -> str:
        return self.controller.client_name

    def _library(self) -> Library:
        return Library.open(self.library_path)

    def _with_library(self, work: Callable[[Library], T]) -> T | None:
        return with_library(self.library_path, work, self.show_error)

    def add_menu(self, menubar: QtWidgets.QMenuBar) -> QtWidgets.QMenu:
        menu = menubar.addMenu("&Client")
        menu.addAction("Choose client…", self.choose)
        menu.addAction("History…", self.show_history)
        menu.addAction("Diary entry…", self.diary_entry)
        self._add_home_loop_actions(menu)
        return menu

    # ------------------------------------------------------------------ clinic <-> home (ui/practice_actions.py)
    def _add_home_loop_actions(self, menu: QtWidgets.QMenu) -> None:
        menu.addSeparator()
        menu.addAction("Home programme…", self.home_programme)
        menu.addAction("Import practice…", self.import_practice)

    def home_programme(self, out: Path | None = None, dialog=None) -> Path | None:
        """Write the chosen client's home programme (``dialog`` lets tests fill it in without a modal loop)."""
        if not self._ensure_client():
            return None
        dialog = dialog or HomeProgrammeDialog(self.client_name, self.window)
        if dialog.result() != QtWidgets.QDialog.Accepted and dialog.exec() != QtWidgets.QDialog.Accepted:
            return None
        written = self._with_library(lambda library: write_home_programme(
            library, self.client, dialog.prescriptions(), dialog.weeks.value(), dialog.note.toPlainText(), out,
            self.window, self.show_error))
        if written is not None:
            self.show_error(f"Home programme for {self.client_name} saved to {written}")
        return written

    def import_practice(self, path: Path | None = None):
        """Import a practice file from home; the history view (if open) shows it at once."""
        result = self._with_library(lambda library: import_practice_file(library, path, self.window, self.show_error))
        if result is not None:
            self.show_error(result.line())
            if self._history is not None:
                try:
                    self._history.refresh()
                except RuntimeError:          # the view was closed meanwhile
                    self._history = None
        return result

    # ------------------------------------------------------------------ actions
    def choose(self) -> None:
        client = self._with_library(lambda library: choose_client(library, self.window))
        if client is not None:
            self.set_client(client)

    def set_client(self, client: Client | None) -> None:
        self.controller.set_client(client)

    def session_filed(self, filed: FiledSession) -> None:
        """After the controller filed a session: the (skippable) diary prompt, unless switched off."""
        if not self.ask_diary:
            return
        self._with_library(lambda library: ask_diary(library, filed.client, filed.session.id, parent=self.window))

    def _ensure_client(self) -> bool:
        """A client is chosen (asking for one if none is); False if the user cancelled."""
        if self.client is None:
            self.choose()
        return self.client is not None

    def show_history(self) -> None:
        if not self._ensure_client():
            return
        try:
            library = self._library()
        except UserError as exc:
            self.show_error(str(exc))
            return
        try:
            view = HistoryView(library, self.client)
        except UserError as exc:
            library.close()
            self.show_error(str(exc))
            return
        view.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        view.destroyed.connect(library.close)
        view.resize(1100, 750)
        view.show()
        self._history = view

    def diary_entry(self) -> None:
        if not self._ensure_client():
            return
        self._with_library(lambda library: ask_diary(library, self.client, parent=self.window))
