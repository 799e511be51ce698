"""Report files: never over an existing file or the recording, checked before anything is rendered."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from biofeedback.clinic.library import Library
from biofeedback.errors import UserError
from biofeedback.files.recording import RecordingWriter
from biofeedback.stream import Block, Channel, StreamInfo
from tests.helpers import assert_one_line_error, run_cli


def recording(path, client="Mira"):
    writer = RecordingWriter(path, StreamInfo((Channel("pfm"),), 250.0, source="test"), {"client": client})
    writer.append(Block(0, np.abs(np.random.default_rng(2).normal(0, 3, (2500, 1)))))
    writer.close()
    return path


@pytest.fixture()
def library(tmp_path):
    lib = Library.open(tmp_path / "lib.sqlite")
    c = lib.add_client("Mira")
    lib.add_diary(c, dt.date(2026, 4, 2), pain_intercourse=6)
    yield lib
    lib.close()


def test_session_and_progress_reports_never_replace_a_file(library, tmp_path, qapp):
    from biofeedback.reports import progress_report, session_report
    rec = recording(tmp_path / "h.bfr")
    for suffix in ("pdf", "html"):
        old = tmp_path / f"old.{suffix}"
        old.write_bytes(b"the clinic's own file")
        with pytest.raises(UserError, match="already exists"):
            session_report(rec, old, library)
        with pytest.raises(UserError, match="already exists"):
            progress_report(library, "Mira", old)
        assert old.read_bytes() == b"the clinic's own file"
        out = session_report(rec, tmp_path / f"new.{suffix}", library)
        assert out.stat().st_size > 1000 and (out.stat().st_mode & 0o777) == 0o600
    folder = tmp_path / "dir.pdf"
    folder.mkdir()
    with pytest.raises(UserError, match="is a folder"):
        session_report(rec, folder, library)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".") or p.name.endswith(".part")]
    assert leftovers == []


def test_report_into_an_unwritable_place_is_one_line_without_qt_noise(tmp_path):
    rec = recording(tmp_path / "h.bfr")
    for out in ("/proc/x.pdf", str(tmp_path / "missing" / "x.pdf")):
        err = assert_one_line_error(run_cli("report", rec, "--out", out))
        assert "QPainter" not in err
    before = rec.read_bytes()
    err = assert_one_line_error(run_cli("report", rec, "--out", tmp_path / "h.bfr"))
    assert ".pdf or .html" in err and rec.read_bytes() == before


def test_progress_report_period_and_output_checked_first(library, tmp_path, capsys):
    from biofeedback.cli import main
    path = str(library.path)
    existing = tmp_path / "p.html"
    existing.write_text("keep")
    assert main(["report", "--client", "Mira", "--out", str(existing), "--library", path]) == 2
    assert "already exists" in capsys.readouterr().err and existing.read_text() == "keep"
    assert main(["report", "--client", "Mira", "--from", "2026-05-01", "--to", "2026-04-01",
                 "--out", str(tmp_path / "q.html"), "--library", path]) == 2
    assert "swap them" in capsys.readouterr().err and not (tmp_path / "q.html").exists()
