"""An emulator killed with SIGKILL comes back on its link and the recorder follows it (issue 10, item 11)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from biofeedback.files.recording import Recording
from tests.helpers import cli_env, run_cli


def _emulator(link, *extra) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-m", "biofeedback", "emulate", "arduino-emg", "--link", str(link), *extra],
                         env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = p.stdout.readline()
    assert "emulator on" in first, (first, p.stderr.read() if p.poll() is not None else "")
    return p


def _take_pty_number(path: str, taken: list[int]) -> None:
    """Open pseudo-terminals until one gets ``path`` (the kernel hands out the lowest free number)."""
    deadline = time.monotonic() + 10
    while not os.path.exists(path) and time.monotonic() < deadline:
        master, slave = os.openpty()
        taken += [master, slave]
        if os.ttyname(slave) != path and len(taken) > 40:
            os.close(taken.pop(0))
            os.close(taken.pop(0))


def _seconds(path) -> float:
    try:
        with Recording.open(path) as r:
            return r.duration_s
    except Exception:
        return 0.0


def test_emulator_killed_with_sigkill_restarts_on_its_link_and_the_recording_goes_on(tmp_path):
    link = tmp_path / "ttyEMG"
    out = tmp_path / "s.bfr"
    em = _emulator(link)
    taken: list[int] = []
    rec = subprocess.Popen([sys.executable, "-m", "biofeedback", "record", "--source",
                            f"serial:{link}?device=arduino-emg&wait=0", "--duration", "20", "--out", str(out)],
                           env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    em2 = None
    try:
        deadline = time.monotonic() + 60
        while not (out.exists() and _seconds(out) > 1.0):
            assert rec.poll() is None, rec.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        old = os.path.realpath(link)
        em.send_signal(signal.SIGKILL)
        em.wait()
        _take_pty_number(old, taken)          # the dead terminal's number now belongs to another terminal
        assert os.path.exists(old)
        em2 = _emulator(link)                             # ... yet the link is recognised as stale
        stdout, stderr = rec.communicate(timeout=90)
        assert rec.returncode == 0, stderr
    finally:
        for fd in taken:
            os.close(fd)
        for p in (em, em2, rec):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(10)
    with Recording.open(out) as r:
        kinds = [e.kind for e in r.events]
        assert "disconnected" in kinds and "reconnected" in kinds
        assert r.duration_s >= 19.9


def test_a_live_emulator_keeps_its_link(tmp_path):
    link = tmp_path / "ttyEMG"
    em = _emulator(link)
    try:
        r = run_cli("emulate", "arduino-emg", "--link", link, "--duration", "1")
        assert r.returncode == 2 and "another emulator" in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert os.readlink(link).startswith("/dev/")
    finally:
        em.send_signal(signal.SIGTERM)
        em.wait(10)
