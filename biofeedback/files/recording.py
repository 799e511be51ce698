"""Crash-safe recording files: SQLite as an application file format.

Layout (format version 1):

- ``meta(key TEXT PRIMARY KEY, value TEXT)``: JSON values: ``format``,
  ``format_version``, ``info`` (channels, units, rate, source, device),
  ``program_version``, ``started_at``, ``chain`` (signal-chain settings),
  ``client``, ``protocol``, ``calibration``, ``bands``, ``summary``, and
  ``closed_at`` once the file was closed cleanly.
- ``chunks(start INTEGER PRIMARY KEY, n INTEGER, data BLOB)``: consecutive
  samples, about one second per row, float32 little-endian, interleaved
  ``(n, n_channels)``; lost samples are NaN.
- ``events(id INTEGER PRIMARY KEY, time_s REAL, kind TEXT, label TEXT, data TEXT)``.

While recording the file is in WAL mode with ``synchronous=FULL`` and one
transaction at least every second (of signal, and of wall-clock time), so a
``kill -9`` or a power cut loses at most the last second and the file opens
afterwards with no repair step. A clean close checkpoints and switches back to
a single self-contained file (rollback journal), so a finished recording can be
copied, mailed or opened from a read-only folder.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from biofeedback import __version__
from biofeedback.errors import RecordingError, UserError
from biofeedback.files.outputs import clean_stale_parts, publish, temp_path
from biofeedback.stream import Block, Event, StreamInfo

#: Most channels a recording may hold: more is not a pelvic-floor device (and would only cost memory).
MAX_CHANNELS = 64
FORMAT = "biofeedback-recording"
FORMAT_VERSION = 1
EXTENSION = ".bfr"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (start INTEGER PRIMARY KEY, n INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, time_s REAL NOT NULL, kind TEXT NOT NULL,
                                   label TEXT NOT NULL DEFAULT '', data TEXT NOT NULL DEFAULT '{}');
"""


def _now_iso() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def wal_pending(path: str | os.PathLike) -> bool:
    """True when part of the recording is still in its ``-wal`` sidecar (the two files belong together)."""
    wal = Path(str(path) + "-wal")
    try:
        return wal.stat().st_size > 0
    except OSError:
        return False


def _split_hint(path: Path) -> str:
    return (f"its last part is in {path.name}-wal beside it: keep both files together, and run "
            f"'biofeedback recover {path}' (once there is space) to make it one file")


def _disk_error(path: Path, exc: Exception, contained: bool = True) -> UserError:
    msg = str(exc).lower()
    where = "the recording so far is kept" + ("" if contained else f" in {path.name} and {_split_hint(path)}")
    if "full" in msg or "no space" in msg:
        return UserError(f"the disk holding {path} is full; {where}; free some space and start a new one")
    return UserError(f"cannot write the recording {path}: {exc}; {where}")


def _create_published(path: Path, info: StreamInfo, meta: dict[str, Any] | None) -> None:
    """Create the file with its schema and meta under a temporary name, then give it ``path``.

    A file under the final name is therefore always a readable recording, and a run killed before
    that leaves only ``.NAME.PID.*.part`` files, which a later run removes (:func:`clean_stale_parts`).
    """
    clean_stale_parts(path)
    tmp = temp_path(path)
    db: sqlite3.Connection | None = None
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
    except OSError as exc:
        raise UserError(f"cannot create the recording {path}: {exc.strerror}") from None
    try:
        db = sqlite3.connect(tmp, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(_SCHEMA)
        base = {"format": FORMAT, "format_version": FORMAT_VERSION, "info": info.to_dict(),
                "program_version": __version__, "started_at": _now_iso(), "started_unix": time.time()}
        base.update(meta or {})
        with db:
            db.execute("BEGIN")
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in base.items()])
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        db = None
        if wal_pending(tmp):
            raise sqlite3.OperationalError("database or disk is full")
        publish(tmp, path)
    except (sqlite3.Error, OSError) as exc:  # nothing recorded yet: leave nothing behind
        raise _disk_error(path, exc) from None
    finally:
        if db is not None:
            db.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(tmp) + suffix).unlink(missing_ok=True)


