"""What every decoder returns, and the bookkeeping they share.

Decoders are incremental: ``feed(data) -> DecodeResult`` takes whatever bytes
arrived and returns the samples completed by them. The contract:

* ``samples`` is a float array ``(n, n_columns)`` in the device's own units (ADC
  counts, or the numbers a text device printed). Samples that a counter proves
  lost are already in it as **NaN rows**, at the place they were lost, so the
  rows are consecutive on the device's clock.
* ``gaps`` lists those NaN runs as ``(row, count)``: ``count`` lost samples start
  at row ``row`` of ``samples``. ``lost`` is their sum.
* ``skipped_bytes`` counts bytes thrown away while looking for the next packet
  (garbage, a banner, a torn packet); ``skipped_lines`` counts text lines that were
  not data (banners, damaged lines). ``restarts`` counts counter jumps too large
  to be losses (the device restarted); no NaN rows are made for those.
* No input ever raises, and any split of the same bytes into ``feed`` calls gives
  the same samples, gaps and counts in total (rows of ``gaps`` are relative to
  each result).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class DecodeResult:
    samples: np.ndarray
    gaps: list[tuple[int, int]] = field(default_factory=list)
    lost: int = 0
    skipped_bytes: int = 0
    skipped_lines: int = 0
    restarts: int = 0

    @property
    def n(self) -> int:
        return int(self.samples.shape[0])


class RowCollector:
    """Collects decoded rows and NaN runs in order, then builds one :class:`DecodeResult`."""

    def __init__(self, n_columns: int) -> None:
        self.n_columns = n_columns
        self.rows: list[np.ndarray | list[float]] = []
        self.n_rows = 0
        self.gaps: list[tuple[int, int]] = []
        self.lost = 0
        self.skipped_bytes = 0
        self.skipped_lines = 0
        self.restarts = 0

    def add(self, row) -> None:
        self.rows.append(row)
        self.n_rows += 1

    def add_gap(self, count: int) -> None:
        if count <= 0:
            return
        self.gaps.append((self.n_rows, count))
        self.rows.append(np.full((count, self.n_columns), np.nan))
        self.n_rows += count
        self.lost += count

    def result(self) -> DecodeResult:
        if not self.rows:
            samples = np.empty((0, self.n_columns))
        else:
            parts = [np.asarray(r, dtype=np.float64).reshape(-1, self.n_columns) for r in self.rows]
            samples = np.concatenate(parts, axis=0)
        return DecodeResult(samples, self.gaps, self.lost, self.skipped_bytes, self.skipped_lines, self.restarts)


class CounterTracker:
    """Turns a wrapping sample counter into a count of lost samples.

    A jump of ``max_gap`` or more is taken as a device restart, not as a loss.
    """

    def __init__(self, modulo: int, max_gap: int | None = None) -> None:
        self.modulo = int(modulo)
        self.max_gap = int(max_gap if max_gap is not None else modulo)
        self.last: int | None = None

    @property
    def expected(self) -> int | None:
        return None if self.last is None else (self.last + 1) % self.modulo

    def step(self, counter: int) -> int | None:
        """Record ``counter``; return the samples lost before it, or None for a restart."""
        last, self.last = self.last, counter % self.modulo
        if last is None:
            return 0
        lost = (counter - last - 1) % self.modulo
        if lost >= self.max_gap:
            return None
        return lost

    def reset(self) -> None:
        self.last = None


def join_results(results: list[DecodeResult], n_columns: int) -> DecodeResult:
    """Concatenate successive results into one (gap rows shifted), e.g. to compare chunkings."""
    parts: list[np.ndarray] = []
    gaps: list[tuple[int, int]] = []
    offset = 0
    total = DecodeResult(np.empty((0, n_columns)))
    for r in results:
        if r.n:
            parts.append(r.samples.reshape(r.n, -1))
        gaps.extend((row + offset, count) for row, count in r.gaps)
        offset += r.n
        total.lost += r.lost
        total.skipped_bytes += r.skipped_bytes
        total.skipped_lines += r.skipped_lines
        total.restarts += r.restarts
    if parts:
        total.samples = np.concatenate(parts, axis=0)
    total.gaps = gaps
    return total


class PacketDecoder:
    """What the binary packet decoders share: the bytes not yet decoded, the device's sample
    counter, and whether the stream is in step. Subclasses set ``counter_modulo`` and write ``feed``."""

    counter_modulo = 256

    def __init__(self) -> None:
        self._buf = bytearray()
        self._counter = CounterTracker(self.counter_modulo)
        self._in_sync = False

    def reset(self) -> None:
        """Forget everything seen so far (a new connection)."""
        self._buf.clear()
        self._counter.reset()
        self._in_sync = False
