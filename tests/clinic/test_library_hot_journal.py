"""A library write killed by SIGKILL with SQLite's rollback journal hot recovers itself (issue 10, item 1)."""
from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import textwrap

from tests.helpers import assert_one_line_error, run_cli

_WRITER = textwrap.dedent("""
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("PRAGMA cache_size=1")           # spill changed pages into the file before the commit
    db.execute("BEGIN IMMEDIATE")
    for k in range(400):
        db.execute("INSERT INTO diary (client_id, day, notes, created_at) VALUES (1, '2026-01-01', ?, 'now')",
                   ("x" * 2000 + str(k),))
    print("ready", flush=True)
    time.sleep(60)
""")


def _kill_mid_write(lib):
    p = subprocess.Popen([sys.executable, "-c", _WRITER, str(lib)], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    journal = lib.with_name(lib.name + "-journal")
    assert journal.exists() and journal.stat().st_size > 0, "the journal should be hot"


def test_library_killed_with_a_hot_journal_recovers_and_opens(tmp_path):
    lib = tmp_path / "library.sqlite"
    assert run_cli("clients", "Mira", "--add", "--library", lib).returncode == 0
    r = run_cli("diary", "Mira", "--date", "2026-02-01", "--mood", "4", "--library", lib)
    assert r.returncode == 0, r.stderr
    cols = run_cli("history", "Mira", "--json", "--library", lib)
    assert cols.returncode == 0, cols.stderr
    _kill_mid_write(lib)
    r = run_cli("history", "Mira", "--json", "--library", lib)
    assert r.returncode == 0, r.stderr
    assert r.stdout == cols.stdout                          # the half-done write was rolled back, nothing else
    assert not lib.with_name(lib.name + "-journal").exists() or \
        lib.with_name(lib.name + "-journal").stat().st_size == 0
    r = run_cli("diary", "Mira", "--date", "2026-02-02", "--mood", "5", "--library", lib)
    assert r.returncode == 0, r.stderr
    import sqlite3
    db = sqlite3.connect(lib)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


def test_a_truly_damaged_library_is_still_refused_and_left_byte_identical(tmp_path):
    lib = tmp_path / "library.sqlite"
    assert run_cli("clients", "Mira", "--add", "--library", lib).returncode == 0
    raw = bytearray(lib.read_bytes())
    raw[4096:8192] = b"\xa5" * 4096                          # a page of garbage
    lib.write_bytes(bytes(raw))
    before = hashlib.sha256(lib.read_bytes()).hexdigest()
    r = run_cli("clients", "--library", lib)
    assert "damaged" in assert_one_line_error(r)
    assert hashlib.sha256(lib.read_bytes()).hexdigest() == before


def test_a_journal_of_a_live_write_is_not_taken_for_damage(tmp_path):
    """While another process is in the middle of a write, its journal is there but not hot: opening the
    library then waits for it (SQLite's lock) and never calls the library damaged."""
    from biofeedback.clinic.library import Library
    lib = tmp_path / "lib.sqlite"
    with Library.open(lib) as setup:
        setup.add_client("Anna")
    writer = _WRITER.replace("time.sleep(60)", "time.sleep(1.5)\ndb.execute('COMMIT')")
    p = subprocess.Popen([sys.executable, "-c", writer, str(lib)], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        journal = lib.with_name(lib.name + "-journal")
        assert journal.exists() and journal.stat().st_size > 0     # a live, not a hot, journal
        with Library.open(lib) as other:                            # another room opens meanwhile
            assert other.client("Anna").name == "Anna"
    finally:
        assert p.wait(timeout=60) == 0
    with Library.open(lib) as after:
        assert len(after.diary(after.client("Anna"))) == 400       # the other process's write is whole
