"""The window's link to the client library: choose a client, history, diary, and filing recordings.

Everything here is optional: the menu appears only when the library's window
modules (``biofeedback.ui.clients``, ``ui.history``, ``ui.diary``) are installed.
"""
from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from biofeedback.errors import UserError
from biofeedback.signal.calibration import Bands, Calibration


def _available(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


class ClientLink(QtCore.QObject):
    """Holds the current client and the library file; emits :attr:`clientChanged` on a new choice."""

    clientChanged = QtCore.Signal(object)          # Client | None

    def __init__(self, parent: QtWidgets.QWidget, library_path: str | Path | None = None,
                 show_error: Callable[[str], None] | None = None) -> None:
        super().__init__(parent)
        self.window = parent
        self.library_path = library_path
        self.client = None
        self.ask_diary = True                      # after a recording (tests switch the modal prompt off)
        self.show_error = show_error or (lambda text: None)
        self._history = None

    @staticmethod
    def available() -> bool:
        return _available("biofeedback.clinic.library") and _available("biofeedback.ui.clients")

    def _library(self):
        from biofeedback.clinic.library import Library
        return Library.open(self.library_path)

    def add_menu(self, menubar: QtWidgets.QMenuBar) -> QtWidgets.QMenu | None:
        if not self.available():
            return None
        menu = menubar.addMenu("&Client")
        menu.addAction("Choose client…", self.choose)
        if _available("biofeedback.ui.history"):
            menu.addAction("History…", self.show_history)
        if _available("biofeedback.ui.diary"):
            menu.addAction("Diary entry…", self.diary_entry)
        return menu

    # ------------------------------------------------------------------ actions
    def choose(self) -> None:
        from biofeedback.ui.clients import choose_client
        try:
            library = self._library()
        except UserError as exc:
            self.show_error(str(exc))
            return
        try:
            client = choose_client(library, self.window)
        finally:
            library.close()
        if client is not None:
            self.set_client(client)

    def set_client(self, client) -> None:
        self.client = client
        self.clientChanged.emit(client)

    @property
    def client_name(self) -> str:
        return getattr(self.client, "name", "") or ""

    def stored_bands(self) -> Bands | None:
        """The bands saved with the current client, if any."""
        data = getattr(self.client, "bands", None) or {}
        try:
            return Bands.from_dict(data) if data else None
        except (KeyError, TypeError, ValueError):
            return None

    def stored_calibration(self) -> Calibration | None:
        data = getattr(self.client, "calibration", None) or {}
        try:
            return Calibration.from_dict(data) if data else None
        except (KeyError, TypeError, ValueError):
            return None

    def save(self, calibration: Calibration | None = None, bands: Bands | None = None) -> None:
        """Keep calibration and bands with the client for the next session."""
        if self.client is None:
            return
        try:
            library = self._library()
            try:
                self.client = library.update_client(
                    self.client, calibration=None if calibration is None else calibration.to_dict(),
                    bands=None if bands is None else bands.to_dict())
            finally:
                library.close()
        except UserError as exc:
            self.show_error(str(exc))

    def recording_finished(self, path: Path) -> None:
        """File the recording under the client and offer the (skippable) diary prompt."""
        if self.client is None or not _available("biofeedback.ui.diary"):
            return
        from biofeedback.ui.diary import finish_session
        try:
            library = self._library()
            try:
                finish_session(library, str(path), self.window, ask=self.ask_diary)
            finally:
                library.close()
        except UserError as exc:
            self.show_error(str(exc))

    def _ensure_client(self) -> bool:
        """A client is chosen (asking for one if none is); False if the user cancelled."""
        if self.client is None:
            self.choose()
        return self.client is not None

    def show_history(self) -> None:
        if not self._ensure_client():
            return
        from biofeedback.ui.history import HistoryView
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
        from biofeedback.ui.diary import ask_diary
        try:
            library = self._library()
            try:
                ask_diary(library, self.client, parent=self.window)
            finally:
                library.close()
        except UserError as exc:
            self.show_error(str(exc))
