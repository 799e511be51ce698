"""Shared helpers for the serial and emulator tests (pseudo-terminals, real pyserial)."""
from __future__ import annotations

import time

import numpy as np

from biofeedback.stream import Block

ALL_DEVICES = ["openbci-cyton", "olimex-ekg-emg", "arduino-emg", "arduino-pressure", "generic-text", "bitalino-emg"]


def noise_signal(n_channels: int, seed: int = 1, level: float = 30.0):
    """A deterministic test signal in physical units (no simulator needed)."""
    rng = np.random.default_rng(seed)
    return lambda n: rng.normal(10.0, level, (n, n_channels))


def wait_until(predicate, timeout: float, poll: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return bool(predicate())


def drain(source, seconds: float, until=None) -> list[Block]:
    """Read blocks for ``seconds`` (or until ``until(blocks)``), checking they are consecutive."""
    blocks: list[Block] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        blocks += source.read()
        if until is not None and until(blocks):
            break
        time.sleep(0.01)
    blocks += source.read()
    for a, b in zip(blocks, blocks[1:]):
        assert b.start == a.stop, "blocks must be consecutive"
    return blocks


def stack(blocks: list[Block], n_channels: int) -> np.ndarray:
    return np.concatenate([b.data for b in blocks]) if blocks else np.empty((0, n_channels))


def align(sent: np.ndarray, received: np.ndarray, window: int = 12) -> int:
    """Index in ``sent`` where ``received`` begins (the receiver dropped stale input first)."""
    first = received[:window]
    for offset in range(len(sent) - len(first) + 1):
        if np.allclose(sent[offset:offset + len(first)], first, rtol=1e-12, atol=1e-9):
            return offset
    raise AssertionError("received samples do not appear in what the emulator sent")


def forbidden_port(emulator) -> str:
    """A serial port this test's 'ordinary user' may not open (see :func:`run_as_ordinary_user`).

    As root, the emulator's pseudo-terminal made root-only (0600) is forbidden to the child once it
    drops to 'nobody'. As an ordinary user, a root-owned serial device we have no access to is used;
    without one the test is skipped (we cannot take our own permissions away).
    """
    import glob
    import os

    import pytest

    if os.geteuid() == 0:
        os.chmod(emulator.pty_path, 0o600)
        return emulator.pty_path
    found = next((p for p in sorted(glob.glob("/dev/ttyS*")) if not os.access(p, os.R_OK | os.W_OK)), None)
    if found is None:
        pytest.skip("no serial device without access to test with, and not root")
    return found


def run_as_ordinary_user(fn) -> tuple[int, str]:
    """Run ``fn() -> exit status`` in a forked child that, if root, drops to 'nobody' (uid/gid 65534) first.

    The kernel then refuses what an ordinary user may not do. Returns the child's exit status and everything
    it printed (stdout and stderr together).
    """
    import os
    import sys

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        rc = 99
        try:
            os.close(read_end)
            sys.stdout = sys.stderr = os.fdopen(write_end, "w", buffering=1)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            rc = int(fn())
        except BaseException as exc:  # report it, never let the child run on
            print(f"child failed: {exc!r}", file=sys.stderr)
        finally:
            sys.stderr.flush()
            os._exit(rc)
    os.close(write_end)
    output = b""
    while chunk := os.read(read_end, 4096):
        output += chunk
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    return os.WEXITSTATUS(status), output.decode()
