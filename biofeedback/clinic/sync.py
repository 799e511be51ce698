"""Recordings on the clinic's server, recorded locally first.

A session always records to its local crash-safe ``.bfr`` file, so the server being down or the network
failing never stalls or loses it. When a session is filed in a server library its recording is uploaded:
the samples in the file's own chunks (about one second each), the events and the meta alongside, in one
transaction; the server then computes the SHA-256 of the sample bytes it holds, and only when that equals the
local file's is the recording marked stored (``recordings.stored_at``).

If the server cannot be reached, the filing waits in this computer's queue (``uploads.sqlite`` in the local
cache folder, :func:`~biofeedback.clinic.store.cache_dir`). The queue is retried each time the program opens
that library, and on demand by ``biofeedback library sync``. A queued item names the library by its target
without a password and the recording by its path; nothing else is kept.

Any room opens a server session through :func:`fetch_recording`, which rebuilds the ``.bfr`` in the cache
folder (``cache/recordings/<sha256>.bfr``), verifies it, and reuses it next time.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select, text, update

from biofeedback.clinic.store import LibraryError, LibraryUnreachableError, cache_dir, redact
from biofeedback.errors import UserError
from biofeedback.words import plural

if TYPE_CHECKING:
    from biofeedback.clinic.library import Library, SessionRecord

QUEUE_FILE = "uploads.sqlite"


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


# --------------------------------------------------------------------------- the local queue

@dataclass(frozen=True)
class Pending:
    library: str          # the library's target, without a password
    recording_path: str
    client: str
    queued_at: str
    attempts: int
    last_error: str


class UploadQueue:
    """Filings waiting for a server, kept in a small SQLite file beside the local cache."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or cache_dir()
        self.path = self.folder / QUEUE_FILE

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if not self.path.exists():
            if not create:
                return None
            try:
                self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise UserError(f"cannot create the cache folder {self.folder}: {exc.strerror}") from None
        try:
            con = sqlite3.connect(str(self.path), timeout=30.0)
            con.execute("CREATE TABLE IF NOT EXISTS pending (library TEXT NOT NULL, recording_path TEXT NOT NULL, "
                        "client TEXT NOT NULL DEFAULT '', queued_at TEXT NOT NULL, attempts INTEGER NOT NULL "
                        "DEFAULT 0, last_error TEXT NOT NULL DEFAULT '', PRIMARY KEY (library, recording_path))")
            if os.name == "posix":
                os.chmod(self.path, 0o600)
        except (sqlite3.Error, OSError) as exc:
            raise UserError(f"cannot use the upload queue {self.path}: {exc}") from None
        return con

    def add(self, library: str, recording_path: str | os.PathLike, client: str, error: str = "") -> None:
        con = self._connect(create=True)
        assert con is not None
        path = str(Path(recording_path).expanduser().resolve())
        with con:
            con.execute("INSERT INTO pending (library, recording_path, client, queued_at, last_error) "
                        "VALUES (?,?,?,?,?) ON CONFLICT(library, recording_path) DO UPDATE SET "
                        "client=excluded.client, last_error=excluded.last_error",
                        (redact(library), path, client, _now(), error))
        con.close()

    def pending(self, library: str | None = None) -> list[Pending]:
        con = self._connect(create=False)
        if con is None:
            return []
        sql = "SELECT library, recording_path, client, queued_at, attempts, last_error FROM pending"
        rows = con.execute(sql + (" WHERE library = ?" if library else "") + " ORDER BY queued_at, rowid",
                           (redact(library),) if library else ()).fetchall()
        con.close()
        return [Pending(*r) for r in rows]

    def done(self, library: str, recording_path: str) -> None:
        con = self._connect(create=False)
        if con is None:
            return
        with con:
            con.execute("DELETE FROM pending WHERE library = ? AND recording_path = ?", (redact(library),
                                                                                         recording_path))
        con.close()

    def failed(self, library: str, recording_path: str, error: str) -> None:
        con = self._connect(create=False)
        if con is None:
            return
        with con:
            con.execute("UPDATE pending SET attempts = attempts + 1, last_error = ? WHERE library = ? AND "
                        "recording_path = ?", (error, redact(library), recording_path))
        con.close()


# --------------------------------------------------------------------------- reading a local .bfr

def _open_bfr(path: Path) -> sqlite3.Connection:
    from biofeedback.files.recording import Recording
    Recording.open(path).close()               # refuses files that are not recordings, with a clear message
    wal = path.with_name(path.name + "-wal")
    uri = path.resolve().as_uri() + ("" if wal.exists() else "?mode=ro")
    return sqlite3.connect(uri, uri=True)


def sample_digest(chunks: Iterator[bytes]) -> str:
    """SHA-256 of a recording's sample bytes, chunk after chunk in time order."""
    h = hashlib.sha256()
    for data in chunks:
        h.update(data)
    return h.hexdigest()


def local_digest(path: str | os.PathLike) -> str:
    con = _open_bfr(Path(path))
    try:
        return sample_digest(bytes(r[0]) for r in con.execute("SELECT data FROM chunks ORDER BY start"))
    finally:
        con.close()


