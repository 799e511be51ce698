"""EDF/BDF export and import never lose a file and speak in one line: existing files, truncated and odd inputs."""
from __future__ import annotations

import re
import warnings

import edfio
import numpy as np
import pytest

from biofeedback.cli import main
from biofeedback.errors import RecordingError, UserError
from biofeedback.files.edf import export_edf, import_edf
from biofeedback.files.recording import Recording, RecordingWriter
from biofeedback.stream import Block, Channel, Event, StreamInfo
from tests.helpers import assert_one_line_error, run_cli

RATE = 250.0


def recording(path, seconds=20, client="Mira"):
    n = int(RATE * seconds)
    t = np.arange(n) / RATE
    data = np.c_[np.random.default_rng(1).normal(0, 3, n) * (1 + 5 * ((t > 5) & (t < 8)))]
    writer = RecordingWriter(path, StreamInfo((Channel("pfm"),), RATE, source="test"), {"client": client})
    writer.append(Block(0, data))
    writer.add_event(Event(5.0, "marker", "squeeze"))
    writer.close()
    return path


def tree(folder):
    return sorted(p.name for p in folder.iterdir())


def test_export_never_replaces_a_file_or_its_own_recording(tmp_path):
    src = recording(tmp_path / "plain.bfr")
    victim = recording(tmp_path / "victim.bfr", seconds=3)
    before = {p: p.read_bytes() for p in (src, victim)}
    for out, fmt, message in ((victim, "edf", "already exists"), (src, "edf", "is the file being read"),
                              (tmp_path / "x.bfr", "edf", r"must end in \.edf"),
                              (tmp_path / "x.edf", "bdf", r"must end in \.bdf"),
                              (tmp_path / "no" / "x.edf", "edf", "does not exist"),
                              (tmp_path, "edf", "is a folder")):
        with pytest.raises(UserError, match=message):
            export_edf(src, out, fmt=fmt)
    assert {p: p.read_bytes() for p in before} == before
    assert tree(tmp_path) == ["plain.bfr", "victim.bfr"]            # no half-written or temporary files
    out = export_edf(src, tmp_path / "plain.edf")
    assert edfio.read_edf(out).num_data_records == 20 and (out.stat().st_mode & 0o777) == 0o600
    with pytest.raises(UserError, match="already exists"):
        export_edf(src, tmp_path / "plain.edf")


def test_export_cli_over_a_recording_is_one_line_and_keeps_it(tmp_path):
    src = recording(tmp_path / "plain.bfr")
    victim = recording(tmp_path / "victim.bfr", seconds=3)
    kept = victim.read_bytes(), src.read_bytes()
    err = assert_one_line_error(run_cli("export", src, "--format", "edf", "--out", victim))
    assert "victim.bfr already exists" in err
    err = assert_one_line_error(run_cli("export", src, "--format", "bdf", "--out", src))
    assert "being read" in err
    assert (victim.read_bytes(), src.read_bytes()) == kept


def truncated_copy(tmp_path, keep_records: float):
    """An export of a 20-record file, cut after ``keep_records`` data records (as by an interrupted copy)."""
    full = export_edf(recording(tmp_path / "s.bfr"), tmp_path / "full.edf")
    raw = full.read_bytes()
    header = int(raw[184:192])
    per_record = (len(raw) - header) // 20
    cut = tmp_path / "trunc.edf"
    cut.write_bytes(raw[:header + int(keep_records * per_record)])
    return cut


def test_truncated_edf_imports_what_is_complete_with_one_warning_line(tmp_path):
    cut = truncated_copy(tmp_path, 13.4)
    out = tmp_path / "t.bfr"
    r = run_cli("import", cut, "--out", out)
    assert r.returncode == 0, r.stderr
    assert r.stderr == f"biofeedback: warning: {cut} is truncated: imported 13 of 20 records (13 s)\n"
    assert "imported" in r.stdout
    with Recording.open(out) as rec:
        assert rec.n_samples == 13 * RATE
        assert rec.meta["truncated"] == {"records": 13, "of": 20}
        assert [e.label for e in rec.events if e.kind == "marker"] == ["squeeze"]


def test_edf_without_one_complete_record_is_refused_in_one_line(tmp_path):
    cut = truncated_copy(tmp_path, 0.5)
    out = tmp_path / "t.bfr"
    err = assert_one_line_error(run_cli("import", cut, "--out", out))
    assert "is truncated: it holds no complete data record (of 20)" in err and "EDF+D" not in err
    assert not out.exists() and tree(tmp_path) == ["full.edf", "s.bfr", "trunc.edf"]


def test_library_warnings_go_to_warn_never_to_python_warnings(tmp_path):
    (tmp_path / "sub").mkdir()
    cut = truncated_copy(tmp_path, 7)
    lines: list[str] = []
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        import_edf(cut, tmp_path / "a.bfr", warn=lines.append)
        import_edf(cut, tmp_path / "b.bfr")                     # no warn function: still nothing raw
    assert escaped == []
    assert lines == [f"{cut} is truncated: imported 7 of 20 records (7 s)"]
    # a header that does not say how many records follow (-1, as while recording): still told, once
    raw = bytearray(truncated_copy(tmp_path / "sub", 7.5).read_bytes())
    raw[236:244] = b"-1".ljust(8)
    unknown = tmp_path / "unknown.edf"
    unknown.write_bytes(bytes(raw))
    lines.clear()
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        out = import_edf(unknown, tmp_path / "c.bfr", warn=lines.append)
    assert escaped == [] and len(lines) == 1
    assert lines[0] == f"{unknown} is truncated: imported its 7 complete records (7 s); the last one was cut off"
    with Recording.open(out) as rec:
        assert rec.n_samples == 7 * RATE


def test_import_says_what_is_wrong_with_the_input(tmp_path, capsys):
    rec = recording(tmp_path / "h.bfr", seconds=2)
    (tmp_path / "d.edf").mkdir()
    (tmp_path / "notes.txt").write_text("time_s,pfm_uV\n0,1\n")
    (tmp_path / "h.sqlite.csv").write_bytes(rec.read_bytes())        # a recording under a CSV name
    cases = {"d.edf": "d.edf is a folder, not a file; give a .csv, .edf or .bdf file",
             "h.bfr": "h.bfr is already a recording; nothing to import",
             "h.sqlite.csv": "is already a recording",
             "notes.txt": "unsupported file type '.txt'; import reads .csv, .edf or .bdf files",
             "missing.edf": "no such file"}
    for name, message in cases.items():
        assert main(["import", str(tmp_path / name), "--out", str(tmp_path / "out.bfr")]) == 2, name
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err and "codec" not in err, err
    assert not (tmp_path / "out.bfr").exists()
    with pytest.raises(RecordingError, match="is a folder"):
        import_edf(tmp_path / "d.edf", tmp_path / "out.bfr")


def test_import_never_writes_over_a_file(tmp_path, capsys):
    full = export_edf(recording(tmp_path / "s.bfr"), tmp_path / "s.edf")
    other = recording(tmp_path / "other.bfr", seconds=2)
    kept = other.read_bytes()
    assert main(["import", str(full), "--out", str(other)]) == 2
    assert "already exists" in capsys.readouterr().err and other.read_bytes() == kept
    with pytest.raises(UserError, match="being read"):
        import_edf(full, full)
    # an EDF file under another name is still recognised by its header
    renamed = tmp_path / "from-device.dat"
    renamed.write_bytes(full.read_bytes())
    assert main(["import", str(renamed), "--out", str(tmp_path / "n.bfr")]) == 0
    assert re.search(r"imported .*from-device.dat", capsys.readouterr().out)
