"""Checks that keep the client library honest: no misspelt clients, no impossible diary or goal values."""
from __future__ import annotations

import datetime as dt
import math
import uuid

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biofeedback.cli import main
from biofeedback.clinic.filing import register_recording
from biofeedback.clinic.library import Library, require_client
from biofeedback.errors import UserError
from biofeedback.files.recording import RecordingWriter
from biofeedback.stream import Block, Channel, StreamInfo


def small_recording(path, client="Anna"):
    writer = RecordingWriter(path, StreamInfo((Channel("pfm"),), 250.0, source="test"), {"client": client})
    writer.append(Block(0, np.random.default_rng(0).normal(0, 3, (500, 1))))
    writer.close()
    return path


@pytest.fixture()
def lib(library_target):
    library = Library.open(library_target)
    for name in ("Anna", "Annabel", "Bo"):
        library.add_client(name)
    yield library
    library.close()


def test_require_client_finds_any_case_and_suggests_close_names(lib):
    assert require_client(lib, "  anna ").name == "Anna"
    with pytest.raises(UserError) as info:
        require_client(lib, "Ana")
    text = str(info.value)
    assert "\n" not in text and "no client called 'Ana'" in text
    assert "did you mean 'Anna'" in text and "biofeedback clients Ana --add" in text
    with pytest.raises(UserError, match=r"clients: Anna, Annabel, Bo\).*clients Zed --add"):
        require_client(lib, "Zed")
    with pytest.raises(UserError, match="needs a name"):
        require_client(lib, " ")
    assert [c.name for c in lib.clients()] == ["Anna", "Annabel", "Bo"]     # nothing was created


def test_register_recording_never_creates_a_client_by_accident(lib, tmp_path):
    typo = small_recording(tmp_path / "typo.bfr", client="Nobody")
    with pytest.raises(UserError, match="no client called 'Nobody'.*clients Nobody --add"):
        register_recording(lib, typo)
    with pytest.raises(UserError, match="did you mean 'Anna'"):
        register_recording(lib, typo, "Anan")
    assert [c.name for c in lib.clients()] == ["Anna", "Annabel", "Bo"]
    assert lib.session_for_recording(typo) is None
    # naming an existing client (any case), or passing her record, files the session under her
    assert register_recording(lib, typo, "anna").client_id == lib.client("Anna").id
    assert register_recording(lib, typo, lib.client("Bo")).client_id == lib.client("Bo").id
    # only an explicit caller creates a new client
    session = register_recording(lib, small_recording(tmp_path / "new.bfr", client="Nobody"), create=True)
    assert lib.client_by_id(session.client_id).name == "Nobody"


def test_clients_add_recording_for_an_unknown_name_is_one_line(lib, tmp_path, capsys):
    rec = small_recording(tmp_path / "s.bfr", client="Anna")
    assert main(["clients", "Anan", "--add-recording", str(rec), "--library", lib.target]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean 'Anna'" in err
    assert lib.session_for_recording(rec) is None


@pytest.mark.parametrize("target", [math.nan, math.inf, -math.inf])
def test_goal_target_must_be_finite(lib, target):
    with pytest.raises(UserError, match="finite number"):
        lib.add_goal(lib.client("Anna"), "release_latency_s", "<=", target)
    assert lib.goals(lib.client("Anna")) == []


def test_goal_cli_refuses_nan_before_changing_anything(lib, capsys):
    path = lib.target
    assert main(["clients", "Anna", "--goal", "release_latency_s<=nan", "--library", path]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "finite number" in err and "NOT NULL" not in err
    assert main(["clients", "Cleo", "--add", "--goal", "resting_tone_uv<inf", "--library", path]) == 2
    assert lib.find_client("Cleo") is None                 # the client is not half-added
    assert lib.goals(lib.client("Anna")) == []


def test_diary_refuses_impossible_entries(lib):
    anna = lib.client("Anna")
    today = dt.date.today()
    for kwargs, message in (
            (dict(minutes_practised=math.nan), "minutes practised must be between 0 and 600, got nan"),
            (dict(minutes_practised=1e9), "minutes practised must be between 0 and 600"),
            (dict(minutes_practised=601), "between 0 and 600"),
            (dict(minutes_practised=-1), "between 0 and 600"),
            (dict(pain_intercourse=math.nan), "between 0 and 10, got nan"),
            (dict(mood=math.inf), "mood must be between 1 and 5"),
            (dict(), "diary entry is empty"),
            (dict(notes="   "), "diary entry is empty"),
            (dict(day=dt.date(2099, 1, 1), pain_pelvic=2), "2099-01-01 is in the future"),
            (dict(day=today + dt.timedelta(days=2), mood=3), "in the future")):
        with pytest.raises(UserError, match=message.replace("(", r"\(")) as info:
            lib.add_diary(anna, **kwargs)
        assert "\n" not in str(info.value)
    assert lib.diary(anna) == []
    # the edges are fine: 600 minutes, tomorrow (time zones), a note alone
    assert lib.add_diary(anna, today + dt.timedelta(days=1), minutes_practised=600).minutes_practised == 600
    assert lib.add_diary(anna, notes=" sore after dilator ").notes == "sore after dilator"
    assert len(lib.diary(anna)) == 2


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_diary_minutes_are_stored_exactly_or_refused(lib, minutes):
    c = lib.add_client(f"P {uuid.uuid4().hex}")
    if math.isfinite(minutes) and 0 <= minutes <= 600:
        assert lib.add_diary(c, "2026-01-05", minutes_practised=minutes).minutes_practised == minutes
    else:
        with pytest.raises(UserError):
            lib.add_diary(c, "2026-01-05", minutes_practised=minutes)
        assert lib.diary(c) == []


def test_diary_cli_refusals_are_one_line(lib, capsys):
    path = lib.target
    for args in (["--minutes", "nan"], ["--minutes", "1e9"], [], ["--date", "2099-01-01", "--pain", "3"]):
        assert main(["diary", "Anna", *args, "--library", path]) == 2, args
        assert capsys.readouterr().err.count("\n") == 1
    assert lib.diary(lib.client("Anna")) == []


def test_history_from_after_to_says_swap_them(lib, capsys):
    path = lib.target
    assert main(["history", "Anna", "--from", "2026-05-01", "--to", "2026-04-01", "--library", path]) == 2
    err = capsys.readouterr().err
    assert err == "biofeedback: --from 2026-05-01 is after --to 2026-04-01; swap them\n"
    assert main(["history", "Anna", "--from", "2026-04-01", "--to", "2026-04-01", "--library", path]) == 0
