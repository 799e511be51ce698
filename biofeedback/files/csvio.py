"""CSV interchange: a header row, ``time_s`` first, then ``<channel>_<unit>`` per channel.

``--processed`` adds ``<channel>_envelope_<unit>`` columns. Import reads the same
layout back (envelope columns are recomputed, not imported), so export and import
round-trip.
"""
from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from biofeedback.errors import UserError
from biofeedback.files.offline import recording_envelope
from biofeedback.files.outputs import atomic_output, new_output
from biofeedback.files.recording import Recording, RecordingWriter
from biofeedback.stream import Block, Channel, StreamInfo

_UNIT_KIND = {"uV": "emg", "cmH2O": "pressure"}
_COLUMN = re.compile(r"^(?P<name>.+?)_(?P<unit>uV|cmH2O)$")
_ROWS_PER_WRITE = 20000
MIN_RATE, MAX_RATE = 0.5, 100_000.0


def export_csv(rec: Recording, out: str | Path, processed: bool = False,
               progress: Callable[[float], None] | None = None) -> int:
    """Write the recording as CSV (a new file, owner-only); returns the number of rows."""
    out = new_output(out, inputs=[rec.path], what="CSV export")
    info = rec.info
    header = ["time_s"] + [f"{c.name}_{c.unit}" for c in info.channels]
    data = rec.read()
    if processed:
        env = recording_envelope(rec, data)
        header += [f"{c.name}_envelope_{c.unit}" for c in info.channels]
        data = np.concatenate([data, env], axis=1)
    t = np.arange(data.shape[0]) / info.rate
    table = np.column_stack([t, data])
    with atomic_output(out) as tmp, open(tmp, "w", newline="") as fh:
        fh.write(",".join(header) + "\n")
        for i in range(0, table.shape[0], _ROWS_PER_WRITE):
            np.savetxt(fh, table[i:i + _ROWS_PER_WRITE], delimiter=",", fmt="%.9g")
            if progress:
                progress(min(1.0, (i + _ROWS_PER_WRITE) / max(1, table.shape[0])))
    return int(table.shape[0])


def _empty_is_lost(cell: str) -> float:
    return float(cell) if cell.strip() else np.nan


def _read_table(path: Path, usecols: list[int]) -> np.ndarray:
    """The numeric table below the header; empty cells (lost samples) become NaN."""
    kwargs = dict(delimiter=",", skiprows=1, ndmin=2, usecols=usecols, encoding="utf-8-sig")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "input contained no data": answered in one line by the caller
        try:
            return np.loadtxt(path, **kwargs)
        except ValueError:
            pass
        try:  # slower path, only for files with empty cells
            return np.loadtxt(path, converters=_empty_is_lost, **kwargs)
        except ValueError as exc:
            raise UserError(f"{path} has a malformed row ({exc})") from None


def import_csv(path: str | Path, out: str | Path) -> int:
    """Read a CSV in the export layout into a new recording; returns the number of samples."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a folder, not a CSV file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:  # -sig: spreadsheet programs add a BOM
            header = next(csv.reader(fh), None)
    except FileNotFoundError:
        raise UserError(f"no such file: {path}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not a text CSV file") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    if header and len(header) == 1 and ";" in header[0]:
        raise UserError(f"{path} separates columns with ';': export it with commas (and a decimal point)")
    if not header or header[0].strip() != "time_s":
        raise UserError(f"{path} is not a biofeedback CSV: its first column must be time_s")
    columns, channels = [], []
    for i, name in enumerate(h.strip() for h in header[1:]):
        m = _COLUMN.match(name)
        if not m:
            raise UserError(f"{path}: column {name!r} is not <channel>_uV or <channel>_cmH2O")
        if m["name"].endswith("_envelope"):
            continue
        columns.append(i + 1)
        channels.append(Channel(m["name"], _UNIT_KIND[m["unit"]], m["unit"]))
    if not channels:
        raise UserError(f"{path} has no signal columns")
    table = _read_table(path, [0] + columns)
    if table.shape[0] < 2:
        raise UserError(f"{path} holds fewer than two samples")
    times = table[:, 0]
    if not np.isfinite(times).all():
        raise UserError(f"{path}: every row needs a time in time_s")
    dt = np.diff(times)
    step = float(np.median(dt))
    rate = 1.0 / step if step > 0 else 0.0
    if not (MIN_RATE <= rate <= MAX_RATE):
        raise UserError(f"{path}: time_s must rise in equal steps of {1 / MAX_RATE:g} to {1 / MIN_RATE:g} s")
    if np.any(np.abs(dt - step) > 0.5 * step):
        raise UserError(f"{path}: time_s must rise in equal steps (one sample rate for all rows)")
    samples = table[:, 1:]
    samples[~np.isfinite(samples)] = np.nan  # empty, nan or inf cells are lost samples
    info = StreamInfo(tuple(channels), round(rate, 6), source=f"import:{path.name}", device="CSV import")
    with RecordingWriter(out, info, {"imported_from": str(path)}) as writer:
        writer.append(Block(0, samples))
    return int(table.shape[0])
