"""Acceptance: the whole clinic -> home -> clinic loop through the real command line, two libraries."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import zipfile
from pathlib import Path

from biofeedback.clinic.library import Library
from tests.helpers import assert_one_line_error, run_cli

SIM = "sim:hypertonic?rate=500"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _ok(*args) -> str:
    result = run_cli(*args, timeout=300)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def _library_state(path: str | Path, name: str = "Ana") -> str:
    """Everything the history shows, as text (sessions, places, diary, adherence)."""
    return json.dumps(json.loads(_ok("history", name, "--json", "--library", path)), sort_keys=True)


def _fingerprint(library: str | Path, name: str = "Ana") -> str:
    """A library file's bytes; a server library's whole history of the client (what the clinic sees)."""
    if Path(str(library)).is_file():
        return _digest(Path(library))
    return _library_state(library, name)


def test_clinic_home_clinic_loop(tmp_path, library_target):
    clinic, home = library_target, tmp_path / "home" / "lib.sqlite"     # the clinic's file or server; her file
    home.parent.mkdir()
    today = dt.date.today()
    start = today - dt.timedelta(days=20)                    # three weeks of practice up to today

    # at the clinic: add her, calibrate, a goal, write the programme
    _ok("clients", "Ana", "--add", "--library", clinic)
    _ok("calibrate", "--source", SIM, "--client", "Ana", "--speed", "max", "--library", clinic)
    _ok("clients", "Ana", "--goal", "release_latency_s<=1", "--goal-protocol", "relaxation", "--label",
        "let go within a second", "--library", clinic)
    with Library.open(clinic) as lib:
        at_clinic = lib.client("Ana")
        uid = lib.client_uid(at_clinic)
        target = lib.target_steps(at_clinic)[-1]["target"]
    assert at_clinic.bands["release_high"] == target          # the release target rule for her raised tone
    prog = tmp_path / "ana.bfprog"
    out = _ok("programme", "write", "Ana", "--protocol", "relaxation:7", "--protocol", "work-rest:2",
              "--weeks", "4", "--start", start.isoformat(), "--note", "Gently, most days", "--out", prog,
              "--library", clinic)
    assert "ana.bfprog" in out
    shown = _ok("programme", "show", prog)
    assert "relaxation: 7 times a week" in shown and "work-rest: 2 times a week" in shown
    assert "Gently, most days" in shown and uid in shown and "release target steps: 1" in shown

    # at home: install, practise on the simulated signal, keep a diary over three weeks
    assert "installed the home programme for Ana" in _ok("programme", "install", prog, "--library", home)
    with Library.open(home) as lib:
        her = lib.client("Ana")
        assert lib.client_uid(her) == uid
        assert her.bands == at_clinic.bands and her.calibration == at_clinic.calibration
        assert [t["target"] for t in lib.target_steps(her)] == [target]
        assert [(g.metric, g.protocol) for g in lib.goals(her)] == [("release_latency_s", "relaxation")]
        assert lib.programmes(her)[-1].protocols == {"relaxation": 7, "work-rest": 2}
    days = {"relaxation": [1, 2, 9], "work-rest": [3]}
    for protocol, offsets in days.items():
        for i, offset in enumerate(offsets):
            rec = tmp_path / "home" / f"{protocol}-{i}.bfr"
            _ok("record", "--source", SIM, "--protocol", protocol, "--speed", "max", "--client", "Ana",
                "--library", home, "--out", rec)
            with Library.open(home) as lib:                  # the day she practised (library API)
                s = lib.session_for_recording(rec)
                day = start + dt.timedelta(days=offset)
                lib.add_session(s.client_id, rec, f"{day.isoformat()}T19:30:00+00:00", s.protocol, s.duration_s,
                                s.summary)
    for offset, pain in ((1, 6), (8, 5), (15, 4)):
        _ok("diary", "Ana", "--date", (start + dt.timedelta(days=offset)).isoformat(), "--pain", str(pain),
            "--mood", "3", "--library", home)
    home_view = json.loads(_ok("history", "Ana", "--json", "--library", home))
    assert {s["place"] for s in home_view["sessions"]} == {"home"}

    pack = tmp_path / "ana-practice.bfpack"
    assert "4 sessions and 3 diary entries" in _ok("practice", "export", "Ana", "--out", pack, "--library", home)

    # back at the clinic
    assert "imported 4 home sessions and 3 diary entries" in _ok("practice", "import", pack, "--library", clinic)
    view = json.loads(_ok("history", "Ana", "--json", "--library", clinic))
    assert [s["place"] for s in view["sessions"]] == ["home"] * 4
    assert [d["pain_intercourse"] for d in view["diary"]] == [6, 5, 4]
    weeks = view["adherence"]
    assert [w["week"] for w in weeks] == [1, 2, 3]
    assert weeks[0]["protocols"] == {"relaxation": {"prescribed": 7, "done": 2},
                                     "work-rest": {"prescribed": 2, "done": 1}}
    assert (weeks[0]["done"], weeks[0]["prescribed"], weeks[0]["home"], weeks[0]["clinic"]) == (3, 9, 3, 0)
    assert weeks[1]["protocols"]["relaxation"]["done"] == 1 and weeks[2]["done"] == 0
    assert all(Path(s["recording"]).is_file() for s in view["sessions"])   # the recordings came along
    assert "relaxation" in _ok("info", view["sessions"][0]["recording"])
    text = _ok("history", "Ana", "--library", clinic)
    assert "adherence week 1" in text and "home" in text

    # importing again changes nothing
    before, before_state = _fingerprint(clinic), _library_state(clinic)
    assert "nothing new" in _ok("practice", "import", pack, "--library", clinic)
    assert _fingerprint(clinic) == before and _library_state(clinic) == before_state

    # one byte changed anywhere inside a recording: refused, one line, nothing changed
    with zipfile.ZipFile(pack) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith(".bfr"))
    data = bytearray(pack.read_bytes())
    data[info.header_offset + 30 + len(info.filename) + 4096] ^= 0x01   # inside the recording's bytes
    tampered = tmp_path / "tampered.bfpack"
    tampered.write_bytes(bytes(data))
    err = assert_one_line_error(run_cli("practice", "import", tampered, "--library", clinic))
    assert "tampered" in err or "damaged" in err or "changed" in err
    assert _fingerprint(clinic) == before

    # a second export at home starts where the first ended (its day): only today's new diary entry
    _ok("diary", "Ana", "--pain", "3", "--notes", "a calm week", "--library", home)
    pack2 = tmp_path / "ana-practice-2.bfpack"
    out = _ok("practice", "export", "Ana", "--out", pack2, "--library", home)
    assert "0 sessions" in out and f"since {today.isoformat()}" in out
    assert "imported 0 home sessions and 1 diary entry" in _ok("practice", "import", pack2, "--library", clinic)


def test_practice_of_an_unknown_client_is_refused(tmp_path, library_target):
    home, other = tmp_path / "home.sqlite", library_target
    _ok("clients", "Bo", "--add", "--library", home)
    _ok("diary", "Bo", "--pain", "4", "--library", home)
    pack = tmp_path / "bo.bfpack"
    _ok("practice", "export", "Bo", "--out", pack, "--library", home)
    _ok("clients", "Bo", "--add", "--library", other)         # the same name is not the same client
    before = _fingerprint(other, "Bo")
    err = assert_one_line_error(run_cli("practice", "import", pack, "--library", other))
    assert "does not know" in err
    assert _fingerprint(other, "Bo") == before
    assert not (tmp_path / "home-practice").exists()
    assert not (Path(os.environ["BIOFEEDBACK_CACHE"]) / "home-practice").exists()     # nor for a server


def test_commands_refuse_bad_input_in_one_line(tmp_path):
    lib = tmp_path / "lib.sqlite"
    _ok("clients", "Ana", "--add", "--library", lib)
    for args in (["programme", "write", "Ana", "--protocol", "relaxation", "--out", tmp_path / "a.bfprog"],
                 ["programme", "write", "Ana", "--protocol", "nosuch:3", "--out", tmp_path / "a.bfprog"],
                 ["programme", "write", "Ana", "--protocol", "relaxation:0", "--out", tmp_path / "a.bfprog"],
                 ["programme", "write", "Ana", "--out", tmp_path / "a.bfprog"],
                 ["programme", "write", "Nobody", "--protocol", "relaxation:7", "--out", tmp_path / "a.bfprog"],
                 ["programme", "write", "Ana", "--protocol", "relaxation:7", "--out", tmp_path / "a.zip"],
                 ["practice", "export", "Ana", "--out", tmp_path / "a.txt"],
                 ["practice", "export", "Ana", "--since", "last week", "--out", tmp_path / "a.bfpack"]):
        assert_one_line_error(run_cli(*args, "--library", lib))
    assert_one_line_error(run_cli("programme", "show", tmp_path / "missing.bfprog"))
    (tmp_path / "not.bfprog").write_text("hello")
    assert_one_line_error(run_cli("programme", "install", tmp_path / "not.bfprog", "--library", lib))
    assert not list(tmp_path.glob("a.*"))
    out = tmp_path / "a.bfprog"
    _ok("programme", "write", "Ana", "--protocol", "relaxation:7", "--out", out, "--library", lib)
    before = _digest(out)
    assert "already exists" in assert_one_line_error(
        run_cli("programme", "write", "Ana", "--protocol", "relaxation:7", "--out", out, "--library", lib))
    assert _digest(out) == before
    assert oct(out.stat().st_mode & 0o777) == "0o600"
