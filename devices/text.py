"""Arduino Serial Plotter text lines (MyoWare and other analog boards, pressure sensors, generic text).

One sample per line: numbers separated by commas, spaces or tabs, each optionally
written ``label:value``; ``\\n`` or ``\\r\\n`` ends a line. A header line of labels
only (``pfm:,abd:``) names the columns. With ``counter=True`` the first number of
each line is a sample counter (wrapping at ``counter_modulo``) that reveals lost
lines; a jump of ``counter_max_gap`` (default 4096) or more counts as a device
restart, not as lost lines. Banner lines, damaged lines and lines with the wrong number of values are
skipped and counted (their bytes too); lines longer than ``max_line`` bytes are
garbage. ``columns`` is the number of data values per line (counter excluded);
None learns it from the first data line.
"""
from __future__ import annotations

import math
import re

from devices.base import CounterTracker, DecodeResult, RowCollector

_SEPARATORS = re.compile(rb"[,\t ]+")
_NUMBER = re.compile(rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_INTEGER = re.compile(rb"\+?\d+")
_LABEL = re.compile(rb"[A-Za-z_][A-Za-z0-9_ .()/%-]*")


class TextLineDecoder:
    """Incremental decoder; see :mod:`devices.base` for the result contract."""

    def __init__(self, columns: int | None = None, counter: bool = False, counter_modulo: int = 65536,
                 counter_max_gap: int | None = None, max_line: int = 256) -> None:
        self.n_columns: int | None = columns
        self.counter = counter
        self.max_line = max_line
        self.labels: list[str] = []
        self._tracker = CounterTracker(counter_modulo, counter_max_gap if counter_max_gap is not None
                                       else min(counter_modulo // 2, 4096))
        self._pending = bytearray()
        self._overflow = False
        self._out: RowCollector | None = None
        self._skipped_bytes = 0
        self._skipped_lines = 0

    # ------------------------------------------------------------------ feeding
    def feed(self, data: bytes) -> DecodeResult:
        self._out = RowCollector(self.n_columns or 0)
        self._skipped_bytes = self._skipped_lines = 0
        data = bytes(data)
        pos = 0
        while True:
            nl = data.find(b"\n", pos)
            if nl < 0:
                rest = data[pos:]
                if self._overflow:
                    self._skipped_bytes += len(rest)
                else:
                    self._pending += rest
                    if len(self._pending) > self.max_line:
                        self._overflow = True
                        self._skipped_bytes += len(self._pending)
                        self._pending.clear()
                break
            segment = data[pos:nl]
            if self._overflow:
                self._overflow = False
                self._skipped_bytes += len(segment) + 1
                self._skipped_lines += 1
            else:
                line = bytes(self._pending) + segment
                self._pending.clear()
                if len(line) > self.max_line:
                    self._garbage(line)
                else:
                    self._line(line)
            pos = nl + 1
        out, self._out = self._out, None
        result = out.result()
        result.skipped_bytes += self._skipped_bytes
        result.skipped_lines += self._skipped_lines
        return result

    def reset(self) -> None:
        self._pending.clear()
        self._overflow = False
        self._tracker.reset()

    # ------------------------------------------------------------------ one line
    def _garbage(self, line: bytes) -> None:
        self._skipped_lines += 1
        self._skipped_bytes += len(line) + 1

    def _line(self, raw: bytes) -> None:
        """One line: a header names the columns, a data line becomes a row, anything else is garbage."""
        parsed = _parse_fields(raw)
        if parsed is None:
            self._garbage(raw)
            return
        labels, values = parsed
        if all(v is None for v in values):  # header line: labels only
            self.labels = labels
            return
        numbers = [v for v in values if v is not None]
        if len(numbers) != len(values):    # some labels with a value, some without
            self._garbage(raw)
            return
        split = self._split_counter(numbers)
        if split is None:
            self._garbage(raw)
            return
        counter, row = split
        if self.n_columns is None and row:
            self.n_columns = len(row)
        if len(row) != self.n_columns or not row:
            self._garbage(raw)
            return
        self._emit(row, counter)

    def _split_counter(self, values: list[tuple[float, bytes]]) -> tuple[int | None, list[float]] | None:
        """(counter, data values); None when the counter a counting device must send is not a whole number."""
        if not self.counter:
            return None, [v[0] for v in values]
        if not values or not _INTEGER.fullmatch(values[0][1]):
            return None
        return int(values[0][0]), [v[0] for v in values[1:]]

    def _emit(self, row: list[float], counter: int | None) -> None:
        out = self._out
        assert out is not None, "lines are decoded only inside feed()"
        out.n_columns = len(row)
        if counter is not None:
            lost = self._tracker.step(counter)
            if lost is None:
                out.restarts += 1
            else:
                out.add_gap(lost)
        out.add(row)


def _parse_fields(raw: bytes) -> tuple[list[str], list[tuple[float, bytes] | None]] | None:
    """Labels and (number, its text) per field, None for a label without a value; None for a damaged line."""
    line = raw.strip(b" \t\r")
    tokens = [t for t in _SEPARATORS.split(line) if t] if line else []
    if not tokens:
        return None
    labels: list[str] = []
    values: list[tuple[float, bytes] | None] = []
    for token in tokens:
        label, colon, value = token.rpartition(b":")
        if colon:
            if not _LABEL.fullmatch(label):
                return None
            labels.append(label.decode("ascii"))
            if not value:
                values.append(None)
                continue
        else:
            value = token
        if not _NUMBER.fullmatch(value):
            return None
        number = float(value)
        if not math.isfinite(number):
            return None
        values.append((number, value))
    return labels, values


def format_number(value: float, decimals: int) -> str:
    """How a device prints one value: an integer when ``decimals`` is 0."""
    return str(int(round(value))) if decimals <= 0 else f"{value:.{decimals}f}"


def encode(values, counter_start: int | None = None, counter_modulo: int = 65536, decimals: int = 0,
           labels: list[str] | None = None, newline: str = "\r\n") -> bytes:
    """Text lines for ``values`` (n, c): ``[counter,]v1,v2`` or ``label:v`` pairs when labels are given."""
    lines = []
    for k, row in enumerate(values):
        fields = [format_number(v, decimals) for v in row]
        if labels:
            fields = [f"{name}:{f}" for name, f in zip(labels, fields)]
        if counter_start is not None:
            fields.insert(0, str((counter_start + k) % counter_modulo))
        lines.append(",".join(fields) + newline)
    return "".join(lines).encode("ascii")
