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
