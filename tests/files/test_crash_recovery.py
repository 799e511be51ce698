"""Crashes, a full disk and leftovers (issue 10, items 2-5): real SIGKILLs, a real size-limited file system."""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from biofeedback.files.recording import Recording
from tests.helpers import cli_env, run_cli


def _digest(*paths: Path) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else "" for p in paths]


def _popen(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "biofeedback", *map(str, args)], env=cli_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for(predicate, p: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert p.poll() is None, p.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.001)


def _crashed_recording(tmp_path: Path, name: str = "crashed.bfr", seconds: float = 1.5) -> Path:
    """A recording whose process was killed with SIGKILL while recording: data in its -wal."""
    out = tmp_path / name
    p = _popen("record", "--source", "sim:hypertonic?seed=3", "--duration", "60", "--out", out)
    _wait_for(out.exists, p)
    time.sleep(seconds)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert Path(str(out) + "-wal").stat().st_size > 0
    return out


# ---------------------------------------------------------------- item 2: a file under the final name is readable

def test_record_killed_as_soon_as_its_file_appears_leaves_a_readable_recording(tmp_path):
    for k in range(6):
        out = tmp_path / f"early{k}.bfr"
        p = _popen("record", "--source", "sim:healthy", "--duration", "30", "--out", out)
        _wait_for(out.exists, p)
        time.sleep(0.01 * k)
        p.send_signal(signal.SIGKILL)
        p.wait()
        with Recording.open(out) as rec:                 # never "no such table: meta"
            assert rec.info.n_channels >= 1
            assert not rec.closed_cleanly
        assert run_cli("info", out).returncode == 0


def test_record_killed_before_its_file_appears_does_not_block_a_retry(tmp_path):
    out = tmp_path / "retry.bfr"
    for delay in (0.0, 0.3, 0.6):
        p = _popen("record", "--source", "sim:healthy", "--duration", "30", "--out", out)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        if out.exists():
            with Recording.open(out) as rec:
                assert rec.info.n_channels >= 1
            for f in tmp_path.glob("retry.bfr*"):
                f.unlink()
    r = run_cli("record", "--source", "sim:healthy", "--duration", "1", "--speed", "max", "--out", out)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["retry.bfr"]    # leftovers of killed runs are gone


def test_import_killed_midway_appears_whole_or_not_at_all(tmp_path):
    src = tmp_path / "big.csv"
    n = 400_000
    t = np.arange(n) / 1000.0
    np.savetxt(src, np.c_[t, np.sin(t)], delimiter=",", header="time_s,pfm_uV", comments="", fmt="%.6f")
    out = tmp_path / "big.bfr"
    for delay in (0.0, 0.2, 0.5):
        p = _popen("import", src, "--out", out)
        # kill while it writes: as soon as anything of the recording appears (final name or a hidden part)
        _wait_for(lambda: out.exists() or any(tmp_path.glob(".big.bfr*")), p, timeout=120)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        if out.exists():      # whole: every sample, closed cleanly
            with Recording.open(out) as rec:
                assert rec.closed_cleanly and rec.n_samples == n
            out.unlink()
    r = run_cli("import", src, "--out", out)
    assert r.returncode == 0, r.stderr
    with Recording.open(out) as rec:
        assert rec.closed_cleanly and rec.n_samples == n
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bfr", "big.csv"]


# ---------------------------------------------------------------- item 3: a full disk

