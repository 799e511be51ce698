"""Programme and practice bundles: verified before use, refused whole when anything is wrong."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import stat
import zipfile
from pathlib import Path

import pytest

from biofeedback.clinic import programme as prog
from biofeedback.clinic.library import SCHEMA_VERSION, Library
from biofeedback.errors import UserError
from biofeedback.files import bundle as bundle_mod
from biofeedback.files.bundle import MANIFEST, BundleError, open_bundle, write_bundle
from tests.helpers import assert_one_line_error, run_cli


def _good(tmp_path: Path) -> Path:
    return write_bundle(tmp_path / "good.bfprog", prog.FORMAT, 1, "cid",
                        {"programme.json": b'{"a": 1}', "sessions/x.bfr": b"x" * 10000}, ".bfprog", "home programme")


def _zip(path: Path, entries: list[tuple[zipfile.ZipInfo | str, bytes]], manifest: dict | None = None,
         compress=zipfile.ZIP_STORED) -> Path:
    """A hand-made bundle; the manifest lists ``entries`` with their true hashes unless given."""
    if manifest is None:
        manifest = {"format": prog.FORMAT, "format_version": 1, "client_id": "cid", "members": {
            (e.filename if isinstance(e, zipfile.ZipInfo) else e): {"sha256": hashlib.sha256(b).hexdigest(),
                                                                    "size": len(b)} for e, b in entries}}
    with zipfile.ZipFile(path, "w", compression=compress) as zf:
        zf.writestr(MANIFEST, json.dumps(manifest))
        for entry, body in entries:
            zf.writestr(entry, body)
    return path


def _refused(path: Path, match: str = "") -> str:
    with pytest.raises(BundleError) as info, open_bundle(path, prog.FORMAT, 1, "home programme"):
        pass
    assert match in str(info.value)
    return str(info.value)


def test_round_trip_private_stored_and_cleaned_up(tmp_path):
    path = _good(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with zipfile.ZipFile(path) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}
    with open_bundle(path, prog.FORMAT, 1, "home programme") as b:
        folder = b.folder
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert b.member("sessions/x.bfr").read_bytes() == b"x" * 10000
        assert b.manifest["members"]["programme.json"]["size"] == 8
        assert b.manifest["program_version"] and b.manifest["created"] and b.client_id == "cid"
    assert not folder.exists()


@pytest.mark.parametrize("name", ["/etc/passwd", "../escape", "a/../../b", "a\\b", "C:evil", "./a"])
def test_unsafe_names_refused(tmp_path, name):
    _refused(_zip(tmp_path / "b.bfprog", [(name, b"x")]), "unsafe member name")
    assert not (tmp_path.parent / "escape").exists()


def test_links_folders_duplicates_and_compression_refused(tmp_path):
    link = zipfile.ZipInfo("link")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    _refused(_zip(tmp_path / "l.bfprog", [(link, b"/etc/passwd")]), "not a plain file")
    _refused(_zip(tmp_path / "d.bfprog", [("dir/", b"")]))      # refused, by its name already
    with pytest.warns(UserWarning):          # zipfile itself warns about the duplicate name
        _refused(_zip(tmp_path / "dup.bfprog", [("a", b"1"), ("a", b"2")]), "twice")
    bomb = _zip(tmp_path / "z.bfprog", [("a", b"\0" * 100000)], compress=zipfile.ZIP_DEFLATED)
    _refused(bomb, "compressed")


def test_size_bomb_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(bundle_mod, "MAX_TOTAL_BYTES", 5000)
    _refused(_good(tmp_path), "more than")


def test_manifest_mismatches_refused(tmp_path):
    body = b"hello"
    wrong = {"format": prog.FORMAT, "format_version": 1, "members": {"a": {"sha256": "0" * 64, "size": 5}}}
    _refused(_zip(tmp_path / "h.bfprog", [("a", body)], wrong), "SHA-256")
    unlisted = {"format": prog.FORMAT, "format_version": 1, "members": {}}
    _refused(_zip(tmp_path / "u.bfprog", [("a", body)], unlisted), "unlisted")
    missing = {"format": prog.FORMAT, "format_version": 1, "members": {"a": {"sha256": "0" * 64, "size": 5},
                                                                      "b": {"sha256": "0" * 64, "size": 1}}}
    _refused(_zip(tmp_path / "m.bfprog", [("a", body)], missing), "missing b")
    with zipfile.ZipFile(tmp_path / "n.bfprog", "w") as zf:
        zf.writestr("a", body)
    _refused(tmp_path / "n.bfprog", "no manifest")


def test_newer_version_and_other_kind_refused(tmp_path):
    newer = {"format": prog.FORMAT, "format_version": 2, "program_version": "9.0", "members": {}}
    assert "newer version" in _refused(_zip(tmp_path / "v.bfprog", [], newer))
    other = {"format": "biofeedback-practice", "format_version": 1, "members": {}}
    _refused(_zip(tmp_path / "o.bfprog", [], other), "not a home programme")


def test_truncated_or_any_byte_changed_is_refused(tmp_path):
    good = _good(tmp_path)
    data = good.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 100):
        (tmp_path / "t.bfprog").write_bytes(data[:cut])
        _refused(tmp_path / "t.bfprog")
    accepted = 0
    for at in range(0, len(data), 97):               # a byte changed anywhere: refused, or harmless metadata
        changed = bytearray(data)
        changed[at] ^= 0xFF
        (tmp_path / "c.bfprog").write_bytes(bytes(changed))
        try:
            with open_bundle(tmp_path / "c.bfprog", prog.FORMAT, 1, "home programme") as b:
                assert b.member("sessions/x.bfr").read_bytes() == b"x" * 10000   # content never differs
                accepted += 1
        except BundleError:
            pass
    assert accepted < len(range(0, len(data), 97)) // 4


def test_newer_programme_file_through_the_command_is_one_line(tmp_path):
    path = _zip(tmp_path / "v.bfprog", [], {"format": prog.FORMAT, "format_version": 7, "members": {}})
    err = assert_one_line_error(run_cli("programme", "install", path, "--library", tmp_path / "lib.sqlite"))
    assert "newer version" in err
    assert not (tmp_path / "lib.sqlite").exists() or Library.open(tmp_path / "lib.sqlite").clients() == []


# --------------------------------------------------------------------------- library side

def _back_to_version_3(lib: Library) -> None:
    """Undo schema steps 4 and 5 on an open library, so it is what version 3 wrote (on either backend)."""
    from sqlalchemy import text
    with lib._transaction() as db:
        db.execute(text("DROP INDEX clients_by_uid"))
        for table in ("programme_protocols", "programmes", "practice_exports"):
            db.execute(text(f"DROP TABLE {table}"))
        db.execute(text("ALTER TABLE clients DROP COLUMN client_uid"))
        db.execute(text("ALTER TABLE sessions DROP COLUMN place"))
        db.execute(text("ALTER TABLE goals DROP COLUMN protocol"))          # step 5 (goals name a protocol)
        if lib.is_server:
            db.execute(text("UPDATE library_info SET value = '3' WHERE key = 'schema_version'"))
        else:
            db.exec_driver_sql("PRAGMA user_version = 3")


def test_migration_gives_existing_clients_an_id(library_target):
    assert SCHEMA_VERSION == 5
    with Library.open(library_target) as lib:
        for name in ("Old", "Older"):
            lib.add_client(name)
        _back_to_version_3(lib)
        assert lib.schema_version == 3
    with Library.open(library_target) as lib:
        assert lib.schema_version == SCHEMA_VERSION
        old = lib.client("Old")
        assert old.row_version == 1                                  # nobody edited her record
        ids = [lib.client_uid(c) for c in lib.clients()]
        assert len(set(ids)) == 2 and all(len(i) == 36 and i[14] == "4" for i in ids)   # uuid4
        new = lib.add_client("New")
        assert lib.find_client_by_uid(lib.client_uid(new)).name == "New"
        assert lib.programmes(new) == [] and lib.last_export(new) is None


def _programme(lib: Library, name: str, weeks: int, start: dt.date, **protocols: int) -> prog.Programme:
    return prog.build_programme(lib, name, list(protocols.items()), weeks, "note", start)


def test_newer_programme_replaces_schedule_keeps_history_older_refused(tmp_path, library_target):
    clinic, home = Library.open(library_target), Library.open(tmp_path / "h.sqlite")
    try:
        clinic.add_client("Ana")
        start = dt.date.today() - dt.timedelta(days=20)
        first = _programme(clinic, "Ana", 4, start, relaxation=7)
        prog.write_programme(clinic, first, tmp_path / "1.bfprog")
        assert prog.install_programme(home, tmp_path / "1.bfprog").changed
        again = prog.install_programme(home, tmp_path / "1.bfprog")
        assert not again.changed and "already installed" in again.message
        ana = home.client("Ana")
        home.add_diary(ana, start + dt.timedelta(days=1), pain_intercourse=5)
        second = _programme(clinic, "Ana", 4, start + dt.timedelta(days=14), relaxation=4, **{"work-rest": 2})
        prog.write_programme(clinic, second, tmp_path / "2.bfprog")
        prog.install_programme(home, tmp_path / "2.bfprog")
        assert [p.protocols for p in home.programmes(ana)] == [{"relaxation": 7}, {"relaxation": 4, "work-rest": 2}]
        assert len(home.diary(ana)) == 1                                   # her history is kept
        from biofeedback.clinic.progress import client_progress
        weeks = client_progress(home, ana).adherence
        assert [w.prescribed for w in weeks] == [7, 7, 6]                   # from week 3 on: the newer one
        with pytest.raises(UserError, match="older than the programme already installed"):
            older = _programme(clinic, "Ana", 4, start, relaxation=3)
            object.__setattr__(older, "written_at", "2000-01-01T00:00:00+00:00")
            prog.write_programme(clinic, older, tmp_path / "0.bfprog")
            prog.install_programme(home, tmp_path / "0.bfprog")
        assert len(home.programmes(ana)) == 2
    finally:
        clinic.close()
        home.close()


def test_this_week_for_home_mode(tmp_path, library_target):
    from biofeedback.clinic.adherence import this_week
    from biofeedback.clinic.demo_programme import build_demo_programme
    with Library.open(library_target) as lib:
        start = dt.date.today() - dt.timedelta(days=9)
        cy = build_demo_programme(lib, "Cy", tmp_path, weeks=2, start=start)
        sessions, places = lib.sessions(cy), lib.session_places(cy)
        week = this_week(lib.programmes(cy), sessions, places)
        assert week is not None and week.week == 2 and week.start == start + dt.timedelta(days=7)
        assert week.protocols["relaxation"].prescribed == 7
        assert week.protocols["relaxation"].done == sum(1 for s in sessions if s.protocol == "relaxation"
                                                        and s.day >= week.start)
        assert this_week(lib.programmes(cy), sessions, places, start - dt.timedelta(days=1)) is None
        assert this_week(lib.programmes(cy), sessions, places, start + dt.timedelta(days=20)) is None


def test_session_place_defaults_to_where_the_library_is(tmp_path, library_target):
    from biofeedback.clinic.demo_programme import write_small_recording
    with Library.open(library_target) as lib:
        ana = lib.add_client("Ana")
        rec = write_small_recording(tmp_path / "a.bfr", "2026-11-02T10:00:00+00:00", "relaxation", 5.0)
        s = lib.add_session(ana, rec, "2026-11-02T10:00:00+00:00", "relaxation")
        assert lib.session_places(ana) == {s.id: "clinic"}
        lib.set_session_place(s, "home")
        assert lib.session_places(ana) == {s.id: "home"}
        assert lib.add_session(ana, rec, s.started_at, "relaxation").id == s.id     # filed again: place stays
        assert lib.session_places(ana) == {s.id: "home"}
        rec2 = write_small_recording(tmp_path / "b.bfr", "2026-11-03T10:00:00+00:00", "relaxation", 5.0)
        s2 = lib.add_session(ana, rec2, "2026-11-03T10:00:00+00:00", "relaxation", place="home")   # at filing
        assert lib.session_places(ana)[s2.id] == "home"
        with pytest.raises(UserError):
            lib.set_session_place(s, "garden")
        with pytest.raises(UserError):
            lib.add_session(ana, rec2, s2.started_at, place="garden")


def test_first_programme_adopts_her_earlier_home_practice_but_not_another_client(tmp_path, library_target):
    with Library.open(library_target) as clinic, Library.open(tmp_path / "h.sqlite") as home:
        clinic.add_client("Ana")
        prog.write_programme(clinic, _programme(clinic, "Ana", 4, dt.date.today(), relaxation=7), tmp_path / "a.bfprog")
        early = home.add_client("ana")                       # home mode before any programme
        home.add_diary(early, dt.date.today(), mood=3)
        prog.install_programme(home, tmp_path / "a.bfprog")
        assert home.find_client_by_uid(clinic.client_uid(clinic.client("Ana"))).id == early.id
        assert len(home.diary(early)) == 1
        other = Library.open(tmp_path / "o.sqlite")
        try:
            bo = other.add_client("Ana")
            prog.write_programme(other, _programme(other, "Ana", 4, dt.date.today(), relaxation=3),
                                 tmp_path / "o.bfprog")
            with pytest.raises(UserError, match="different client"):
                prog.install_programme(clinic, tmp_path / "o.bfprog")   # the clinic's Ana has her own programme
            assert other.client_uid(bo) != clinic.client_uid(clinic.client("Ana"))
        finally:
            other.close()


def test_shaping_rule_and_target_steps_travel_with_the_programme(tmp_path, library_target):
    from biofeedback.clinic import shaping
    with Library.open(library_target) as clinic, Library.open(tmp_path / "h.sqlite") as home:
        ana = clinic.add_client("Ana")
        start = dt.date.today() - dt.timedelta(days=14)
        clinic.add_target_step(ana, 9.0, day=start, rule="below_rest")
        prog.write_programme(clinic, _programme(clinic, "Ana", 4, start, relaxation=7), tmp_path / "1.bfprog")
        shown = prog.read_programme(tmp_path / "1.bfprog")
        assert shown.release_target == 9.0
        assert shown.shaping["sessions_in_a_row"] == shaping.SESSIONS_IN_A_ROW
        assert shown.shaping["met_share_pct"] == shaping.MET_SHARE_PCT
        prog.install_programme(home, tmp_path / "1.bfprog")
        clinic.add_target_step(ana, 8.1, rule="shaping (therapist)")           # she met it: one step down
        prog.write_programme(clinic, _programme(clinic, "Ana", 4, dt.date.today(), relaxation=7),
                             tmp_path / "2.bfprog")
        prog.install_programme(home, tmp_path / "2.bfprog")
        steps = home.target_steps(home.client("Ana"))
        assert [(t["day"], t["target"], t["rule"]) for t in steps] == [(start, 9.0, "below_rest"),
                                                                      (dt.date.today(), 8.1, "shaping (therapist)")]


def test_library_migrate_carries_client_ids_places_and_programmes(tmp_path, pg_url):
    from biofeedback.clinic.demo_programme import write_small_recording
    from biofeedback.clinic.store_migrate import migrate_library
    source = tmp_path / "clinic.sqlite"
    with Library.open(source) as lib:
        ana = lib.add_client("Ana")
        prog.write_programme(lib, _programme(lib, "Ana", 4, dt.date.today(), relaxation=7), tmp_path / "a.bfprog")
        rec = write_small_recording(tmp_path / "h.bfr", "2026-11-02T10:00:00+00:00", "relaxation", 5.0)
        lib.add_home_session(ana, rec, "2026-11-02T10:00:00+00:00", "relaxation", 4.0, {})
        lib.set_last_export(ana, "2026-11-03T09:00:00+00:00")
        uid, schedules = lib.client_uid(ana), lib.programmes(ana)
    for _ in range(2):                                             # twice: nothing copied twice
        migrate_library(source, pg_url)
    with Library.open(pg_url) as server:
        there = server.find_client_by_uid(uid)
        assert there is not None and there.name == "Ana"
        assert server.programmes(there) == schedules
        assert list(server.session_places(there).values()) == ["home"]
        assert server.last_export(there) == "2026-11-03T09:00:00+00:00"
