"""CSV interchange: a header row, ``time_s`` first, then ``<channel>_<unit>`` per channel.

``--processed`` adds ``<channel>_envelope_<unit>`` columns. Import reads the same
layout back (envelope columns are recomputed, not imported), so export and import
round-trip.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Callable

import numpy as np

from biofeedback.chain import ChainSettings, envelope_offline
from biofeedback.errors import UserError
from biofeedback.recording import Recording, RecordingWriter
from biofeedback.stream import Block, Channel, StreamInfo

_UNIT_KIND = {"uV": "emg", "cmH2O": "pressure"}
_COLUMN = re.compile(r"^(?P<name>.+?)_(?P<unit>uV|cmH2O)$")
_ROWS_PER_WRITE = 20000


def export_csv(rec: Recording, out: str | Path, processed: bool = False,
               progress: Callable[[float], None] | None = None) -> int:
    """Write the recording as CSV; returns the number of rows."""
    info = rec.info
    header = ["time_s"] + [f"{c.name}_{c.unit}" for c in info.channels]
    data = rec.read()
    if processed:
        _, env = envelope_offline(data, info, ChainSettings.from_dict(rec.meta.get("chain")))
        header += [f"{c.name}_envelope_{c.unit}" for c in info.channels]
        data = np.concatenate([data, env], axis=1)
    t = np.arange(data.shape[0]) / info.rate
    table = np.column_stack([t, data])
    try:
        with open(out, "w", newline="") as fh:
            fh.write(",".join(header) + "\n")
            for i in range(0, table.shape[0], _ROWS_PER_WRITE):
                np.savetxt(fh, table[i:i + _ROWS_PER_WRITE], delimiter=",", fmt="%.9g")
                if progress:
                    progress(min(1.0, (i + _ROWS_PER_WRITE) / max(1, table.shape[0])))
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror}") from None
    return int(table.shape[0])


def import_csv(path: str | Path, out: str | Path) -> int:
    """Read a CSV in the export layout into a new recording; returns the number of samples."""
    path = Path(path)
    try:
        with open(path, newline="") as fh:
            header = next(csv.reader(fh), None)
    except FileNotFoundError:
        raise UserError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None
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
    try:
        table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, usecols=[0] + columns)
    except ValueError as exc:
        raise UserError(f"{path} has a malformed row ({exc})") from None
    if table.shape[0] < 2:
        raise UserError(f"{path} holds fewer than two samples")
    dt = np.diff(table[:, 0])
    rate = 1.0 / float(np.median(dt))
    if not np.isfinite(rate) or rate <= 0 or np.any(np.abs(dt - 1.0 / rate) > 0.5 / rate):
        raise UserError(f"{path}: time_s must rise in equal steps (one sample rate for all rows)")
    info = StreamInfo(tuple(channels), round(rate, 6), source=f"import:{path.name}", device="CSV import")
    with RecordingWriter(out, info, {"imported_from": str(path)}) as writer:
        writer.append(Block(0, table[:, 1:]))
    return int(table.shape[0])
