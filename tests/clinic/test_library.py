"""Client library: real SQLite files, permissions, damaged and newer files left untouched."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import sqlite3
import stat
import sys

import pytest

from biofeedback.clinic.library import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    Library,
    LibraryError,
    default_library_path,
    resolve_library_path,
)
from biofeedback.errors import UserError


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_default_path_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("BIOFEEDBACK_LIBRARY", raising=False)
    assert default_library_path() == tmp_path / "data" / "biofeedback" / "library.sqlite"
    assert resolve_library_path(None) == default_library_path()
    monkeypatch.setenv("BIOFEEDBACK_LIBRARY", str(tmp_path / "env.sqlite"))
    assert resolve_library_path(None) == tmp_path / "env.sqlite"
    assert resolve_library_path(tmp_path / "arg.sqlite") == tmp_path / "arg.sqlite"


def test_default_path_macos(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert str(default_library_path()).endswith("Library/Application Support/biofeedback/library.sqlite")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_created_private(tmp_path, monkeypatch):
    """The default place (the user data folder) is created when missing, private to the user."""
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "new" / "deeper"))
    monkeypatch.delenv("BIOFEEDBACK_LIBRARY", raising=False)
    with Library.open() as lib:
        lib.add_client("A")
        path = lib.path
    assert path == tmp_path / "new" / "deeper" / "biofeedback" / "library.sqlite"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_named_library_in_a_missing_folder_creates_no_folder(tmp_path, monkeypatch):
    """--library or BIOFEEDBACK_LIBRARY with a typo in the folder: one line, and no folder appears anywhere."""
    for how in ("argument", "environment"):
        missing = tmp_path / "nonexist" / "x.sqlite"
        if how == "environment":
            monkeypatch.setenv("BIOFEEDBACK_LIBRARY", str(missing))
        with pytest.raises(LibraryError, match=r"folder .*nonexist.* does not exist") as info:
            Library.open(missing if how == "argument" else None)
        assert "\n" not in str(info.value)
        assert not (tmp_path / "nonexist").exists()


def test_schema_version_and_tag(tmp_path):
    path = tmp_path / "lib.sqlite"
    Library.open(path).close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    con.close()


def test_clients_sessions_diary_goals_roundtrip(library_target, tmp_path):
    path = library_target
    with Library.open(path) as lib:
        anna = lib.add_client("Anna K", notes="vestibulodynia", calibration={"mvc_uv": 42.5, "rest_uv": float("nan")},
                              bands={"contraction": [0.4, 0.7], "release": [0, 1.0]})
        with pytest.raises(UserError, match="already a client"):
            lib.add_client("anna k")
        lib.add_session(anna, tmp_path / "b.bfr", "2026-03-10T10:00:00+01:00", "glazer", 330.0,
                        {"resting_tone_uv": 8.0, "release_latency_s": float("nan"), "phases": [{"name": "rest"}]})
        lib.add_session(anna, tmp_path / "a.bfr", "2026-03-03T10:00:00+01:00", "glazer", 320.0,
                        {"resting_tone_uv": 9.5})
        lib.add_diary(anna, "2026-03-05", pain_intercourse=6, mood=2, minutes_practised=15, notes="tired")
        lib.add_goal(anna, "resting_tone_uv", "<", 5, "resting tone under 5 µV")
    with Library.open(path) as lib:
        anna = lib.client("ANNA K")
        assert anna.calibration == {"mvc_uv": 42.5, "rest_uv": None}
        assert anna.bands["contraction"] == [0.4, 0.7]
        sessions = lib.sessions(anna)
        assert [s.recording_path for s in sessions] == [str(tmp_path / "a.bfr"), str(tmp_path / "b.bfr")]
        assert sessions[1].summary["release_latency_s"] is None
        assert sessions[1].summary["phases"] == [{"name": "rest"}]
        assert lib.sessions(anna, start=dt.date(2026, 3, 4)) == sessions[1:]
        (entry,) = lib.diary(anna)
        assert (entry.day, entry.pain_intercourse, entry.mood, entry.notes) == (dt.date(2026, 3, 5), 6, 2, "tired")
        (goal,) = lib.goals(anna)
        assert goal.is_met_by(4.9) and not goal.is_met_by(5.0) and goal.met_on is None
        # adding the same recording again updates it instead of duplicating
        lib.add_session(anna, tmp_path / "a.bfr", "2026-03-03T10:00:00+01:00", "glazer", 320.0, {"resting_tone_uv": 9})
        assert len(lib.sessions(anna)) == 2
        updated = lib.update_client(anna, notes="better", bands={"release": [0, 2]})
        assert updated.notes == "better" and updated.calibration["mvc_uv"] == 42.5


def test_diary_refuses_out_of_range(library_target):
    with Library.open(library_target) as lib:
        c = lib.add_client("B")
        with pytest.raises(UserError, match="between 0 and 10"):
            lib.add_diary(c, "2026-01-01", pain_intercourse=11)
        with pytest.raises(UserError, match="mood must be between 1 and 5"):
            lib.add_diary(c, "2026-01-01", mood=0)
        with pytest.raises(UserError, match="YYYY-MM-DD"):
            lib.add_diary(c, "1st of May", mood=3)
        with pytest.raises(UserError, match="no client called"):
            lib.client("nobody")
        assert lib.diary(c) == []


def test_damaged_library_is_left_untouched(tmp_path):
    path = tmp_path / "lib.sqlite"
    path.write_bytes(os.urandom(4096))
    before = _digest(path)
    with pytest.raises(LibraryError, match="damaged or not a biofeedback library") as info:
        Library.open(path)
    assert "\n" not in str(info.value)
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib.sqlite"]


def test_truncated_library_is_left_untouched(tmp_path):
    path = tmp_path / "lib.sqlite"
    with Library.open(path) as lib:
        c = lib.add_client("C")
        for _ in range(200):
            lib.add_diary(c, "2026-01-01", notes="x" * 200)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    before = _digest(path)
    with pytest.raises(LibraryError):
        Library.open(path)
    assert _digest(path) == before


def test_newer_library_is_left_untouched(tmp_path):
    path = tmp_path / "lib.sqlite"
    with Library.open(path) as lib:
        lib.add_client("D")
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    before = _digest(path)
    with pytest.raises(LibraryError, match="newer version") as info:
        Library.open(path)
    assert "\n" not in str(info.value)
    assert _digest(path) == before


def test_other_programs_database_refused(tmp_path):
    path = tmp_path / "other.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE invoices (id INTEGER)")
    con.commit()
    con.close()
    before = _digest(path)
    with pytest.raises(LibraryError, match="another program"):
        Library.open(path)
    assert _digest(path) == before


def test_missing_library_without_create(tmp_path):
    with pytest.raises(LibraryError, match="no library"):
        Library.open(tmp_path / "none.sqlite", create=False)
    assert not (tmp_path / "none.sqlite").exists()


def test_empty_server_database_without_create_is_left_empty(pg_url):
    import psycopg
    with pytest.raises(LibraryError, match="no library in"):
        Library.open(pg_url, create=False)
    with psycopg.connect(pg_url) as con:
        assert con.execute("SELECT count(*) FROM information_schema.tables "
                           "WHERE table_schema = 'public'").fetchone()[0] == 0


def test_schema_version_on_both_backends(library_target):
    with Library.open(library_target) as lib:
        assert lib.schema_version == SCHEMA_VERSION
        assert lib.backend == ("sqlite" if library_target.endswith(".sqlite") else "postgresql")


def test_version_1_file_is_upgraded_keeping_everything(tmp_path):
    """A library file written by the SQLite-only release (schema 1) opens, gains the new columns, loses nothing."""
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE clients (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            notes TEXT NOT NULL DEFAULT '', calibration TEXT NOT NULL DEFAULT '{}', bands TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL);
        CREATE TABLE sessions (id INTEGER PRIMARY KEY, client_id INTEGER NOT NULL REFERENCES clients(id)
            ON DELETE CASCADE, recording_path TEXT NOT NULL UNIQUE, started_at TEXT NOT NULL,
            protocol TEXT NOT NULL DEFAULT '', duration_s REAL, summary TEXT NOT NULL DEFAULT '{}',
            notes TEXT NOT NULL DEFAULT '');
        CREATE TABLE diary (id INTEGER PRIMARY KEY, client_id INTEGER NOT NULL REFERENCES clients(id)
            ON DELETE CASCADE, day TEXT NOT NULL, pain_intercourse REAL, pain_pelvic REAL, mood INTEGER,
            minutes_practised REAL, notes TEXT NOT NULL DEFAULT '', session_id INTEGER, created_at TEXT NOT NULL);
        CREATE TABLE goals (id INTEGER PRIMARY KEY, client_id INTEGER NOT NULL, metric TEXT NOT NULL,
            comparison TEXT NOT NULL, target REAL NOT NULL, label TEXT NOT NULL DEFAULT '',
            created_on TEXT NOT NULL, met_on TEXT);
        INSERT INTO clients (name, notes, created_at) VALUES ('Old Client', 'since 2025', '2025-01-01T10:00:00');
        INSERT INTO diary (client_id, day, mood, created_at) VALUES (1, '2025-01-02', 4, '2025-01-02T10:00:00');
    """)
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    with Library.open(path) as lib:
        assert lib.schema_version == SCHEMA_VERSION
        old = lib.client("old client")
        assert old.notes == "since 2025" and old.row_version == 1
        assert [e.mood for e in lib.diary(old)] == [4]
        assert lib.update_client(old, notes="moved on").row_version == 2


def test_migration_from_empty_file(tmp_path):
    path = tmp_path / "lib.sqlite"
    path.touch()
    with Library.open(path) as lib:
        assert lib.schema_version == SCHEMA_VERSION
        lib.add_client("E")
