"""Damaged and hostile inputs (issue 10, items 6-10): one line, never wrong units, no live formulas."""
from __future__ import annotations

import csv
import sqlite3
import stat

import numpy as np
import pytest

from biofeedback.files.recording import Recording, RecordingWriter
from biofeedback.stream import Block, Channel, StreamInfo
from tests.helpers import assert_one_line_error, run_cli

RATE = 250.0


def recording(path, seconds=4.0, names=("pfm",)):
    n = int(RATE * seconds)
    data = np.random.default_rng(1).normal(0, 3, (n, len(names)))
    info = StreamInfo(tuple(Channel(name) for name in names), RATE, source="test")
    with RecordingWriter(path, info) as writer:
        writer.append(Block(0, data))
    return path


# ---------------------------------------------------------------- item 6: a chunk of the wrong byte size

@pytest.mark.parametrize("command", [("export", "--out", "x.csv"), ("export", "--out", "x.edf"), ("analyze",),
                                     ("report", "--out", "x.html")])
def test_chunk_of_the_wrong_byte_size_is_one_line(tmp_path, command):
    path = recording(tmp_path / "odd.bfr")
    db = sqlite3.connect(path)
    db.execute("UPDATE chunks SET data = substr(data, 1, length(data) - 3) WHERE start = 0")
    db.commit()
    db.close()
    r = run_cli(command[0], path, *command[1:], cwd=tmp_path)
    assert "damaged" in assert_one_line_error(r)


# ---------------------------------------------------------------- item 7: EDF physical range not a number

def _edf_with_physical_min(tmp_path, value: bytes):
    src = recording(tmp_path / "src.bfr")
    r = run_cli("export", src, "--out", tmp_path / "good.edf")
    assert r.returncode == 0, r.stderr
    raw = bytearray((tmp_path / "good.edf").read_bytes())
    ns = int(raw[252:256])
    off = 256 + ns * (16 + 80 + 8)          # physical minimum of the first signal
    raw[off:off + 8] = value.ljust(8)
    bad = tmp_path / "bad.edf"
    bad.write_bytes(bytes(raw))
    return bad


@pytest.mark.parametrize("value", [b"abc", b"", b"nan"])
def test_edf_physical_minimum_that_is_not_a_number_is_refused_naming_the_field(tmp_path, value):
    bad = _edf_with_physical_min(tmp_path, value)
    r = run_cli("import", bad, "--out", tmp_path / "in.bfr")
    err = assert_one_line_error(r)
    assert "physical minimum" in err
    assert not (tmp_path / "in.bfr").exists()


# ---------------------------------------------------------------- item 8: CSV formula neutralisation

@pytest.mark.parametrize("label", ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_labels_starting_a_formula_are_neutralised_in_csv_exports(tmp_path, label):
    path = tmp_path / "evil.bfr"
    info = StreamInfo((Channel(label),), RATE, source="test")
    with RecordingWriter(path, info) as writer:
        writer.append(Block(0, np.array([[-1.5], [2.0], [-3.0]])))
    for extra in ((), ("--processed",)):
        out = tmp_path / f"evil{len(extra)}.csv"
        r = run_cli("export", path, "--out", out, *extra)
        assert r.returncode == 0, r.stderr
        with open(out, newline="") as fh:
            rows = list(csv.reader(fh))
        assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in rows[0]), rows[0]
        assert any(cell.startswith("'") for cell in rows[0][1:])
        assert [float(c) for c in rows[2][:2]] == [1 / RATE, 2.0]       # numbers stay numbers
        assert float(rows[1][1]) == -1.5 and rows[1][1].startswith("-")


def test_neutralised_cells_are_plain_text_for_any_writer():
    from biofeedback.files.csvio import safe_cell
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("pfm_uV") == "pfm_uV"
    assert safe_cell(-1.5) == -1.5 and safe_cell(3) == 3


# ---------------------------------------------------------------- item 9: channel count limit

def test_csv_with_implausibly_many_channels_is_refused_in_one_line(tmp_path):
    n_ch = 65
    header = ["time_s"] + [f"c{i}_uV" for i in range(n_ch)]
    rows = [[f"{k / RATE:g}"] + ["1"] * n_ch for k in range(3)]
    src = tmp_path / "wide.csv"
    src.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    r = run_cli("import", src, "--out", tmp_path / "wide.bfr")
    assert "64" in assert_one_line_error(r)
    assert not (tmp_path / "wide.bfr").exists()
    ok = tmp_path / "ok.csv"
    ok.write_text("\n".join(",".join(r[:65]) for r in [header, *rows]) + "\n")   # 64 channels: fine
    r = run_cli("import", ok, "--out", tmp_path / "ok.bfr")
    assert r.returncode == 0, r.stderr
    with Recording.open(tmp_path / "ok.bfr") as rec:
        assert rec.info.n_channels == 64


# ---------------------------------------------------------------- item 10 lives in tests/ui/test_app_screenshot.py

def test_exports_are_owner_only(tmp_path):
    path = recording(tmp_path / "a.bfr")
    for out in ("a.csv", "a.edf"):
        assert run_cli("export", path, "--out", tmp_path / out).returncode == 0
        assert stat.S_IMODE((tmp_path / out).stat().st_mode) == 0o600


# ---------------------------------------------------------------- item 12: streaming equals whole-array results

def test_lost_runs_found_block_by_block_equal_those_of_the_whole_column():
    from biofeedback.files.edf import _lost_runs, _LostRuns
    rng = np.random.default_rng(4)
    for _ in range(200):
        col = rng.normal(size=int(rng.integers(1, 60)))
        col[rng.random(col.size) < rng.random()] = np.nan
        block = int(rng.integers(1, 9))
        runs = _LostRuns()
        for s in range(0, col.size, block):
            runs.feed(s, col[s:s + block])
        assert runs.close(col.size) == _lost_runs(col)


def test_block_iterator_and_envelope_helpers_equal_whole_reads(tmp_path):
    from biofeedback.files.recording import envelope_blocks, envelope_of
    from biofeedback.signal.chain import envelope_offline
    path = tmp_path / "holes.bfr"
    info = StreamInfo((Channel("pfm"), Channel("abd")), RATE, source="test")
    data = np.random.default_rng(2).normal(0, 5, (3000, 2))
    with RecordingWriter(path, info, commit_every_s=0.37) as w:
        w.append(Block(0, data[:1000]))
        w.append(Block(1300, data[1300:]))                 # a hole: NaN
    with Recording.open(path) as rec:
        whole = rec.read()
        for size in (1, 7, 256, 1000, 5000):
            blocks = list(rec.iter_blocks(size))
            assert [b.start for b in blocks] == list(range(0, rec.n_samples, size))
            np.testing.assert_array_equal(np.concatenate([b.data for b in blocks]), whole)
        _, env = envelope_offline(whole, rec.info)
        got = np.concatenate([e for _, _, e in envelope_blocks(rec, None, 333)])
        np.testing.assert_allclose(got, env)
        small, rate = envelope_of(rec, None, max_rate=50.0)
        assert rate == RATE / 5 and small.shape[0] == -(-whole.shape[0] // 5)
        np.testing.assert_allclose(small, env[::5], rtol=1e-6, atol=1e-6)