class RecordingWriter:
    """Appends blocks and events to a new recording file, committing about once a second."""

    def __init__(self, path: str | os.PathLike, info: StreamInfo, meta: dict[str, Any] | None = None,
                 commit_every_s: float = 1.0) -> None:
        self.path = Path(path)
        self.info = info
        if self.path.exists():
            raise UserError(f"{self.path} already exists; choose another name (recordings are never overwritten)")
        if not self.path.parent.exists():
            raise UserError(f"folder {self.path.parent} does not exist; create it or choose another --out")
        if not 1 <= info.n_channels <= MAX_CHANNELS:
            raise UserError(f"a recording holds 1 to {MAX_CHANNELS} channels, not {info.n_channels}")
        self._chunk = max(1, int(round(info.rate * commit_every_s)))
        self._commit_every_s = commit_every_s
        self._pending: list[np.ndarray] = []
        self._pending_n = 0
        self._written = 0           # samples committed
        self._next_index = 0        # the recording's timeline starts at sample 0
        self._last_commit = time.monotonic()
        self.closed = False
        self._db: sqlite3.Connection | None = None
        _create_published(self.path, info, meta)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as exc:
            if self._db is not None:
                self._db.close()
            raise _disk_error(self.path, exc) from None

    @property
    def n_samples(self) -> int:
        """Samples accepted so far (committed or about to be)."""
        return self._written + self._pending_n

    def append(self, block: Block) -> None:
        """Add a block; a jump in sample index is filled with NaN so the timeline stays true."""
        if self.closed:
            return
        data = block.data
        if data.shape[1] != self.info.n_channels:
            raise ValueError(f"block has {data.shape[1]} channels, recording has {self.info.n_channels}")
        gap = block.start - self._next_index
        if gap > 0:
            self._pending.append(np.full((gap, self.info.n_channels), np.nan, dtype=np.float32))
            self._pending_n += gap
        elif gap < 0:  # overlap (should not happen): keep only the new part
            data = data[-gap:]
        self._pending.append(data.astype(np.float32))
        self._pending_n += data.shape[0]
        self._next_index = block.start + block.n
        self._flush(force=False)

    def _flush(self, force: bool) -> None:
        due = (time.monotonic() - self._last_commit) >= self._commit_every_s
        if not (force or due or self._pending_n >= self._chunk) or self._pending_n == 0:
            return
        buf = np.concatenate(self._pending, axis=0)
        rows = []
        pos = 0
        while buf.shape[0] - pos >= self._chunk or (pos < buf.shape[0] and (force or due)):
            part = buf[pos:pos + self._chunk]
            rows.append((self._written + pos, part.shape[0], np.ascontiguousarray(part, dtype="<f4").tobytes()))
            pos += part.shape[0]
        rest = buf[pos:]
        try:
            db = self._conn()
            with db:
                db.execute("BEGIN")
                db.executemany("INSERT INTO chunks VALUES (?, ?, ?)", rows)
        except sqlite3.Error as exc:
            self._pending, self._pending_n = [buf[pos:]], buf.shape[0] - pos
            raise self._fail(exc) from None
        self._written += pos
        self._pending = [rest] if rest.shape[0] else []
        self._pending_n = rest.shape[0]
        self._last_commit = time.monotonic()

    def tick(self) -> None:
        """Commit what is pending if a second has passed (call when no data arrives)."""
        if not self.closed:
            self._flush(force=False)

    def add_event(self, event: Event) -> None:
        if self.closed:
            return
        try:
            db = self._conn()
            with db:
                db.execute("BEGIN")
                db.execute("INSERT INTO events (time_s, kind, label, data) VALUES (?, ?, ?, ?)",
                                 (event.time_s, event.kind, event.label, json.dumps(event.data)))
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    def set_meta(self, key: str, value: Any) -> None:
        if self.closed:
            return
        try:
            db = self._conn()
            with db:
                db.execute("BEGIN")
                db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    def discard_if_empty(self) -> bool:
        """Close and delete the file if no sample was ever written (a session that never started)."""
        if self.n_samples:
            return False
        self.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)
        return True

    def close(self) -> None:
        """Write what is pending, mark the file closed cleanly and make it one self-contained file.

        ``closed_at`` is written only when every sample is in; if the file cannot be made self-contained
        (the disk is full) the error says which files belong together and how to finish it later.
        """
        if self.closed:
            return
        try:
            self._flush(force=True)
            db = self._conn()
            with db:
                db.execute("BEGIN")
                db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", ("closed_at", json.dumps(_now_iso())))
        except sqlite3.Error as exc:
            raise self._fail(exc) from None
        self.closed = True
        if not self._finish():
            raise UserError(f"cannot finish the recording {self.path}: {_split_hint(self.path)}")

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise UserError(f"the recording {self.path} is already finished")
        return self._db

    def _finish(self) -> bool:
        """Fold the WAL into the file and close; True when one self-contained file is left."""
        self.closed = True
        db, self._db = self._db, None
        if db is None:
            return not wal_pending(self.path)
        try:
            busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if not busy:
                db.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.Error:
            pass
        finally:
            db.close()
        return not wal_pending(self.path)

    def _fail(self, exc: Exception) -> UserError:
        """A write failed (disk full, file gone): end the recording here and say truly where it is."""
        contained = self._finish()
        return _disk_error(self.path, exc, contained)

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: Samples per block when streaming through a recording (about 30 s at 2 kHz: a few MB per channel).
BLOCK_SAMPLES = 65536