@pytest.fixture
def small_disk(tmp_path):
    """A real 1.5 MB file system (tmpfs with size=): writes beyond it fail with ENOSPC."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1536k,mode=0700", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs here (needs root and mount rights): {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_disk_full_stop_leaves_one_file_or_says_which_files_belong_together(small_disk, tmp_path):
    out = small_disk / "full.bfr"
    r = run_cli("record", "--source", "sim:hypertonic?seed=1", "--duration", "600", "--speed", "max", "--out", out)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "full" in r.stderr and "Traceback" not in r.stderr
    wal = Path(str(out) + "-wal")
    info = run_cli("info", out)
    assert info.returncode == 0, info.stderr
    if wal.exists() and wal.stat().st_size > 0:          # not self-contained: both messages say so
        assert "full.bfr-wal" in r.stderr and "recover" in r.stderr
        assert "full.bfr-wal" in info.stdout and "recover" in info.stdout
        assert "closed cleanly" not in info.stdout.replace("NOT closed cleanly", "")
        # make room, then fold the WAL in explicitly
        spare = tmp_path / "moved"
        spare.mkdir()
        shutil.copy(out, spare / out.name)
        shutil.copy(wal, spare / wal.name)
        rec_out = run_cli("recover", spare / out.name)
        assert rec_out.returncode == 0, rec_out.stderr
        out = spare / out.name
        assert not Path(str(out) + "-wal").exists()
    alone = tmp_path / "alone"                           # the .bfr alone (copied, mailed) is readable
    alone.mkdir()
    shutil.copy(out, alone / "full.bfr")
    with Recording.open(alone / "full.bfr") as rec:
        data = rec.read()
        assert rec.duration_s > 1.0 and data.shape[0] == rec.n_samples


def test_every_message_about_a_split_file_is_true(tmp_path):
    out = _crashed_recording(tmp_path)
    r = run_cli("info", out)
    assert "NOT closed cleanly" in r.stdout and "crashed.bfr-wal" in r.stdout and "recover" in r.stdout


# ---------------------------------------------------------------- item 4: reading never changes an input

def test_reading_a_crashed_recording_changes_nothing(tmp_path):
    out = _crashed_recording(tmp_path)
    wal = Path(str(out) + "-wal")
    before = _digest(out, wal)
    for args in (("info", out), ("export", out, "--out", tmp_path / "x.csv"),
                 ("export", out, "--out", tmp_path / "x.edf"), ("analyze", out, "--protocol", "glazer")):
        r = run_cli(*args)
        assert "Traceback" not in r.stderr, r.stderr
        assert _digest(out, wal) == before, args
    with Recording.open(out) as rec:
        assert rec.wal_pending and rec.n_samples > 0
    assert _digest(out, wal) == before


def test_recover_folds_the_wal_in_explicitly(tmp_path):
    out = _crashed_recording(tmp_path)
    with Recording.open(out) as rec:
        n = rec.n_samples
        data = rec.read()
    r = run_cli("recover", out)
    assert r.returncode == 0, r.stderr
    assert "recovered" in r.stdout
    assert not Path(str(out) + "-wal").exists()
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(out, alone / out.name)
    with Recording.open(alone / out.name) as rec:
        assert rec.n_samples == n and not rec.closed_cleanly
        np.testing.assert_array_equal(rec.read(), data)
    info = run_cli("info", alone / out.name)
    assert "NOT closed cleanly" in info.stdout and "-wal" not in info.stdout
    again = run_cli("recover", out)
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_recover_refuses_what_is_not_a_recording_in_one_line(tmp_path):
    bad = tmp_path / "x.bfr"
    bad.write_bytes(b"not a recording")
    r = run_cli("recover", bad)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert bad.read_bytes() == b"not a recording"


# ---------------------------------------------------------------- item 5: leftovers of killed exports

def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_leftovers_of_killed_exports_are_removed_and_nothing_else(tmp_path):
    src = tmp_path / "s.bfr"
    r = run_cli("record", "--source", "sim:healthy", "--duration", "2", "--speed", "max", "--out", src)
    assert r.returncode == 0
    dead = _dead_pid()
    stale = tmp_path / f".x.csv.{dead}.0123abcd.part"
    live = tmp_path / f".x.csv.{os.getpid()}.0123abcd.part"      # this test process is alive
    others = [tmp_path / ".x.csv.notours.part", tmp_path / f".y.csv.{dead}.0123abcd.part", tmp_path / "x.csv.part"]
    for f in [stale, live, *others]:
        f.write_text("leftover")
    r = run_cli("export", src, "--out", tmp_path / "x.csv")
    assert r.returncode == 0, r.stderr
    assert not stale.exists()
    assert live.exists() and all(f.exists() for f in others)


def test_a_really_killed_export_is_cleaned_by_the_next_run(tmp_path):
    src = tmp_path / "s.bfr"
    r = run_cli("record", "--source", "sim:healthy", "--duration", "300", "--speed", "max", "--out", src)
    assert r.returncode == 0
    out = tmp_path / "x.csv"
    p = _popen("export", src, "--out", out)
    _wait_for(lambda: any(tmp_path.glob(".x.csv.*.part")), p)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert any(tmp_path.glob(".x.csv.*.part"))
    r = run_cli("export", src, "--out", out)
    assert r.returncode == 0, r.stderr
    assert not any(tmp_path.glob(".x.csv.*"))