# --------------------------------------------------------------------------- upload

def stored_digest(library: Library, session_id: int) -> str | None:
    """The verified checksum of a session's recording on the server, or None if it is not stored."""
    from biofeedback.clinic.library import recordings
    with library._read() as db:
        return db.execute(select(recordings.c.sha256).where(recordings.c.session_id == session_id,
                                                             recordings.c.stored_at.is_not(None))).scalar()


def upload_recording(library: Library, session: SessionRecord, path: str | os.PathLike) -> str:
    """Copy a session's local recording to the server, verify it by SHA-256, then mark it stored.

    Returns the checksum. Uploading a recording the server already holds with the same checksum does nothing.
    """
    from biofeedback.clinic.library import recording_events, recordings
    con = _open_bfr(Path(path))
    try:
        rows = con.execute("SELECT start, n, data FROM chunks ORDER BY start").fetchall()
        events = con.execute("SELECT id, time_s, kind, label, data FROM events ORDER BY id").fetchall()
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    finally:
        con.close()
    digest = sample_digest(bytes(r[2]) for r in rows)
    if stored_digest(library, session.id) == digest:
        return digest
    n_samples = int(rows[-1][0] + rows[-1][1]) if rows else 0
    with library._writing() as db:
        db.execute(delete(recordings).where(recordings.c.session_id == session.id))
        rid = db.execute(insert(recordings).returning(recordings.c.id), dict(
            session_id=session.id, sha256=digest, n_samples=n_samples, n_chunks=len(rows),
            meta=json.dumps(meta, sort_keys=True), stored_at=None, **library._stamp())).scalar_one()
        _insert_chunks(library, db, rid, rows)
        if events:
            db.execute(insert(recording_events), [{"recording_id": rid, "seq": i, "time_s": t, "kind": k,
                                                   "label": lbl, "data": d} for i, t, k, lbl, d in events])
    with library._writing() as db:
        server = _server_digest(library, db, rid)
        if server != digest:
            raise LibraryError(f"the server's copy of {path} does not match the local file (checksum "
                               f"{server[:12]} != {digest[:12]}); it was not marked stored, try again with "
                               f"biofeedback library sync")
        db.execute(update(recordings).where(recordings.c.id == rid).values(stored_at=library._stamp()["changed_at"]))
    return digest