def _chunk_array(path: Path, blob: bytes, n: int, n_ch: int) -> np.ndarray:
    """One stored chunk as (n, n_ch) float32; a chunk of the wrong size is damage, said in one line."""
    if not isinstance(blob, bytes) or len(blob) != 4 * n * n_ch:
        raise RecordingError(f"{path} is damaged: a block of samples has the wrong size "
                             "; the samples before it can still be read with 'biofeedback info'")
    return np.frombuffer(blob, dtype="<f4").reshape(n, n_ch)


class Recording:
    """A recording opened for reading (also while another process is still writing it)."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self._db = db
        try:
            rows = dict(db.execute("SELECT key, value FROM meta").fetchall())
            self.meta: dict[str, Any] = {k: json.loads(v) for k, v in rows.items()}
            if self.meta.get("format") != FORMAT:
                raise RecordingError(f"{path} is not a biofeedback recording")
            version = int(self.meta.get("format_version", 0))
            if version > FORMAT_VERSION:
                raise RecordingError(f"{path} was written by a newer version of this program (format {version}); "
                                     f"update to open it")
            self.info = StreamInfo.from_dict(self.meta["info"])
            self._index = np.array(db.execute("SELECT start, n FROM chunks ORDER BY start").fetchall(),
                                   dtype=np.int64).reshape(-1, 2)
            self.events = [Event(t, k, lbl, json.loads(d)) for t, k, lbl, d in
                           db.execute("SELECT time_s, kind, label, data FROM events ORDER BY time_s, id")]
        except RecordingError:
            db.close()
            raise
        except (sqlite3.Error, KeyError, ValueError, TypeError) as exc:
            db.close()
            raise RecordingError(f"{path} is damaged and cannot be read ({exc})") from None

    @classmethod
    def open(cls, path: str | os.PathLike) -> Recording:
        path = Path(path)
        if not path.exists():
            raise RecordingError(f"no such recording: {path}")
        if path.is_dir():
            raise RecordingError(f"{path} is a folder, not a recording")
        try:
            with open(path, "rb") as fh:
                head = fh.read(16)
        except OSError as exc:
            raise RecordingError(f"cannot read {path}: {exc.strerror}") from None
        if head != b"SQLite format 3\x00":
            raise RecordingError(f"{path} is not a biofeedback recording (or it is damaged)")
        try:  # read-only, always: reading never changes an input (a crashed file's -wal stays as it is)
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        except sqlite3.Error as exc:
            raise RecordingError(f"{path} cannot be opened ({exc})") from None
        return cls(path, db)

    @property
    def wal_pending(self) -> bool:
        """Part of the recording is still in ``NAME-wal`` (a crash or a full disk): the two files belong together."""
        return wal_pending(self.path)

    @property
    def n_samples(self) -> int:
        if not len(self._index):
            return 0
        return int(self._index[-1, 0] + self._index[-1, 1])

    @property
    def rate(self) -> float:
        return self.info.rate

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.info.rate

    @property
    def closed_cleanly(self) -> bool:
        return "closed_at" in self.meta

    @property
    def started_at(self) -> str:
        return str(self.meta.get("started_at", ""))

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Samples ``start:stop`` as float64 (n, n_channels); NaN where samples were lost."""
        n_ch = self.info.n_channels
        total = self.n_samples
        stop = total if stop is None else max(0, min(int(stop), total))
        start = max(0, min(int(start), stop))
        out = np.full((stop - start, n_ch), np.nan)
        if stop == start:
            return out
        try:
            rows = self._db.execute("SELECT start, n, data FROM chunks WHERE start < ? AND start + n > ? "
                                    "ORDER BY start",
                                    (stop, start)).fetchall()
        except sqlite3.Error as exc:
            raise RecordingError(f"{self.path} is damaged and cannot be read ({exc})") from None
        for c_start, n, blob in rows:
            data = _chunk_array(self.path, blob, n, n_ch)
            lo, hi = max(start, c_start), min(stop, c_start + n)
            out[lo - start:hi - start] = data[lo - c_start:hi - c_start]
        return out

    def iter_blocks(self, block_samples: int = BLOCK_SAMPLES, start: int = 0, stop: int | None = None,
                    dtype: Any = np.float64) -> Iterator[Block]:
        """The samples ``start:stop`` as consecutive blocks of ``block_samples`` (the last may be shorter).

        Memory stays bounded by the block size whatever the recording's length: the chunks are read
        in order from one query, never the whole recording at once.
        """
        n_ch = self.info.n_channels
        total = self.n_samples
        stop = total if stop is None else max(0, min(int(stop), total))
        pos = max(0, min(int(start), stop))
        buf = np.full((min(block_samples, max(1, stop - pos)), n_ch), np.nan, dtype=dtype)
        filled = 0        # samples of buf set (from pos)
        try:
            cursor = self._db.execute("SELECT start, n, data FROM chunks WHERE start < ? AND start + n > ? "
                                      "ORDER BY start", (stop, pos))
            for c_start, n, blob in cursor:
                data = _chunk_array(self.path, blob, n, n_ch)
                c_lo = max(c_start, pos + filled)
                c_hi = min(c_start + n, stop)
                while c_lo < c_hi:
                    block_end = min(pos + block_samples, stop)
                    if c_lo >= block_end:         # this block is complete (any hole stays NaN)
                        yield Block(pos, buf[:block_end - pos].copy())
                        pos, filled = block_end, 0
                        buf[:] = np.nan
                        continue
                    hi = min(c_hi, block_end)
                    buf[c_lo - pos:hi - pos] = data[c_lo - c_start:hi - c_start]
                    filled = hi - pos
                    c_lo = hi
        except sqlite3.Error as exc:
            raise RecordingError(f"{self.path} is damaged and cannot be read ({exc})") from None
        while pos < stop:
            block_end = min(pos + block_samples, stop)
            yield Block(pos, buf[:block_end - pos].copy())
            pos = block_end
            buf[:] = np.nan

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def envelope_blocks(rec: Recording, settings: Any = None, block_samples: int = BLOCK_SAMPLES,
                    ) -> Iterator[tuple[Block, np.ndarray, np.ndarray]]:
    """(raw block, filtered, envelope) through the whole recording, in bounded memory.

    The live signal chain keeps its state from block to block, so the result is the same as
    :func:`biofeedback.signal.chain.envelope_offline` over the whole array, whatever ``block_samples``.
    """
    from biofeedback.signal.chain import SignalChain
    chain = SignalChain(rec.info, settings)
    for blk in rec.iter_blocks(block_samples):
        out = chain.process(blk)
        yield blk, out.filtered, out.envelope


