"""Ctrl-C to `biofeedback record` while the serial port is still opening: out at once, no recording left behind."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.sources.serial_helpers import wait_until
from tests.sources.test_serial_stop import port_is_free

ROOT = Path(__file__).resolve().parents[2]


def _holds(pid: int, path: str) -> bool:
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        return any(os.readlink(fd) == path for fd in fd_dir.iterdir())
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc to see when the port is open")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_record_stops_on_ctrl_c_while_the_port_is_opening(signum, tmp_path, emulators):
    em = emulators("arduino-emg")
    out = tmp_path / "s.bfr"
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    child = subprocess.Popen([sys.executable, "-m", "biofeedback", "record", "--source",
                              f"serial:{em.pty_path}?device=arduino-emg&wait=20", "--duration", "5",
                              "--out", str(out)], cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: _holds(child.pid, em.pty_path) or child.poll() is not None, 20.0)
        assert child.poll() is None, child.communicate()
        time.sleep(0.2)  # well inside the 20 s wait after opening
        child.send_signal(signum)
        t = time.monotonic()
        try:
            _, err = child.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            pytest.fail(f"record ignored signal {signum} while the port was opening")
        took = time.monotonic() - t
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert took < 2.0, f"took {took:.1f} s to stop"
    assert child.returncode in (130, 2), err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 1, err
    assert not out.exists()
    assert port_is_free(em.pty_path)
