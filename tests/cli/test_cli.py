import numpy as np
import pytest

from biofeedback.cli import main
from biofeedback.files.recording import Recording
from biofeedback.sources.patient import PROFILES
from tests.helpers import assert_one_line_error, run_cli


def test_record_hypertonic_then_export_processed_csv(tmp_path):
    """Acceptance: 60 s of samples whose envelope sits in the profile's resting range."""
    r = run_cli("record", "--source", "sim:hypertonic", "--duration", "60", "--speed", "max", "--out", "a",
                cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("recorded 60.0 s from sim:hypertonic")
    r = run_cli("export", "a", "--format", "csv", "--processed", "--out", "a.csv", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = (tmp_path / "a.csv").read_text().splitlines()
    assert lines[0] == "time_s,pfm_uV,pfm_envelope_uV"
    table = np.loadtxt(tmp_path / "a.csv", delimiter=",", skiprows=1)
    assert table.shape == (120000, 3)
    assert table[-1, 0] == pytest.approx(59.9995)
    env = table[2000:, 2]  # after the first second
    assert 8.0 <= np.median(env) <= 15.0
    assert np.percentile(env, 5) > 5.0 and np.percentile(env, 95) < 20.0
    assert PROFILES["hypertonic"].rest_uv == pytest.approx(11.0)


def test_csv_export_and_import_round_trip(tmp_path):
    assert main(["record", "--source", "sim:weak?seed=2&rate=1000&abd=1&pressure=1", "--duration", "5",
                 "--speed", "max", "--out", str(tmp_path / "s.bfr")]) == 0
    assert main(["export", str(tmp_path / "s.bfr"), "--format", "csv", "--out", str(tmp_path / "s.csv")]) == 0
    header = (tmp_path / "s.csv").read_text().splitlines()[0]
    assert header == "time_s,pfm_uV,abd_uV,pressure_cmH2O"
    assert main(["import", str(tmp_path / "s.csv"), "--out", str(tmp_path / "back.bfr")]) == 0
    with Recording.open(tmp_path / "s.bfr") as a, Recording.open(tmp_path / "back.bfr") as b:
        assert b.info.rate == a.info.rate and b.info.channels == a.info.channels
        np.testing.assert_allclose(b.read(), a.read(), rtol=1e-6, atol=1e-6)
    assert main(["export", str(tmp_path / "back.bfr"), "--format", "csv", "--out", str(tmp_path / "again.csv")]) == 0
    assert (tmp_path / "again.csv").read_text() == (tmp_path / "s.csv").read_text()


def test_info_describes_a_recording(tmp_path):
    assert main(["clients", "Jane", "--add"]) == 0
    main(["record", "--source", "sim:healthy?seed=1", "--duration", "2", "--speed", "max",
          "--out", str(tmp_path / "i.bfr"), "--client", "Jane"])
    r = run_cli("info", tmp_path / "i.bfr")
    assert r.returncode == 0
    assert "2.0 s (4000 samples at 2000 Hz)" in r.stdout and "closed cleanly" in r.stdout and "Jane" in r.stdout


@pytest.mark.parametrize("args,needle", [
    (["info", "missing.bfr"], "no such recording"),
    (["info", "garbage.bfr"], "not a biofeedback recording"),
    (["export", "garbage.bfr", "--out", "x.csv"], "not a biofeedback recording"),
    (["record", "--source", "telepathy", "--duration", "1", "--out", "n.bfr"], "unknown source kind"),
    (["record", "--source", "sim:athletic", "--duration", "1", "--out", "n.bfr"], "unknown simulated patient"),
    (["record", "--source", "sim?seed=x", "--duration", "1", "--out", "n.bfr"], "seed must be a whole number"),
    (["record", "--source", "sim?colour=red", "--duration", "1", "--out", "n.bfr"], "unknown option"),
    (["record", "--source", "sim?seed=-1", "--duration", "1", "--out", "n.bfr"], "seed must be 0 or more"),
    (["record", "--duration", "inf", "--out", "n.bfr"], "positive"),
    (["record", "--duration", "1e308", "--out", "n.bfr"], "24 hours"),
    (["record", "--duration", "0.0001", "--out", "n.bfr"], "between 0.1 s"),
    (["record", "--duration", "1", "--out", ""], "empty"),
    (["record", "--duration", "1", "--client", "Nobdy", "--out", "n.bfr"], "no client called 'Nobdy'"),
    (["record", "--duration", "-3", "--out", "n.bfr"], "positive"),
    (["record", "--duration", "1", "--speed", "fast", "--out", "n.bfr"], "--speed"),
    (["record", "--duration", "1", "--out", "exists.bfr"], "already exists"),
    (["record", "--duration", "1", "--out", "no/such/folder/x.bfr"], "does not exist"),
    (["record", "--source", "replay:missing.bfr", "--duration", "1", "--out", "n.bfr"], "no such recording"),
    (["import", "missing.csv", "--out", "n.bfr"], "no such file"),
    (["import", "bad.csv", "--out", "n.bfr"], "first column must be time_s"),
    (["export", "missing.bfr", "--format", "xls", "--out", "x"], "invalid choice"),
    (["frobnicate"], "invalid choice"),
])
def test_user_errors_are_one_clear_line_with_status_2(tmp_path, args, needle):
    (tmp_path / "garbage.bfr").write_bytes(b"\x00garbage" * 100)
    (tmp_path / "exists.bfr").write_bytes(b"keep me")
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    r = run_cli(*args, cwd=tmp_path)
    err = assert_one_line_error(r)
    assert needle in err
    assert (tmp_path / "exists.bfr").read_bytes() == b"keep me"
    assert not (tmp_path / "n.bfr").exists()


def test_bench_quick_reports_the_figures(tmp_path):
    r = run_cli("bench", "--quick", "--json", timeout=300)
    assert r.returncode == 0, r.stderr
    import json
    figures = json.loads(r.stdout)
    for key in ("live_chain_core_pct", "offline_1h_s", "load_1h_s"):
        assert figures[key] > 0


def test_export_never_overwrites_and_never_replaces_its_input(tmp_path):
    out = str(tmp_path / "h.bfr")
    assert main(["record", "--source", "sim", "--duration", "1", "--speed", "max", "--out", out]) == 0
    before = (tmp_path / "h.bfr").read_bytes()
    (tmp_path / "other.bfr").write_bytes(b"another recording")
    for out in ("h.bfr", "other.bfr"):
        r = run_cli("export", "h.bfr", "--format", "csv", "--out", out, cwd=tmp_path)
        assert_one_line_error(r)
    assert (tmp_path / "h.bfr").read_bytes() == before
    assert (tmp_path / "other.bfr").read_bytes() == b"another recording"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.bfr", "other.bfr"]


def test_csv_import_takes_spreadsheet_files_and_marks_bad_cells_as_lost(tmp_path):
    rows = ["time_s,pfm_uV"] + [f"{i / 100:.2f},{'inf' if i == 50 else ('' if i == 60 else i % 7)}" for i in range(200)]
    (tmp_path / "x.csv").write_text("\ufeff" + "\n".join(rows) + "\n", encoding="utf-8")
    r = run_cli("import", "x.csv", "--out", "x.bfr", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    with Recording.open(tmp_path / "x.bfr") as rec:
        data = rec.read()[:, 0]
    assert rec.info.rate == 100.0 and data.shape == (200,)
    assert np.isnan(data[50]) and np.isnan(data[60]) and np.isfinite(np.delete(data, [50, 60])).all()
    (tmp_path / "semi.csv").write_text("time_s;pfm_uV\n0;1\n")
    assert "';'" in assert_one_line_error(run_cli("import", "semi.csv", "--out", "s.bfr", cwd=tmp_path))
    (tmp_path / "zero.csv").write_text("time_s,pfm_uV\n0,1\n0,2\n0,3\n")
    assert "equal steps" in assert_one_line_error(run_cli("import", "zero.csv", "--out", "z.bfr", cwd=tmp_path))
    (tmp_path / "hdr.csv").write_text("time_s,pfm_uV\n")
    assert "fewer than two" in assert_one_line_error(run_cli("import", "hdr.csv", "--out", "h.bfr", cwd=tmp_path))
