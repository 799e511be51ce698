"""A goal names its protocol, or applies to every protocol explicitly (issue 15), on both backends.

A relaxation session whose release time meets a number set for the Glazer assessment must not mark the Glazer
goal met; libraries written before goals had a protocol keep their goals counting for every protocol.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import text

from biofeedback.clinic.library import SCHEMA_VERSION, Library
from biofeedback.clinic.progress import client_goals, client_progress, update_milestones
from biofeedback.errors import UserError
from tests.helpers import assert_one_line_error, run_cli


def _two_protocols(lib: Library, tmp_path):
    """Ana: a relaxation session that lets go fast on 3 March, a Glazer assessment that does on 10 March."""
    c = lib.add_client("Ana")
    lib.add_session(c, tmp_path / "g1.bfr", "2026-03-01T09:00:00+01:00", "glazer", 330,
                    {"release_latency_s": 2.4, "resting_tone_uv": 7.0})
    lib.add_session(c, tmp_path / "r1.bfr", "2026-03-03T09:00:00+01:00", "relaxation", 600,
                    {"release_latency_s": 0.6, "resting_tone_uv": 4.0})
    lib.add_session(c, tmp_path / "g2.bfr", "2026-03-10T09:00:00+01:00", "glazer", 330,
                    {"release_latency_s": 0.9, "resting_tone_uv": 6.0})
    return c


def test_a_goal_of_one_protocol_is_met_only_by_its_sessions(library_target, tmp_path):
    with Library.open(library_target) as lib:
        c = _two_protocols(lib, tmp_path)
        glazer = lib.add_goal(c, "release_latency_s", "<=", 1.0, "let go within 1 s", protocol="glazer")
        every = lib.add_goal(c, "release_latency_s", "<=", 1.0, protocol="all")
        assert (glazer.protocol, every.protocol) == ("glazer", "")
        assert [g.protocol for g in lib.goals(c)] == ["glazer", ""]
        newly = {g.goal.id: g.met_on for g in update_milestones(lib, c)}
        # the relaxation session on 3 March meets the every-protocol goal, not the Glazer one
        assert newly == {glazer.id: dt.date(2026, 3, 10), every.id: dt.date(2026, 3, 3)}
        stored = {g.id: g.met_on for g in lib.goals(c)}
        assert stored == {glazer.id: dt.date(2026, 3, 10), every.id: dt.date(2026, 3, 3)}
        words = {g.goal.id: g.description for g in client_goals(lib, c)}
        assert words[glazer.id] == "let go within 1 s · glazer sessions only"
        assert words[every.id].endswith("· every exercise")
        goals = json.loads(json.dumps(client_progress(lib, c).to_dict()))["goals"]
        assert [(g["protocol"], g["met_on"]) for g in goals] == [("glazer", "2026-03-10"), (None, "2026-03-03")]


def test_a_diary_goal_cannot_name_a_protocol(library_target):
    with Library.open(library_target) as lib:
        c = lib.add_client("Ana")
        with pytest.raises(UserError, match="comes from the diary"):
            lib.add_goal(c, "pain_intercourse", "<=", 3, protocol="glazer")
        assert lib.add_goal(c, "pain_intercourse", "<=", 3, protocol="ALL").protocol == ""
        assert len(lib.goals(c)) == 1


def _back_to_version_4(target: str) -> None:
    """Make a head library what the previous release wrote (schema 4: goals without a protocol)."""
    with Library.open(target) as lib, lib._transaction() as db:
        db.execute(text("ALTER TABLE goals DROP COLUMN protocol"))
        if lib.is_server:
            db.execute(text("UPDATE library_info SET value = '4' WHERE key = 'schema_version'"))
        else:
            db.exec_driver_sql("PRAGMA user_version = 4")


def test_a_version_4_library_keeps_its_goals_for_every_protocol(library_target, tmp_path):
    with Library.open(library_target) as lib:
        c = _two_protocols(lib, tmp_path)
        lib.add_goal(c, "release_latency_s", "<=", 1.0, "let go within 1 s")
    _back_to_version_4(library_target)
    with Library.open(library_target) as lib:
        assert lib.schema_version == SCHEMA_VERSION == 5
        ana = lib.client("ana")
        [goal] = lib.goals(ana)
        assert (goal.label, goal.protocol) == ("let go within 1 s", "")
        [status] = client_goals(lib, ana)
        assert status.met_on == dt.date(2026, 3, 3)           # as before: any session could meet it
        assert lib.add_goal(ana, "resting_tone_uv", "<", 5, protocol="glazer").protocol == "glazer"


def test_clients_goal_protocol_on_the_command_line(tmp_path):
    lib = str(tmp_path / "lib.sqlite")
    with Library.open(lib) as library:
        _two_protocols(library, tmp_path)
    r = run_cli("clients", "Ana", "--goal", "release_latency_s<=1", "--goal-protocol", "glazer",
                "--label", "let go within 1 s", "--library", lib)
    assert r.returncode == 0, r.stderr
    assert "Ana: 3 sessions, 1 goal" in r.stdout
    assert "★ let go within 1 s · glazer sessions only (first met 2026-03-10)" in r.stdout
    r = run_cli("clients", "Ana", "--goal", "resting_tone_uv<5", "--library", lib)
    assert "★ Resting tone under 5.0 µV · every exercise (first met 2026-03-03)" in r.stdout   # relaxation
    for args, words in ((("--goal", "release_latency_s<=1", "--goal-protocol", "glazr"), "is not a protocol here"),
                        (("--goal-protocol", "glazer"), "belongs to a goal"),
                        (("--goal", "pain_pelvic<=2", "--goal-protocol", "glazer"), "comes from the diary")):
        r = run_cli("clients", "Ana", *args, "--library", lib)
        assert words in assert_one_line_error(r)
    with Library.open(lib) as library:
        goals = library.goals(library.client("ana"))
    assert [(g.metric, g.protocol) for g in goals] == [("release_latency_s", "glazer"), ("resting_tone_uv", "")]