def _insert_chunks(library: Library, db: Any, rid: int, rows: list[tuple[int, int, bytes]]) -> None:
    """The samples, chunk by chunk; on PostgreSQL through COPY (binary), several times faster than INSERTs."""
    from biofeedback.clinic.library import recording_chunks
    if library.is_server:
        raw = db.connection.driver_connection
        with raw.cursor() as cur, cur.copy("COPY recording_chunks (recording_id, start, n, data) "
                                           "FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "int8", "int4", "bytea"])
            for start, n, data in rows:
                copy.write_row((rid, start, n, bytes(data)))
        return
    for i in range(0, len(rows), 500):
        db.execute(insert(recording_chunks), [{"recording_id": rid, "start": s, "n": n, "data": bytes(d)}
                                              for s, n, d in rows[i:i + 500]])


def _server_digest(library: Library, db: Any, rid: int) -> str:
    """The checksum of the samples as the server holds them (computed by the server itself on PostgreSQL)."""
    from biofeedback.clinic.library import recording_chunks
    if library.is_server:
        return str(db.execute(text("SELECT encode(sha256(coalesce(string_agg(data, ''::bytea ORDER BY start), "
                                   "''::bytea)), 'hex') FROM recording_chunks WHERE recording_id = :rid"),
                              {"rid": rid}).scalar())
    rows = db.execute(select(recording_chunks.c.data).where(recording_chunks.c.recording_id == rid)
                      .order_by(recording_chunks.c.start))
    return sample_digest(bytes(r[0]) for r in rows)


def store_or_queue(library: Library, session: SessionRecord, path: str | os.PathLike, client: str) -> bool:
    """Upload now if the server answers (True); else queue it for later (False). Never loses the recording."""
    try:
        upload_recording(library, session, path)
    except LibraryUnreachableError as exc:
        UploadQueue().add(library.target, path, client, str(exc))
        return False
    UploadQueue().done(library.target, str(Path(path).expanduser().resolve()))
    return True


def queue_filing(target: str, path: str | os.PathLike, client: str, error: str = "") -> None:
    """Remember a recording to be filed in the server library ``target`` when it can be reached."""
    UploadQueue().add(target, path, client, error)


# --------------------------------------------------------------------------- sync

@dataclass
class SyncResult:
    stored: list[str]
    failed: list[tuple[str, str]]


def sync_pending(library: Library) -> SyncResult:
    """File and upload everything queued for this library; items that fail stay queued with their reason."""
    from biofeedback.clinic.filing import register_recording
    from biofeedback.clinic.progress import update_milestones
    queue = UploadQueue()
    result = SyncResult([], [])
    for item in queue.pending(library.target):
        if not Path(item.recording_path).exists():
            queue.failed(library.target, item.recording_path, "the recording file is missing")
            result.failed.append((item.recording_path, "the recording file is missing"))
            continue
        try:
            session = register_recording(library, item.recording_path, item.client or None,
                                         queue_when_unreachable=False)
            update_milestones(library, library.client_by_id(session.client_id))
        except LibraryUnreachableError:
            raise
        except UserError as exc:
            queue.failed(library.target, item.recording_path, str(exc))
            result.failed.append((item.recording_path, str(exc)))
            continue
        queue.done(library.target, item.recording_path)
        result.stored.append(item.recording_path)
    return result


def retry_pending(library: Library) -> None:
    """Quietly try the queue when a server library is opened; whatever fails stays queued."""
    if not UploadQueue().pending(library.target):
        return
    try:
        sync_pending(library)
    except UserError:
        pass


# --------------------------------------------------------------------------- fetch

def fetch_recording(library: Library, session: SessionRecord) -> Path:
    """The session's recording as a local file in the cache, fetched from the server and verified once."""
    from biofeedback.clinic.library import recording_chunks, recording_events, recordings
    from biofeedback.files.recording import _SCHEMA
    with library._read() as db:
        row = db.execute(select(recordings.c.id, recordings.c.sha256, recordings.c.meta).where(
            recordings.c.session_id == session.id, recordings.c.stored_at.is_not(None))).first()
    if row is None:
        raise UserError(f"the recording of this session ({Path(session.recording_path).name}) is not on the "
                        f"server yet; it is on the computer that recorded it until that one syncs")
    rid, digest, meta = row
    folder = cache_dir() / "recordings"
    out = folder / f"{digest}.bfr"
    if out.exists():
        return out
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the cache folder {folder}: {exc.strerror}") from None
    tmp = folder / f".{digest}.{os.getpid()}.part"
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(str(tmp))
    try:
        con.executescript(_SCHEMA)
        with con:
            con.executemany("INSERT INTO meta VALUES (?, ?)", sorted(json.loads(meta).items()))
            h = hashlib.sha256()
            with library._read() as db:
                result = db.execute(select(recording_chunks.c.start, recording_chunks.c.n, recording_chunks.c.data)
                                    .where(recording_chunks.c.recording_id == rid)
                                    .order_by(recording_chunks.c.start))
                for start, n, data in result:
                    data = bytes(data)
                    h.update(data)
                    con.execute("INSERT INTO chunks VALUES (?, ?, ?)", (start, n, data))
                events = db.execute(select(recording_events.c.seq, recording_events.c.time_s, recording_events.c.kind,
                                           recording_events.c.label, recording_events.c.data)
                                    .where(recording_events.c.recording_id == rid)
                                    .order_by(recording_events.c.seq)).all()
            con.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", [tuple(e) for e in events])
    finally:
        con.close()
    if h.hexdigest() != digest:
        tmp.unlink(missing_ok=True)
        raise LibraryError(f"the server's copy of {Path(session.recording_path).name} does not match its checksum; "
                           f"ask the clinic's IT person to restore it from a backup")
    if os.name == "posix":
        os.chmod(tmp, 0o600)
    os.replace(tmp, out)
    return out


# --------------------------------------------------------------------------- status

def status_lines(target: str | Path) -> tuple[list[str], LibraryUnreachableError | None]:
    """What ``biofeedback library status`` prints, and why the library server could not be reached (or None).

    An unreachable server still gets the lines that stay true without it (the backend, this computer's
    upload queue); the caller then ends with the reason, as every command on an unreachable server does.
    """
    from biofeedback.clinic.library import SCHEMA_VERSION, Library
    shown = redact(str(target))
    backend = "postgresql" if isinstance(target, str) else "sqlite"
    lines = [f"backend: {backend} ({shown})"]
    unreachable: LibraryUnreachableError | None = None
    try:
        with Library.open(target, create=False, retry_uploads=False) as lib:
            lines.append(f"schema version: {lib.schema_version} (this program: {SCHEMA_VERSION})")
            if lib.is_server:
                with lib._read() as db:
                    from biofeedback.clinic.library import recordings, sessions
                    n_sessions = db.execute(select(func.count()).select_from(sessions)).scalar()
                    n_stored = db.execute(select(func.count()).select_from(recordings)
                                          .where(recordings.c.stored_at.is_not(None))).scalar()
                lines.append(f"sessions: {n_sessions}, recordings stored on the server: {n_stored}")
                lines.append(f"connected as: {lib.who}")
    except LibraryUnreachableError as exc:
        unreachable = exc
        lines.append("schema version: unknown (the server cannot be reached)")
    if backend == "postgresql":
        waiting = UploadQueue().pending(str(target))
        lines.append(f"pending uploads: {len(waiting)}")
        lines += [f"  {p.recording_path} ({p.client or 'client from the recording'}, queued {p.queued_at}"
                  f"{', ' + plural(p.attempts, 'attempt') if p.attempts else ''})" for p in waiting]
    else:
        lines.append("pending uploads: 0 (a library file needs no uploads)")
    return lines, unreachable