def envelope_of(rec: Recording, settings: Any = None, max_rate: float | None = None,
                dtype: Any = np.float32) -> tuple[np.ndarray, float]:
    """The whole recording's envelope (n, channels) and its rate, computed block by block.

    With ``max_rate`` the envelope is kept at about that rate (every k-th sample of the smooth envelope),
    so an 8-hour 2 kHz recording needs a few tens of MB instead of gigabytes. Lost samples stay NaN.
    """
    step = 1 if not max_rate or max_rate >= rec.rate else int(rec.rate // max_rate)
    n_out = -(-rec.n_samples // step)
    out = np.empty((n_out, rec.info.n_channels), dtype=dtype)
    block = max(step, (BLOCK_SAMPLES // step) * step)           # blocks start on multiples of step
    for raw, _, env in envelope_blocks(rec, settings, block):
        out[raw.start // step:(raw.start + raw.n + step - 1) // step] = env[::step]
    return out, rec.rate / step


def update_meta(path: str | os.PathLike, items: dict[str, Any]) -> None:
    """Add or replace metadata in a closed recording (e.g. the session summary), in one transaction."""
    _add_rows(path, "INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in items.items()])


def _add_rows(path: str | os.PathLike, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """Write rows into a closed recording in one transaction: a crash leaves all of them or none."""
    Recording.open(path).close()  # refuses files that are not recordings, with a clear message
    try:
        db = sqlite3.connect(path, isolation_level=None)
        try:
            with db:
                db.execute("BEGIN")
                db.executemany(sql, rows)
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise _disk_error(Path(path), exc) from None


def _calibration_lines(meta: dict[str, Any]) -> list[str]:
    """'calibration: rest 12.4 ± 2.5 uV, maximum 59.6 uV' and 'bands: ...' when the recording has them."""
    lines = []
    cal, bands = meta.get("calibration"), meta.get("bands")
    if isinstance(cal, dict):
        try:
            unit = cal.get("unit", "uV")
            lines.append(f"calibration: rest {float(cal['rest_mean']):.1f} ± {float(cal['rest_sd']):.1f} {unit}, "
                         f"maximum {float(cal['mvc']):.1f} {unit}")
        except (KeyError, TypeError, ValueError):
            lines.append("calibration: stored")
    elif cal:
        lines.append("calibration: stored")
    if isinstance(bands, dict):
        try:
            unit = bands.get("unit", "uV")
            lines.append(f"bands:      contraction {float(bands['contraction_low']):.1f}-"
                         f"{float(bands['contraction_high']):.1f} {unit}, release target at or below "
                         f"{float(bands['release_high']):.1f} {unit}")
        except (KeyError, TypeError, ValueError):
            lines.append("bands:      stored")
    return lines


def describe(rec: Recording) -> str:
    """A few readable lines about a recording, for ``biofeedback info``."""
    info = rec.info
    chans = ", ".join(f"{c.name} ({c.kind}, {c.unit})" for c in info.channels)
    lost = 0
    if rec.n_samples:
        lost = int(sum(e.data.get("samples", 0) for e in rec.events if e.kind == "gap"))
    kinds: dict[str, int] = {}
    for e in rec.events:
        kinds[e.kind] = kinds.get(e.kind, 0) + 1
    lines = [
        f"file:       {rec.path}",
        f"started:    {rec.started_at or 'unknown'}",
        f"duration:   {rec.duration_s:.1f} s ({rec.n_samples} samples at {info.rate:g} Hz)",
        f"channels:   {chans}",
        f"source:     {info.source or 'unknown'}" + (f" ({info.device})" if info.device else ""),
        f"program:    biofeedback {rec.meta.get('program_version', '?')}",
    ]
    for key in ("client", "protocol"):
        if rec.meta.get(key):
            lines.append(f"{key + ':':<12}{rec.meta[key]}")
    lines += _calibration_lines(rec.meta)
    lines.append("events:     " + (", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "none"))
    if lost:
        lines.append(f"lost:       {lost} samples ({lost / info.rate:.2f} s) recorded as gaps")
    lines.append("state:      " + state(rec))
    return "\n".join(lines)


def append_events(path: str | os.PathLike, events: list[Event]) -> None:
    """Add events to a recording after it was closed (e.g. markers edited in review), in one transaction.

    Nothing already in the file is changed or removed: rows are only added, and SQLite's atomic
    commit means a crash leaves either all of them or none.
    """
    _add_rows(path, "INSERT INTO events (time_s, kind, label, data) VALUES (?, ?, ?, ?)",
              [(e.time_s, e.kind, e.label, json.dumps(e.data)) for e in events])


def state(rec: Recording) -> str:
    """Whether the file was closed cleanly and is one self-contained file; the truth, and what to do."""
    if rec.closed_cleanly and not rec.wal_pending:
        return "closed cleanly"
    if rec.closed_cleanly:
        return f"closed, but not yet one self-contained file: {_split_hint(rec.path)}"
    text = ("NOT closed cleanly (the program stopped while recording, or the disk was full); "
            "all data up to the last second is there")
    return text + (f"; {_split_hint(rec.path)}" if rec.wal_pending else "")


def recover(path: str | os.PathLike) -> str:
    """Fold a crashed recording's ``-wal`` into the file so it stands alone; returns one line saying what was done.

    This is the explicit step that changes a file left by a crash or a full disk (reading never does).
    It does not mark the file as closed cleanly: ``info`` keeps saying that the recording was cut short.
    """
    path = Path(path)
    with Recording.open(path) as rec:       # refuses what is not a recording, read-only
        had_wal = rec.wal_pending
        seconds = rec.duration_s
    if not had_wal:
        return f"{path} is already one self-contained file ({seconds:.1f} s); nothing to do"
    try:
        db = sqlite3.connect(path, isolation_level=None)
        try:
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise RecordingError(f"{path} is damaged ({check}); it was left as it is")
            with db:
                db.execute("BEGIN")
                db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", ("recovered_at", json.dumps(_now_iso())))
            busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if busy:
                raise RecordingError(f"{path} is still being written by another program; try again when it stops")
            db.execute("PRAGMA journal_mode=DELETE")
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise _disk_error(path, exc, contained=False) from None
    if wal_pending(path):
        raise RecordingError(f"could not finish {path}: {_split_hint(path)}")
    with Recording.open(path) as rec:
        seconds = rec.duration_s
    return f"recovered {path}: {seconds:.1f} s, now one self-contained file"
