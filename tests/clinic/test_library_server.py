"""A clinic's library on a real PostgreSQL server: several rooms, uploads, a stopped server, migration, bad input."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from biofeedback.cli import main
from biofeedback.clinic.library import SCHEMA_VERSION, ConflictError, Library
from biofeedback.clinic.sync import UploadQueue, fetch_recording, local_digest, stored_digest
from biofeedback.files.recording import Recording, RecordingWriter
from biofeedback.stream import Block, Channel, Event, StreamInfo
from tests.helpers import assert_one_line_error, cli_env, run_cli
from tests.library_fixtures import create_database, drop_database, with_database

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "tests" / "pg_cluster.sh"


def make_recording(path: Path, client: str = "Anna", seconds: float = 3.0, seed: int = 0) -> Path:
    info = StreamInfo((Channel("pfm"), Channel("abd")), 500.0, source="test")
    rng = np.random.default_rng(seed)
    with RecordingWriter(path, info, {"client": client}) as writer:
        n = int(seconds * 500)
        for start in range(0, n, 500):
            writer.append(Block(start, rng.normal(0, 5, (min(500, n - start), 2))))
        writer.add_event(Event(1.0, "cue", "squeeze", {"step": 1}))
    return path


def same_recording(a: Path, b: Path) -> None:
    """Sample for sample (NaN where lost counts as equal), events and meta."""
    with Recording.open(a) as ra, Recording.open(b) as rb:
        assert ra.n_samples == rb.n_samples
        assert np.array_equal(ra.read(), rb.read(), equal_nan=True)
        assert ra.events == rb.events
        assert ra.meta == rb.meta


def snapshot(url: str) -> dict:
    """Every table of the database with its rows: to prove that a refused command changed nothing."""
    import psycopg
    with psycopg.connect(url) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = 'public' ORDER BY 1")]
        return {t: sorted(map(repr, con.execute(f'SELECT * FROM "{t}"').fetchall())) for t in tables}


# --------------------------------------------------------------------------- uploads and fetching

def test_filing_uploads_verified_and_another_room_fetches_it(pg_url, tmp_path, monkeypatch):
    rec = make_recording(tmp_path / "s1.bfr")
    with Library.open(pg_url) as lib:
        from biofeedback.clinic.filing import register_recording
        anna = lib.add_client("Anna")
        session = register_recording(lib, rec)
        assert stored_digest(lib, session.id) == local_digest(rec)
        assert UploadQueue().pending() == []
    # another room: the file is not on this computer; it is fetched into this room's cache and verified
    monkeypatch.setenv("BIOFEEDBACK_CACHE", str(tmp_path / "room2-cache"))
    moved = tmp_path / "elsewhere.bfr"
    rec.rename(moved)
    with Library.open(pg_url) as lib:
        (session,) = lib.sessions(anna)
        local = lib.recording_file(session)
        assert local.parent == tmp_path / "room2-cache" / "recordings"
        same_recording(local, moved)
        assert fetch_recording(lib, session) == local            # the second time it comes from the cache


def test_refiling_the_same_recording_uploads_nothing_twice(pg_url, tmp_path):
    import psycopg

    from biofeedback.clinic.filing import register_recording
    rec = make_recording(tmp_path / "s.bfr")
    with Library.open(pg_url) as lib:
        lib.add_client("Anna")
        register_recording(lib, rec)
        register_recording(lib, rec)
    with psycopg.connect(pg_url) as con:
        assert con.execute("SELECT count(*) FROM recordings").fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM recording_chunks").fetchone()[0] == 3


def test_session_recorded_while_the_server_is_stopped_is_synced_afterwards(pg_server, tmp_path):
    """Really stop the server (its own cluster), record, see it queued, restart, sync, compare sample for sample."""
    # not under tmp_path: the server may run as another user (postgres, when the tests run as root), who must
    # be able to reach its folder
    folder = Path(tempfile.mkdtemp(prefix="bf-pg-stop-"))
    started = subprocess.run(["bash", str(CLUSTER), "start", str(folder)], capture_output=True, text=True,
                             timeout=120)
    assert started.returncode == 0, started.stderr
    admin = started.stdout.strip()
    try:
        name = create_database(admin)
        target = with_database(admin, name)
        assert run_cli("clients", "Anna", "--add", "--library", target).returncode == 0
        subprocess.run(["bash", str(CLUSTER), "stop", str(folder)], check=True, timeout=120)

        out = tmp_path / "while-down.bfr"
        r = run_cli("record", "--source", "sim", "--duration", "4", "--speed", "max", "--out", out,
                    "--client", "Anna", "--library", target)
        assert r.returncode == 0, r.stderr
        assert "will be filed in Anna's history when the library server is back" in r.stdout
        assert out.exists()
        status = run_cli("library", "status", "--library", target)
        assert "pending uploads: 1" in status.stdout, status.stdout       # the queue, then the one line, exit 2
        assert "cannot reach the library server" in assert_one_line_error(status)

        restarted = subprocess.run(["bash", str(CLUSTER), "start", str(folder)], capture_output=True, text=True,
                                   timeout=120)
        assert restarted.returncode == 0, restarted.stderr
        r = run_cli("library", "sync", "--library", target)
        assert r.returncode == 0, r.stderr
        assert "stored 1 recording" in r.stdout and "0 still waiting" in r.stdout
        status = run_cli("library", "status", "--library", target)
        assert "pending uploads: 0" in status.stdout and "recordings stored on the server: 1" in status.stdout

        with Library.open(target) as lib:
            session = lib.session_for_recording(out)
            assert session is not None and lib.client_by_id(session.client_id).name == "Anna"
            server_copy = fetch_recording(lib, session)
        same_recording(server_copy, out)
    finally:
        subprocess.run(["bash", str(CLUSTER), "stop", str(folder)], timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- several rooms

_DIARY_WRITER = """
import sys, time
from pathlib import Path
from biofeedback.clinic.library import Library
target, room, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
with Library.open(target) as lib:
    client = lib.client("Anna")
    while not go.exists():
        time.sleep(0.001)
    for i in range(200):
        lib.add_diary(client, "2026-03-01", mood=1 + i % 5, notes=f"{room} {i}")
