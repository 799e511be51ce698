"""The library's command-line side: clients, diary, history, progress report."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from biofeedback.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "biofeedback", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_clients_goal_diary_history_json(library_target, capsys):
    lib = library_target
    assert main(["clients", "Ana", "--add", "--notes", "PVD", "--library", lib]) == 0
    assert main(["clients", "Ana", "--goal", "pain_intercourse<=3", "--label", "pain at most 3/10",
                 "--library", lib]) == 0
    assert main(["diary", "ana", "--date", "2026-02-10", "--pain", "6", "--mood", "2", "--library", lib]) == 0
    assert main(["diary", "ana", "--date", "2026-02-03", "--pain", "7", "--library", lib]) == 0
    capsys.readouterr()
    assert main(["diary", "ana", "--date", "2026-02-24", "--pain", "3", "--mood", "4", "--minutes", "15",
                 "--notes", "first time without pain meds", "--library", lib]) == 0
    assert "milestone: pain at most 3/10 (first met 2026-02-24)" in capsys.readouterr().out
    assert main(["history", "ANA", "--json", "--library", lib]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [p["day"] for p in data["trends"]["pain_intercourse"]["points"]] == ["2026-02-03", "2026-02-10",
                                                                                "2026-02-24"]
    assert data["goals"] == [{"goal": "pain at most 3/10", "metric": "pain_intercourse", "comparison": "<=",
                              "target": 3.0, "protocol": None, "met_on": "2026-02-24", "latest": 3.0, "met_now": True}]
    assert main(["history", "Ana", "--library", lib]) == 0
    assert "goal: pain at most 3/10: met on 2026-02-24" in capsys.readouterr().out


def test_user_errors_are_one_line_and_exit_2(tmp_path):
    lib = tmp_path / "lib.sqlite"
    r = run("history", "nobody", "--library", str(lib))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no library" in r.stderr
    assert not lib.exists()
    assert run("clients", "Bo", "--add", "--library", str(lib)).returncode == 0
    r = run("diary", "Bo", "--mood", "9", "--library", str(lib))
    assert r.returncode == 2 and "mood must be between 1 and 5" in r.stderr and "Traceback" not in r.stderr
    r = run("report", "--client", "Bo", "--out", str(tmp_path / "x.txt"), "--library", str(lib))
    assert r.returncode == 2 and ".pdf or .html" in r.stderr


def test_damaged_library_through_the_cli_changes_nothing(tmp_path):
    lib = tmp_path / "lib.sqlite"
    lib.write_bytes(b"SQLite format 3\x00" + os.urandom(3000))
    before = hashlib.sha256(lib.read_bytes()).hexdigest()
    for args in (["diary", "Bo", "--pain", "2"], ["clients", "Bo", "--add"], ["history", "Bo"]):
        r = run(*args, "--library", str(lib))
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
        assert "damaged" in r.stderr and "Traceback" not in r.stderr
    assert hashlib.sha256(lib.read_bytes()).hexdigest() == before


def test_library_from_environment(tmp_path):
    lib = tmp_path / "env" / "lib.sqlite"
    lib.parent.mkdir()                    # a named library's folder must exist (only the default one is created)
    r = run("clients", "Cy", "--add", env_extra={"BIOFEEDBACK_LIBRARY": str(lib)})
    assert r.returncode == 0, r.stderr
    assert lib.exists()
    r = run("clients", env_extra={"XDG_DATA_HOME": str(tmp_path / "xdg"), "BIOFEEDBACK_LIBRARY": ""})
    assert r.returncode == 0
    assert (tmp_path / "xdg" / "biofeedback" / "library.sqlite").exists()


def test_progress_line_on_a_terminal_only(tmp_path):
    import pty
    lib = str(tmp_path / "lib.sqlite")
    assert main(["clients", "Di", "--add", "--library", lib]) == 0
    assert main(["diary", "Di", "--date", "2026-01-02", "--pain", "5", "--mood", "3", "--library", lib]) == 0
    master, slave = pty.openpty()
    try:
        env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
        r = subprocess.run([sys.executable, "-m", "biofeedback", "report", "--client", "Di", "--out",
                            str(tmp_path / "p.html"), "--library", lib], stdout=subprocess.PIPE, stderr=slave,
                           env=env, timeout=120)
        os.close(slave)
        slave = -1
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if slave != -1:
            os.close(slave)
        os.close(master)
    assert r.returncode == 0
    assert b"\rreport:  20 %" in seen and b"\rreport: 100 %\r\n" in seen.replace(b"\r\r", b"\r")
    quiet = run("report", "--client", "Di", "--out", str(tmp_path / "q.html"), "--library", lib)
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_library_status_on_an_unreachable_server_says_so_and_exits_2(tmp_path):
    """Like every command on a server that cannot be reached: one line, exit 2; the upload queue still shown."""
    import socket

    from biofeedback.clinic.sync import queue_filing
    from tests.helpers import assert_one_line_error, run_cli
    with socket.socket() as s:               # a port where nothing listens (bound, never listened on)
        s.bind(("127.0.0.1", 0))
        target = f"postgresql://therapist@127.0.0.1:{s.getsockname()[1]}/biofeedback"
        queue_filing(target, tmp_path / "kept.bfr", "Anna", "the server was down")
        r = run_cli("library", "status", "--library", target)
    err = assert_one_line_error(r)
    assert err.startswith("biofeedback: cannot reach the library server ")
    assert f"backend: postgresql ({target})" in r.stdout            # what stays true without the server
    assert "schema version: unknown (the server cannot be reached)" in r.stdout
    assert "pending uploads: 1" in r.stdout and "kept.bfr (Anna, queued " in r.stdout
