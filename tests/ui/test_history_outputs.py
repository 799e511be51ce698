"""The history window's exports and reports keep existing files, and new sessions go only to known clients."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6 import QtWidgets

from biofeedback.clinic.filing import register_recording
from biofeedback.clinic.library import Library
from biofeedback.errors import UserError
from biofeedback.files.recording import RecordingWriter
from biofeedback.stream import Block, Channel, StreamInfo
from biofeedback.ui.history import HistoryView


def recording(path, client="Mira"):
    writer = RecordingWriter(path, StreamInfo((Channel("pfm"),), 250.0, source="test"), {"client": client})
    writer.append(Block(0, np.abs(np.random.default_rng(2).normal(0, 3, (2500, 1)))))
    writer.close()
    return path


@pytest.fixture()
def library(tmp_path):
    lib = Library.open(tmp_path / "lib.sqlite")
    lib.add_client("Mira")
    register_recording(lib, recording(tmp_path / "s.bfr"))
    yield lib
    lib.close()


def test_export_adds_the_ending_and_never_replaces_a_file(qtbot, library, tmp_path, monkeypatch):
    view = HistoryView(library, "Mira")
    qtbot.addWidget(view)
    view.table.selectRow(0)
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "for-doctor"), "BDF+, 24 bit (*.bdf)"))
    monkeypatch.setattr(QtWidgets.QMessageBox, "question", lambda *a, **k: QtWidgets.QMessageBox.No)
    shown = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a: shown.append(a[2]))
    view._export()
    out = tmp_path / "for-doctor.bdf"
    assert out.read_bytes()[:8] == b"\xffBIOSEMI" and shown == []
    before = out.read_bytes()
    view._export()                                   # the same name again: a message, the file stays
    assert len(shown) == 1 and "already exists" in shown[0] and out.read_bytes() == before


def test_session_report_over_an_existing_file_is_refused(qtbot, library, tmp_path, monkeypatch):
    view = HistoryView(library, "Mira")
    qtbot.addWidget(view)
    view.table.selectRow(0)
    existing = tmp_path / "old.pdf"
    existing.write_bytes(b"keep")
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(existing), "PDF (*.pdf)"))
    shown = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a: shown.append(a[2]))
    view._session_report()
    assert existing.read_bytes() == b"keep" and "already exists" in shown[0]


def test_finish_session_files_only_under_a_known_client(qtbot, library, tmp_path):
    from biofeedback.ui.diary import finish_session
    stray = recording(tmp_path / "stray.bfr", client="Mria")
    with pytest.raises(UserError, match="did you mean 'Mira'"):
        finish_session(library, str(stray), ask=False)
    assert [c.name for c in library.clients()] == ["Mira"] and library.session_for_recording(stray) is None
    known = recording(tmp_path / "known.bfr", client="mira")
    finish_session(library, str(known), ask=False)
    assert library.session_for_recording(known).client_id == library.client("Mira").id
