"""``record --client`` and the window file a guided session alike: the same library rows, the same milestones.

Both paths stand on one SessionController; this runs the real command line in a subprocess and a real
offscreen window on the same simulated session (profile, seed, rate) and compares what the library holds.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from biofeedback.clinic.library import Library
from biofeedback.files.recording import Recording
from biofeedback.protocols import load_protocol

REPO = Path(__file__).resolve().parents[2]
SPEC = "sim:healthy?seed=11&rate=500"
GOALS = (("resting_tone_uv", "<", 1000.0, "a calm rest"),          # met by this session
         ("release_latency_s", "<=", 5.0, "let go within 5 s"),    # met by this session
         ("contraction_peak_uv", ">=", 10000.0, "out of reach"))   # not met


def new_library(path: Path) -> Path:
    with Library.open(path) as lib:
        ana = lib.add_client("Ana")
        for metric, op, target, label in GOALS:
            lib.add_goal(ana, metric, op, target, label)
    return path


def library_rows(path: Path) -> tuple[list[tuple], list[tuple]]:
    """The client's session rows and goals, without ids, timestamps or paths."""
    with Library.open(path) as lib:
        client = lib.client("Ana")
        sessions = [(s.protocol, round(s.duration_s or 0.0, 6), s.summary) for s in lib.sessions(client)]
        goals = [(g.metric, g.comparison, g.target, g.label, g.met_on) for g in lib.goals(client)]
    return sessions, goals


def live_check(path: Path) -> dict:
    with Recording.open(path) as rec:
        return dict(rec.meta["live_quality"])


@pytest.mark.timeout(600)
def test_record_and_the_window_give_the_same_library_rows(make_window, qtbot, tmp_path):
    glazer = load_protocol("glazer")
    # -- the command line, as a therapist types it
    cli_lib = new_library(tmp_path / "cli.sqlite")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-m", "biofeedback", "record", "--client", "ana", "--protocol", "glazer",
                           "--source", SPEC, "--speed", "max", "--out", str(tmp_path / "cli.bfr"),
                           "--library", str(cli_lib)], env=env, capture_output=True, text=True, timeout=500)
    assert done.returncode == 0, done.stderr
    assert "filed in Ana's history" in done.stdout
    assert done.stdout.count("milestone: ") == 2

    # -- the window: choose the client, start the exercise and the recording together, let it run
    win_lib = new_library(tmp_path / "window.sqlite")
    win = make_window(source=None, speed=None, library_path=win_lib)
    win.clients.ask_diary = False
    with Library.open(win_lib) as lib:
        win.clients.set_client(lib.client("Ana"))
    win.controller.open(SPEC)                    # the window shows the source (not started yet)
    assert win.source_label.text().startswith("Simulated patient")
    win.sim_follows.setChecked(True)             # the demo (off by default): the patient follows, as in record
    win.start_protocol("glazer")
    win.start_recording(tmp_path / "window.bfr", duration_s=glazer.total_s)
    assert win.record_button.isChecked() and win.protocol_button.text() == "Stop exercise"
    win.controller.start()
    qtbot.waitUntil(lambda: win.controller.last_filed is not None, timeout=450_000)
    assert not win.record_button.isChecked() and win.runner is None

    cli_rows, win_rows = library_rows(cli_lib), library_rows(win_lib)
    assert len(cli_rows[0]) == 1 and cli_rows[0][0][0] == "glazer"
    assert cli_rows[0][0][1] == pytest.approx(glazer.total_s)
    assert [g[-1] is not None for g in cli_rows[1]] == [True, True, False]
    assert win_rows == cli_rows
    # and the same live signal check kept in each recording (the controller keeps it, whoever polls)
    cli_live, win_live = (live_check(tmp_path / f"{name}.bfr") for name in ("cli", "window"))
    assert cli_live["light"] in ("green", "amber", "red")
    assert win_live == cli_live
