"""Helpers shared by the tests: the real command in a subprocess, and the one-line error rule."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def run_cli(*args: str, timeout: float = 120.0, cwd: str | Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m biofeedback ARGS`` and capture its output."""
    return subprocess.run([sys.executable, "-m", "biofeedback", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=cli_env(), cwd=cwd)


def assert_one_line_error(result: subprocess.CompletedProcess) -> str:
    """A user error: exit status 2, one line on stderr, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    err = result.stderr.strip()
    assert "Traceback" not in result.stderr, result.stderr
    assert len(err.splitlines()) == 1, err
    assert err.startswith("biofeedback: "), err
    return err