"""


def test_two_rooms_adding_200_diary_entries_each_lose_nothing(library_target, tmp_path):
    with Library.open(library_target) as lib:
        lib.add_client("Anna")
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _DIARY_WRITER, library_target, room, str(go)], env=cli_env(),
                              stderr=subprocess.PIPE, text=True) for room in ("room1", "room2")]
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
    with Library.open(library_target) as lib:
        entries = lib.diary(lib.client("Anna"))
    assert len(entries) == 400
    assert {e.notes for e in entries} == {f"room{r} {i}" for r in (1, 2) for i in range(200)}


def test_concurrent_band_edits_are_reported_as_a_conflict(library_target, monkeypatch):
    with Library.open(library_target) as setup:
        setup.add_client("Anna", bands={"release": [0, 1.0]})
    monkeypatch.setenv("BIOFEEDBACK_THERAPIST", "Maria (room 1)")
    room1 = Library.open(library_target)
    monkeypatch.setenv("BIOFEEDBACK_THERAPIST", "Jo (room 2)")
    room2 = Library.open(library_target)
    try:
        seen1, seen2 = room1.client("Anna"), room2.client("Anna")
        saved = room1.update_client(seen1, bands={"release": [0, 2.0]})
        assert saved.changed_by == "Maria (room 1)" and saved.changed_at
        with pytest.raises(ConflictError, match=r"changed in the meantime by Maria \(room 1\)") as info:
            room2.update_client(seen2, bands={"release": [0, 3.0]})
        assert "\n" not in str(info.value)
        assert room2.client("Anna").bands == {"release": [0, 2.0]}       # room 1's edit is kept, not overwritten
        with pytest.raises(ConflictError):
            room2.update_client(seen2, notes="stale notes")
        fresh = room2.client("Anna")
        assert room2.update_client(fresh, notes="after reopening").notes == "after reopening"
        assert room2.client("Anna").changed_by == "Jo (room 2)"
    finally:
        room1.close()
        room2.close()


def test_changes_record_the_database_role_without_a_therapist_name(pg_url):
    with Library.open(pg_url) as lib:
        c = lib.add_client("Bo")
        assert c.changed_by == urlsplit(pg_url).username == lib.who


# --------------------------------------------------------------------------- migrating a clinic

def test_migrate_three_clients_twenty_sessions_diary_complete_verified_idempotent(pg_url, tmp_path, capsys):
    source = tmp_path / "old.sqlite"
    with Library.open(source) as lib:
        from biofeedback.clinic.filing import register_recording
        for c, name in enumerate(("Anna", "Bo", "Cleo")):
            client = lib.add_client(name, notes=f"notes {name}", bands={"release": [0, c + 1]})
            lib.add_goal(client, "resting_tone_uv", "<", 5.0, "rest under 5")
            for d in range(4):
                lib.add_diary(client, f"2026-02-0{d + 1}", mood=d + 1, notes=f"{name} day {d}")
        for i in range(20):
            name = ("Anna", "Bo", "Cleo")[i % 3]
            register_recording(lib, make_recording(tmp_path / f"s{i:02d}.bfr", name, 2.0, seed=i))
    assert main(["library", "migrate", "--to", pg_url, "--library", str(source)]) == 0
    out = capsys.readouterr().out
    assert "3 clients, 20 sessions, 20 recordings, 12 diary entries, 3 goals" in out
    assert "20 recording checksums equal" in out
    with Library.open(pg_url) as new, Library.open(source) as old:
        for client in old.clients():
            there = new.client(client.name)
            assert (there.notes, there.bands) == (client.notes, client.bands)
            assert [(s.recording_path, s.started_at, s.summary) for s in new.sessions(there)] == \
                   [(s.recording_path, s.started_at, s.summary) for s in old.sessions(client)]
            assert [(e.day, e.mood, e.notes) for e in new.diary(there)] == \
                   [(e.day, e.mood, e.notes) for e in old.diary(client)]
            assert len(new.goals(there)) == 1
            for s in new.sessions(there):
                assert stored_digest(new, s.id) == local_digest(s.recording_path)
    before = snapshot(pg_url)
    assert main(["library", "migrate", "--to", pg_url, "--library", str(source)]) == 0
    out = capsys.readouterr().out
    assert "0 clients, 0 sessions, 0 recordings, 0 diary entries, 0 goals" in out
    assert "already there before: 3 clients, 20 sessions, 20 recordings, 12 diary entries, 3 goals" in out
    after = snapshot(pg_url)
    assert {t: len(rows) for t, rows in after.items()} == {t: len(rows) for t, rows in before.items()}


def test_migrate_keeps_her_release_target_steps(pg_url, tmp_path, capsys):
    """Her shaping history (and with it the target ``target`` shows and shaping steps down from) moves too."""
    source = tmp_path / "old.sqlite"
    with Library.open(source) as lib:
        ana = lib.add_client("Ana", bands={"release_high": 5.4})
        lib.add_target_step(ana, 6.0, day="2026-03-01", rule="below_rest")
        lib.add_target_step(ana, 5.4, day="2026-03-09", rule="shaping (therapist)", note="70 % in 3 sessions")
        pia = lib.add_client("Pia")
        lib.add_target_step(pia, 25.9, day="2026-03-02", rule="rest_band", unit="cmH2O")
    for _ in range(2):                                   # the second run adds nothing
        assert main(["library", "migrate", "--to", pg_url, "--library", str(source)]) == 0
        capsys.readouterr()
    with Library.open(pg_url) as new, Library.open(source) as old:
        for name in ("Ana", "Pia"):
            assert _steps(new, name) == _steps(old, name)


def _steps(lib: Library, name: str) -> list[tuple]:
    return [(t["day"], t["target"], t["unit"], t["rule"], t["note"]) for t in lib.target_steps(lib.client(name))]


# ------------------------------------------------------------------- bad input: one line, exit 2, nothing changed

def _tcp(server: str, database: str, user: str = "postgres") -> str:
    port = parse_qs(urlsplit(server).query)["port"][0]
    return f"postgresql://{user}@127.0.0.1:{port}/{database}?sslmode=disable"


def test_unreachable_server_is_one_line(tmp_path):
    target = "postgresql://therapist@127.0.0.1:9/clinic?connect_timeout=2"
    for args in (["clients"], ["diary", "Anna", "--mood", "3"], ["library", "sync"],
                 ["library", "migrate", "--to", target, "--library", str(tmp_path / "x.sqlite")]):
        if args[0] != "library" or args[1] != "migrate":
            args = [*args, "--library", target]
        if args[1:2] == ["migrate"]:
            Library.open(tmp_path / "x.sqlite").close()
        err = assert_one_line_error(run_cli(*args))
        assert "cannot reach the library server postgresql://therapist@127.0.0.1:9/clinic" in err, err


def test_wrong_credentials_are_one_line_and_show_no_password(pg_url, tmp_path, monkeypatch):
    name = urlsplit(pg_url).path.lstrip("/")
    Library.open(pg_url).close()
    before = snapshot(pg_url)
    passfile = tmp_path / "pgpass"
    passfile.write_text("127.0.0.1:*:*:postgres:not-the-password\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    err = assert_one_line_error(run_cli("clients", "Eve", "--add", "--library", _tcp(pg_url, name)))
    assert "refused the login" in err and "~/.pgpass" in err and "not-the-password" not in err
    assert snapshot(pg_url) == before
    # the right password in the pass file (libpq's convention) lets the same command in
    passfile.write_text("127.0.0.1:*:*:postgres:biofeedback-test\n")
    assert run_cli("clients", "Eve", "--add", "--library", _tcp(pg_url, name)).returncode == 0


def test_password_on_the_command_line_is_refused_and_never_echoed(pg_url):
    name = urlsplit(pg_url).path.lstrip("/")
    url = _tcp(pg_url, name).replace("postgres@", "postgres:s3cret-pw@")
    for args in (["clients", "--library", url], ["library", "migrate", "--to", url]):
        r = run_cli(*args)
        err = assert_one_line_error(r)
        assert "~/.pgpass" in err and "s3cret-pw" not in r.stderr + r.stdout


def test_newer_schema_on_the_server_is_refused_and_left_alone(pg_url):
    import psycopg
    with Library.open(pg_url) as lib:
        lib.add_client("Anna")
    with psycopg.connect(pg_url) as con:
        con.execute("UPDATE library_info SET value = '99' WHERE key = 'schema_version'")
    before = snapshot(pg_url)
    for args in (["clients"], ["diary", "Anna", "--mood", "3"], ["library", "sync"]):
        err = assert_one_line_error(run_cli(*args, "--library", pg_url))
        assert "newer version of biofeedback (schema 99" in err
    assert snapshot(pg_url) == before


def test_database_that_is_not_a_library_is_refused_and_left_alone(pg_url, tmp_path):
    import psycopg
    with psycopg.connect(pg_url) as con:
        con.execute("CREATE TABLE invoices (id integer primary key, amount numeric)")
        con.execute("INSERT INTO invoices VALUES (1, 12.5)")
    before = snapshot(pg_url)
    Library.open(tmp_path / "x.sqlite").close()
    for args in (["clients", "--library", pg_url], ["clients", "Bo", "--add", "--library", pg_url],
                 ["library", "migrate", "--to", pg_url, "--library", str(tmp_path / "x.sqlite")]):
        err = assert_one_line_error(run_cli(*args))
        assert "is not a biofeedback library" in err
    assert snapshot(pg_url) == before


def test_status_of_a_library_file(tmp_path):
    path = tmp_path / "lib.sqlite"
    Library.open(path).close()
    r = run_cli("library", "status", "--library", path)
    assert r.returncode == 0
    assert f"backend: sqlite ({path})" in r.stdout and f"schema version: {SCHEMA_VERSION}" in r.stdout


def test_server_names_a_service(pg_server, tmp_path, monkeypatch):
    """``service=NAME`` reaches the server through pg_service.conf (libpq's convention)."""
    name = create_database(pg_server)
    try:
        query = parse_qs(urlsplit(pg_server).query)
        (tmp_path / "pg_service.conf").write_text(
            f"[clinic]\nhost={query['host'][0]}\nport={query['port'][0]}\nuser=postgres\ndbname={name}\n")
        monkeypatch.setenv("PGSERVICEFILE", str(tmp_path / "pg_service.conf"))
        assert main(["clients", "Fay", "--add", "--library", "service=clinic"]) == 0
        with Library.open("postgresql:///?service=clinic") as lib:
            assert [c.name for c in lib.clients()] == ["Fay"]
            assert lib.backend == "postgresql"
    finally:
        drop_database(pg_server, name)




def test_an_ordinary_role_owning_its_database_is_enough(pg_server):
    """No superuser: a login role that owns the library's database creates and uses the library."""
    import psycopg
    role = f"bf_role_{os.getpid()}"
    name = f"bf_owned_{os.getpid()}"
    with psycopg.connect(pg_server, autocommit=True) as con:
        con.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE')
        con.execute(f'CREATE DATABASE "{name}" OWNER "{role}"')
    try:
        target = with_database(pg_server, name).replace("postgres@", f"{role}@", 1)
        with Library.open(target) as lib:
            anna = lib.add_client("Anna")
            lib.add_diary(anna, "2026-03-01", mood=4)
            assert anna.changed_by == role
    finally:
        drop_database(pg_server, name)
        with psycopg.connect(pg_server, autocommit=True) as con:
            con.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_another_room_reports_a_session_recorded_elsewhere(pg_url, tmp_path, monkeypatch):
    from biofeedback.clinic.filing import register_recording
    rec = make_recording(tmp_path / "room1.bfr", seconds=20.0)
    with Library.open(pg_url) as lib:
        lib.add_client("Anna")
        register_recording(lib, rec)
    gone = tmp_path / "room1-archive.bfr"
    rec.rename(gone)                                              # room 2 does not have the file
    monkeypatch.setenv("BIOFEEDBACK_CACHE", str(tmp_path / "room2"))
    r = run_cli("report", rec, "--out", tmp_path / "report.html", "--library", pg_url)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "report.html").exists()
    assert len(list((tmp_path / "room2" / "recordings").glob("*.bfr"))) == 1
