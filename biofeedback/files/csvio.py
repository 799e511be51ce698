"""CSV interchange: a header row, ``time_s`` first, then ``<channel>_<unit>`` per channel.

``--processed`` adds ``<channel>_envelope_<unit>`` columns. Import reads the same
layout back (envelope columns are recomputed, not imported), so export and import
round-trip.

Both directions stream through the data in blocks, so memory stays bounded whatever
the recording's length. Every text cell written goes through :func:`safe_cell`: a
cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR
first) gets a leading apostrophe; numbers stay numbers.
"""
from __future__ import annotations

import csv
import itertools
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from biofeedback.errors import UserError
from biofeedback.files.offline import chain_settings_from_meta
from biofeedback.files.outputs import atomic_output, new_output
from biofeedback.files.recording import MAX_CHANNELS, Recording, RecordingWriter, envelope_blocks
from biofeedback.stream import Block, Channel, StreamInfo

_UNIT_KIND = {"uV": "emg", "cmH2O": "pressure"}
_COLUMN = re.compile(r"^(?P<name>.+?)_(?P<unit>uV|cmH2O)$")
_ROWS_PER_BLOCK = 65536
MIN_RATE, MAX_RATE = 0.5, 100_000.0
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A text cell a spreadsheet cannot run as a formula: formula-leading text gets a leading apostrophe.

    Numbers (int, float, numpy numbers) are returned unchanged, so a negative value stays a number.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_row(fh, cells: Iterable[Any]) -> None:
    """One CSV row with every text cell neutralised (the rule for every CSV the program writes)."""
    row = [safe_cell(c) for c in cells]
    awkward = any(isinstance(c, str) and "\r" in c for c in row)     # csv quotes \n but not a lone \r
    csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC if awkward else csv.QUOTE_MINIMAL).writerow(row)


def export_csv(rec: Recording, out: str | Path, processed: bool = False,
               progress: Callable[[float], None] | None = None) -> int:
    """Write the recording as CSV (a new file, owner-only), block by block; returns the number of rows."""
    out = new_output(out, inputs=[rec.path], what="CSV export")
    info = rec.info
    header = ["time_s"] + [f"{c.name}_{c.unit}" for c in info.channels]
    if processed:
        header += [f"{c.name}_envelope_{c.unit}" for c in info.channels]
    total = rec.n_samples
    with atomic_output(out) as tmp, open(tmp, "w", newline="") as fh:
        write_row(fh, header)
        row = ",".join(["%.9g"] * len(header)) + "\n"
        for start, data in _rows(rec, processed):
            t = (start + np.arange(data.shape[0])) / info.rate
            table = np.column_stack([t, data]).ravel().tolist()
            fh.write((row * data.shape[0]) % tuple(table))      # what np.savetxt writes, several times faster
            if progress:
                progress(min(1.0, (start + data.shape[0]) / max(1, total)))
    return int(total)


def _rows(rec: Recording, processed: bool) -> Iterator[tuple[int, np.ndarray]]:
    """(first sample, block of columns) through the recording; with ``processed`` the envelopes follow."""
    if not processed:
        for blk in rec.iter_blocks(_ROWS_PER_BLOCK):
            yield blk.start, blk.data
        return
    settings = chain_settings_from_meta(rec.meta)
    for raw, _, env in envelope_blocks(rec, settings, _ROWS_PER_BLOCK):
        yield raw.start, np.concatenate([raw.data, env], axis=1)


def _empty_is_lost(cell: str) -> float:
    return float(cell) if cell.strip() else np.nan


def _parse_rows(path: Path, lines: list[str], usecols: list[int], first_line: int) -> np.ndarray:
    """A block of lines as numbers; empty cells (lost samples) become NaN."""
    kwargs: dict[str, Any] = dict(delimiter=",", ndmin=2, usecols=usecols)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return np.loadtxt(lines, **kwargs)
        except ValueError:
            pass
        try:  # slower path, only for blocks with empty cells
            return np.loadtxt(lines, converters=_empty_is_lost, **kwargs)
        except ValueError as exc:
            raise UserError(f"{path} has a malformed row near line {first_line} ({exc})") from None


def _header(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:  # -sig: spreadsheet programs add a BOM
            line = fh.readline(1_000_000)
    except FileNotFoundError:
        raise UserError(f"no such file: {path}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not a text CSV file") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    if line.count(",") > MAX_CHANNELS * 2 + 1:      # envelope columns may double the signal columns
        raise UserError(f"{path} has {line.count(',')} columns; a recording holds at most {MAX_CHANNELS} channels")
    return next(csv.reader([line]), [])


def import_csv(path: str | Path, out: str | Path) -> int:
    """Read a CSV in the export layout into a new recording, block by block; returns the number of samples.

    The recording appears under ``out`` only when it is complete (a killed import leaves no file there).
    """
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a folder, not a CSV file")
    header = _header(path)
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
    if len(channels) > MAX_CHANNELS:
        raise UserError(f"{path} has {len(channels)} channels; a recording holds at most {MAX_CHANNELS}")
    out = new_output(out, inputs=[path], what="recording")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        fh.readline()
        blocks = _blocks(path, fh, [0] + columns)
        first = next(blocks, None)
        if first is None or first.shape[0] < 2:
            raise UserError(f"{path} holds fewer than two samples")
        step = _step(path, first[:, 0])
        rate = 1.0 / step
        info = StreamInfo(tuple(channels), round(rate, 6), source=f"import:{path.name}", device="CSV import")
        n = 0
        last_t = None
        with atomic_output(out) as tmp:
            tmp.unlink()                                   # the writer creates its own file (never over one)
            with RecordingWriter(tmp, info, {"imported_from": str(path)}, commit_every_s=60.0) as writer:
                for table in itertools.chain([first], blocks):
                    times = table[:, 0]
                    _check_times(path, times, step, last_t)
                    last_t = float(times[-1])
                    samples = table[:, 1:]
                    samples[~np.isfinite(samples)] = np.nan  # empty, nan or inf cells are lost samples
                    writer.append(Block(n, samples))
                    n += samples.shape[0]
    return n


def _blocks(path: Path, fh, usecols: list[int]):
    line_no = 2
    while True:
        lines = [ln for ln in itertools.islice(fh, _ROWS_PER_BLOCK) if ln.strip()]
        if not lines:
            return
        yield _parse_rows(path, lines, usecols, line_no)
        line_no += len(lines)


def _step(path: Path, times: np.ndarray) -> float:
    if not np.isfinite(times).all():
        raise UserError(f"{path}: every row needs a time in time_s")
    step = float(np.median(np.diff(times)))
    rate = 1.0 / step if step > 0 else 0.0
    if not (MIN_RATE <= rate <= MAX_RATE):
        raise UserError(f"{path}: time_s must rise in equal steps of {1 / MAX_RATE:g} to {1 / MIN_RATE:g} s")
    return step


def _check_times(path: Path, times: np.ndarray, step: float, last_t: float | None) -> None:
    if not np.isfinite(times).all():
        raise UserError(f"{path}: every row needs a time in time_s")
    dt = np.diff(times if last_t is None else np.concatenate([[last_t], times]))
    if np.any(np.abs(dt - step) > 0.5 * step):
        raise UserError(f"{path}: time_s must rise in equal steps (one sample rate for all rows)")
