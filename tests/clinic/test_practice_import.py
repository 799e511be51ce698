"""Practice import: idempotent in any order, and no half-imported session after a real SIGKILL."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from biofeedback.clinic import practice, programme
from biofeedback.clinic.demo_programme import write_small_recording
from biofeedback.clinic.library import Library
from tests.helpers import cli_env

START = dt.date.today() - dt.timedelta(days=27)


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _setup(tmp_path: Path, sessions: int, seconds: float = 4.0,
           clinic: str | Path | None = None) -> tuple[str | Path, Path]:
    """A clinic library with Cy, and her home library (programme installed) with ``sessions`` sessions."""
    clinic, home = clinic or tmp_path / "clinic.sqlite", tmp_path / "home" / "home.sqlite"
    home.parent.mkdir()
    with Library.open(clinic) as lib:
        lib.add_client("Cy")
        p = programme.build_programme(lib, "Cy", [("relaxation", 7)], 4, "", START)
        programme.write_programme(lib, p, tmp_path / "cy.bfprog")
    with Library.open(home) as lib:
        programme.install_programme(lib, tmp_path / "cy.bfprog")
        cy = lib.client("Cy")
        for i in range(sessions):
            day = START + dt.timedelta(days=i)
            started = f"{day.isoformat()}T19:00:00+00:00"
            rec = write_small_recording(home.parent / f"s{i}.bfr", started, "relaxation", 8.0 - i * 0.1,
                                        seconds=seconds, seed=i)
            lib.add_session(cy, rec, started, "relaxation", seconds, {"unit": "uV", "resting_tone_uv": 8 - i * 0.1})
            if i % 2 == 0:
                lib.add_diary(cy, day, pain_intercourse=6 - i * 0.2, mood=3, notes=f"day {i}")
    return clinic, home


def _state(library: str | Path) -> tuple:
    """The client's history independent of where the library lives: sessions (with file hashes) and diary."""
    with Library.open(library) as lib:
        cy = lib.client("Cy")
        places = lib.session_places(cy)
        sessions = sorted((s.started_at, s.protocol, places[s.id], _sha(s.recording_path), s.duration_s,
                           repr(sorted(s.summary.items()))) for s in lib.sessions(cy))
        diary = sorted((d.day, d.pain_intercourse, d.mood, d.notes) for d in lib.diary(cy))
    return sessions, diary


def test_overlapping_bundles_in_either_order_give_the_same_library(tmp_path, library_target):
    clinic, home = _setup(tmp_path, sessions=10, clinic=library_target)     # the clinic's file or server
    with Library.open(home) as lib:
        first = practice.export_practice(lib, "Cy", tmp_path / "a.bfpack")                # everything so far
        cy = lib.client("Cy")
        for i in range(10, 16):
            day = START + dt.timedelta(days=i)
            rec = write_small_recording(home.parent / f"s{i}.bfr", f"{day.isoformat()}T19:00:00+00:00",
                                        "relaxation", 7.0, seed=i)
            lib.add_session(cy, rec, f"{day.isoformat()}T19:00:00+00:00", "relaxation", 4.0, {})
        lib.add_diary(cy, START + dt.timedelta(days=12), pain_intercourse=4, notes="better")
        second = practice.export_practice(lib, "Cy", tmp_path / "b.bfpack", since=START + dt.timedelta(days=5))
    assert (first.sessions, second.sessions) == (10, 11)                        # days 5-9 in both
    other = tmp_path / "clinic2.sqlite"                    # another clinic library that knows her by her id
    with Library.open(other) as lib, Library.open(clinic) as first_lib:
        lib.set_client_uid(lib.add_client("Cy"), first_lib.client_uid(first_lib.client("Cy")))
    with Library.open(clinic) as lib:
        practice.import_practice(lib, tmp_path / "a.bfpack")
        practice.import_practice(lib, tmp_path / "b.bfpack")
    with Library.open(other) as lib:
        practice.import_practice(lib, tmp_path / "b.bfpack")
        result = practice.import_practice(lib, tmp_path / "a.bfpack")
        assert result.sessions_known == 5 and result.sessions_added == 5
    assert _state(clinic) == _state(other)
    sessions, diary = _state(clinic)
    assert len(sessions) == 16 and {s[2] for s in sessions} == {"home"}
    assert len(diary) == 6
    assert _state(clinic)[0] == [(*s[:2], "home", *s[3:]) for s in _state(home)[0]]   # the very same recordings
    with Library.open(clinic) as lib:                                           # and again: nothing changes
        again = practice.import_practice(lib, tmp_path / "b.bfpack")
        if lib.is_server:                                   # every recording uploaded and verified
            from biofeedback.clinic.sync import local_digest, stored_digest
            filed = lib.sessions(lib.client("Cy"))
            assert all(stored_digest(lib, s.id) == local_digest(s.recording_path) for s in filed)
    assert (again.sessions_added, again.diary_added) == (0, 0)
    assert _state(clinic) == _state(other)


def _import_process(bundle: Path, library: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "biofeedback", "practice", "import", str(bundle), "--library",
                             str(library)], env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_sigkill_during_import_leaves_no_half_imported_session(tmp_path):
    clinic, home = _setup(tmp_path, sessions=24, seconds=120.0)
    bundle = tmp_path / "cy.bfpack"
    with Library.open(home) as lib:
        practice.export_practice(lib, "Cy", bundle)
    with zipfile.ZipFile(bundle) as zf:
        import json
        manifest = json.loads(zf.read("manifest.json"))
    good = {Path(name).name: entry["sha256"] for name, entry in manifest["members"].items() if name.endswith(".bfr")}
    reference = tmp_path / "reference.sqlite"
    shutil.copy(clinic, reference)
    with Library.open(reference) as lib:
        practice.import_practice(lib, bundle)
    killed_midway = 0
    for kill_after in (1, 5, 12):
        target = tmp_path / f"clinic-{kill_after}" / "clinic.sqlite"
        target.parent.mkdir()
        shutil.copy(clinic, target)
        with Library.open(target) as lib:
            folder = target.parent / practice.IMPORT_FOLDER / lib.client_uid(lib.client("Cy"))
        proc = _import_process(bundle, target)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if folder.is_dir() and len(os.listdir(folder)) >= kill_after:
                break
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        proc.stdout.close()
        proc.stderr.close()
        with Library.open(target) as lib:
            filed = lib.sessions(lib.client("Cy"))
        killed_midway += len(filed) < len(good)
        for s in filed:                                   # every filed session has its whole recording
            path = Path(s.recording_path)
            assert path.is_file() and _sha(path) == good[path.name], s
        result = subprocess.run([sys.executable, "-m", "biofeedback", "practice", "import", str(bundle),
                                 "--library", str(target)], env=cli_env(), capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr
        assert _state(target) == _state(reference)
        assert not [n for n in os.listdir(folder) if n.endswith(".part")]
    assert killed_midway >= 1                              # the kill really landed in the middle at least once
