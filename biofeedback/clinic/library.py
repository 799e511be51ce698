"""The client library: clients, sessions, diary entries and goals, in a SQLite file or on a clinic's server.

One therapist on one laptop uses the embedded SQLite file in the platform's user data folder
(``$XDG_DATA_HOME/biofeedback`` on Linux, ``~/Library/Application Support/biofeedback`` on macOS,
``%APPDATA%\\biofeedback`` on Windows); the file is created readable by the user only (0600, its folder 0700).
A clinic with several rooms points ``--library`` or ``BIOFEEDBACK_LIBRARY`` at its PostgreSQL server
(``postgresql://...`` or a libpq service; see :mod:`biofeedback.clinic.store`).

Schema and migrations. The tables are defined once, in :data:`metadata` (SQLAlchemy Core), and every query is
written against them, so both backends share one code path. Versions are kept with the project's own
migration list rather than Alembic, because the list is tiny, must also upgrade SQLite files written before
the server existed (whose version is ``PRAGMA user_version``), and must run inside the same transaction as
the safety checks below; Alembic would add a second version table, a second tool to ship and an ``env.py``
for no gain. The rule is Alembic's own recipe: a new, empty library gets the current schema whole
(``metadata.create_all``) and is stamped with :data:`SCHEMA_VERSION`; an older one runs
``MIGRATIONS[version:]``, where ``MIGRATIONS[i]`` brings a library from version i to i + 1 using portable
SQLAlchemy DDL. A new step appends one function to the list and its columns or tables to :data:`metadata`.

Opening safely. The version and the tag (``PRAGMA application_id`` of a file, the ``library_info`` table of a
server database) are read first without writing anything. A damaged file, another program's database, or a
library written by a newer version raises :class:`LibraryError` with one line and is left byte for byte as it
was; only a library that passes is opened for writing. On the server the migration holds an advisory lock,
so two rooms starting at once migrate once.
"""
from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import os
import shlex
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    DDL,
    BigInteger,
    CheckConstraint,
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy import exc as sa_exc

from biofeedback.clinic.catalogue import COMPARISONS, check_goal_metric, check_goal_protocol
from biofeedback.clinic.store import (
    ENV_VAR,
    FILE_NAME,
    ConflictError,
    LibraryError,
    LibraryUnreachableError,
    default_library_path,
    describe_server_error,
    local_user,
    redact,
    resolve_target,
    server_engine,
    sqlite_engine,
    therapist_name,
)
from biofeedback.errors import UserError

__all__ = ["APPLICATION_ID", "ENV_VAR", "FILE_NAME", "MIGRATIONS", "SCHEMA_VERSION", "Client", "ConflictError",
           "DiaryEntry", "Goal", "Library", "LibraryError", "LibraryUnreachableError", "ProgrammeSchedule",
           "SessionRecord",
           "check_goal_target", "default_library_path", "metadata", "parse_day", "require_client",
           "resolve_library_path"]

#: Longest practice a diary entry may record, in minutes (a whole day's practice is not plausible).
MAX_MINUTES_PRACTISED = 600
#: ``PRAGMA application_id`` of a biofeedback library file ("BFLB"); also the server's migration lock key.
APPLICATION_ID = 0x42464C42
#: The tag in a server database's ``library_info`` table.
APPLICATION_NAME = "biofeedback-library"


# --------------------------------------------------------------------------- location

def resolve_library_path(path: str | os.PathLike | None = None) -> Path:
    """``--library PATH`` if given, else ``$BIOFEEDBACK_LIBRARY``, else the platform default (files only)."""
    target = resolve_target(path)
    if isinstance(target, Path):
        return target
    raise LibraryError(f"{redact(target)} is a library server, not a file")


# --------------------------------------------------------------------------- schema (the one definition)

metadata = MetaData()


def _who_when() -> list[Column]:
    """Who made the last change (database role or therapist name) and when; a row version for edits."""
    return [Column("row_version", Integer, nullable=False, server_default="1"),
            Column("changed_by", Text, nullable=False, server_default=""),
            Column("changed_at", Text, nullable=False, server_default="")]


library_info = Table(
    "library_info", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

clients = Table(
    "clients", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("notes", Text, nullable=False, server_default=""),
    Column("calibration", Text, nullable=False, server_default="{}"),
    Column("bands", Text, nullable=False, server_default="{}"),
    Column("created_at", Text, nullable=False),
    *_who_when(),
    Column("client_uid", Text),           # her random id (uuid4) in programme and practice files (version 4)
)
#: Names are unique regardless of case, on both backends.
Index("clients_name_folded", func.lower(clients.c.name), unique=True)
Index("clients_by_uid", clients.c.client_uid, unique=True)

sessions = Table(
    "sessions", metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("recording_path", Text, nullable=False, unique=True),
    Column("started_at", Text, nullable=False),
    Column("protocol", Text, nullable=False, server_default=""),
    Column("duration_s", Float),
    Column("summary", Text, nullable=False, server_default="{}"),
    Column("notes", Text, nullable=False, server_default=""),
    *_who_when(),
    #: 'home' or 'clinic' (version 4); NULL means "where this library is", see Library.session_places.
    Column("place", Text, CheckConstraint("place IN ('home', 'clinic')")),
)
Index("sessions_by_client", sessions.c.client_id, sessions.c.started_at)

diary = Table(
    "diary", metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("day", Text, nullable=False),
    Column("pain_intercourse", Float, CheckConstraint("pain_intercourse BETWEEN 0 AND 10")),
    Column("pain_pelvic", Float, CheckConstraint("pain_pelvic BETWEEN 0 AND 10")),
    Column("mood", Integer, CheckConstraint("mood BETWEEN 1 AND 5")),
    Column("minutes_practised", Float, CheckConstraint("minutes_practised >= 0")),
    Column("notes", Text, nullable=False, server_default=""),
    Column("session_id", Integer, ForeignKey("sessions.id", ondelete="SET NULL")),
    Column("created_at", Text, nullable=False),
    *_who_when(),
)
Index("diary_by_client", diary.c.client_id, diary.c.day)

goals = Table(
    "goals", metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("metric", Text, nullable=False),
    Column("comparison", Text, CheckConstraint("comparison IN ('<', '<=', '>', '>=')"), nullable=False),
    Column("target", Float, nullable=False),
    Column("label", Text, nullable=False, server_default=""),
    Column("created_on", Text, nullable=False),
    Column("met_on", Text),
    *_who_when(),
    #: the protocol whose sessions can meet it; "" = every protocol, said so in its text (version 5)
    Column("protocol", Text, nullable=False, server_default=""),
)

#: Release-target steps (shaping), see :mod:`biofeedback.clinic.shaping`.
target_steps = Table(
    "target_steps", metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("day", Text, nullable=False),
    Column("target", Float, CheckConstraint("target > 0"), nullable=False),
    Column("unit", Text, nullable=False, server_default="uV"),
    Column("rule", Text, nullable=False, server_default=""),
    Column("note", Text, nullable=False, server_default=""),
    Column("created_at", Text, nullable=False),
)
Index("target_steps_by_client", target_steps.c.client_id, target_steps.c.day)

#: A session's recording kept on the server (samples in the .bfr's chunks, events and meta alongside).
#: ``stored_at`` is set only after the server's copy was verified against the local SHA-256.
recordings = Table(
    "recordings", metadata,
    Column("id", Integer, primary_key=True),
    Column("session_id", Integer, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("sha256", String(64), nullable=False),
    Column("n_samples", BigInteger, nullable=False),
    Column("n_chunks", Integer, nullable=False),
    Column("meta", Text, nullable=False, server_default="{}"),
    Column("stored_at", Text),
    *_who_when(),
)
recording_chunks = Table(
    "recording_chunks", metadata,
    Column("recording_id", Integer, ForeignKey("recordings.id", ondelete="CASCADE"), nullable=False),
    Column("start", BigInteger, nullable=False),
    Column("n", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    PrimaryKeyConstraint("recording_id", "start"),
)
# Samples are float noise that does not compress: store them uncompressed (pglz would only spend CPU trying).
event.listen(recording_chunks, "after_create",
             DDL("ALTER TABLE recording_chunks ALTER COLUMN data SET STORAGE EXTERNAL")
             .execute_if(dialect="postgresql"))
recording_events = Table(
    "recording_events", metadata,
    Column("recording_id", Integer, ForeignKey("recordings.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("time_s", Float, nullable=False),
    Column("kind", Text, nullable=False),
    Column("label", Text, nullable=False, server_default=""),
    Column("data", Text, nullable=False, server_default="{}"),
    PrimaryKeyConstraint("recording_id", "seq"),
)


#: Home programmes (issue 13): each programme written for (or installed by) a client, its start day, weeks and
#: the therapist's note; ``installed`` is 1 in her own library. A newer programme replaces the schedule from its
#: start day on; the earlier ones stay for the weeks they covered. See :mod:`biofeedback.clinic.programme`.
programmes = Table(
    "programmes", metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("programme_uid", Text, nullable=False),
    Column("written_at", Text, nullable=False),
    Column("start_day", Text, nullable=False),
    Column("weeks", Integer, CheckConstraint("weeks >= 1"), nullable=False),
    Column("note", Text, nullable=False, server_default=""),
    Column("installed", Integer, nullable=False, server_default="0"),
    *_who_when(),
    UniqueConstraint("client_id", "programme_uid", name="programmes_once_per_client"),
)
#: Per programme, each protocol and how many times a week (``position`` keeps the therapist's order).
programme_protocols = Table(
    "programme_protocols", metadata,
    Column("programme_id", Integer, ForeignKey("programmes.id", ondelete="CASCADE"), nullable=False),
    Column("protocol", Text, nullable=False),
    Column("times_per_week", Integer, CheckConstraint("times_per_week >= 1"), nullable=False),
    Column("position", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("programme_id", "protocol"),
)
#: When a client's practice was last exported (the next export starts there).
practice_exports = Table(
    "practice_exports", metadata,
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True),
    Column("last_export_at", Text, nullable=False),
    *_who_when(),
)


# --------------------------------------------------------------------------- migrations

def _migrate_to_1(db: Connection) -> None:
    """Version 1 (clients, sessions, diary, goals): written by SQLite-only releases; new libraries start at head."""
    metadata.create_all(db, tables=[clients, sessions, diary, goals])


def _migrate_to_2(db: Connection) -> None:
    """Version 2: release-target steps (shaping): every target a client trained against, from the day it was set."""
    metadata.create_all(db, tables=[target_steps])


def _migrate_to_3(db: Connection) -> None:
    """Version 3: who changed what and when, a row version per record, recordings on the server, the tag table."""
    for table in (clients, sessions, diary, goals):
        present = {c["name"] for c in inspect(db).get_columns(table.name)}
        for col in ("row_version", "changed_by", "changed_at"):
            if col not in present:
                column = table.c[col]
                kind = column.type.compile(dialect=db.dialect)
                default = "1" if col == "row_version" else "''"
                db.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {col} {kind} NOT NULL DEFAULT {default}"))
    for index in clients.indexes:
        if index.name == "clients_name_folded":          # clients_by_uid comes with its column in version 4
            index.create(db, checkfirst=True)
    metadata.create_all(db, tables=[library_info, recordings, recording_chunks, recording_events])


def _migrate_to_4(db: Connection) -> None:
    """Version 4: clinic <-> home by files (issue 13): client ids, where a session took place, programmes, exports.

    Every existing client gets her random id here (new clients get one when added).
    """
    if "client_uid" not in {c["name"] for c in inspect(db).get_columns("clients")}:
        db.execute(text("ALTER TABLE clients ADD COLUMN client_uid TEXT"))
    if "place" not in {c["name"] for c in inspect(db).get_columns("sessions")}:
        db.execute(text("ALTER TABLE sessions ADD COLUMN place TEXT CHECK (place IN ('home', 'clinic'))"))
    db.execute(text("CREATE UNIQUE INDEX IF NOT EXISTS clients_by_uid ON clients (client_uid)"))
    metadata.create_all(db, tables=[programmes, programme_protocols, practice_exports])
    for (cid,) in db.execute(select(clients.c.id).where(clients.c.client_uid.is_(None))).all():
        db.execute(update(clients).where(clients.c.id == cid).values(client_uid=_new_uid()))


def _migrate_to_5(db: Connection) -> None:
    """Version 5: a goal names its protocol (issue 15); goals set before count for every protocol, as they did."""
    if "protocol" not in {c["name"] for c in inspect(db).get_columns("goals")}:
        db.execute(text("ALTER TABLE goals ADD COLUMN protocol TEXT NOT NULL DEFAULT ''"))


def _new_uid() -> str:
    return str(uuid.uuid4())


#: MIGRATIONS[i] brings a library from version i to version i + 1.
MIGRATIONS: list[Callable[[Connection], None]] = [_migrate_to_1, _migrate_to_2, _migrate_to_3, _migrate_to_4,
                                                  _migrate_to_5]
SCHEMA_VERSION = len(MIGRATIONS)

# --------------------------------------------------------------------------- records

def _loads(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _dumps(value: dict[str, Any] | None) -> str:
    return json.dumps(value or {}, sort_keys=True, allow_nan=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"cannot store {type(value).__name__} in the library")


def _clean_numbers(value: Any) -> Any:
    """NaN/inf become None so summaries always store as strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_numbers(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # numpy scalar
        return _clean_numbers(value.item())
    return value


@dataclass(frozen=True)
class Client:
    id: int
    name: str
    notes: str = ""
    calibration: dict[str, Any] = field(default_factory=dict)
    bands: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    row_version: int = 1       # bumped by every change: an edit made on an older copy is refused as a conflict
    changed_by: str = ""       # who made the last change (database role or therapist name)
    changed_at: str = ""


@dataclass(frozen=True)
class SessionRecord:
    id: int
    client_id: int
    recording_path: str
    started_at: str          # ISO date-time
    protocol: str = ""
    duration_s: float | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    notes: str = ""

    @property
    def day(self) -> dt.date:
        return parse_day(self.started_at)


@dataclass(frozen=True)
class DiaryEntry:
    id: int
    client_id: int
    day: dt.date
    pain_intercourse: float | None = None   # pain during intercourse or dilator use, 0-10
    pain_pelvic: float | None = None        # general pelvic pain, 0-10
    mood: int | None = None                 # 1 (low) .. 5 (good)
    minutes_practised: float | None = None
    notes: str = ""
    session_id: int | None = None


@dataclass(frozen=True)
class Goal:
    id: int
    client_id: int
    metric: str
    comparison: str
    target: float
    label: str = ""
    created_on: dt.date | None = None
    met_on: dt.date | None = None
    protocol: str = ""              # only sessions of this protocol can meet it; "" = every protocol

    def is_met_by(self, value: float | None) -> bool:
        if value is None or not math.isfinite(value):
            return False
        return {"<": value < self.target, "<=": value <= self.target,
                ">": value > self.target, ">=": value >= self.target}[self.comparison]


def parse_day(text: str | dt.date | dt.datetime) -> dt.date:
    """A date from ``YYYY-MM-DD`` or an ISO date-time (its local calendar day)."""
    if isinstance(text, dt.datetime):
        return text.date()
    if isinstance(text, dt.date):
        return text
    try:
        if len(text) <= 10:
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except (TypeError, ValueError):
        raise UserError(f"cannot read the date {text!r}; write it as YYYY-MM-DD") from None


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


# --------------------------------------------------------------------------- opening safely

def _inspect_file(path: Path) -> tuple[int, int, list[str]]:
    """Read (user_version, application_id, table names) and check the file, without changing it.

    A write killed mid-way leaves a hot rollback journal, which a read-only connection cannot roll back.
    Then the file and its journal are first recovered and checked as a private copy; only when the copy
    is sound is the real file opened normally, so that SQLite rolls the journal back in place. A truly
    damaged file is refused and left byte-identical.
    """
    # A journal is also there, for a moment, while another room or process writes (it is not hot then):
    # the copy may catch it half-way. So a failed check only counts when the journal stood still meanwhile.
    for _attempt in range(_JOURNAL_TRIES):
        before = _journal_state(path)
        if before is None:
            return _check(path, path.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            with tempfile.TemporaryDirectory(prefix="bf-library-check-") as tmp:
                copy = Path(tmp) / path.name
                shutil.copyfile(path, copy)
                shutil.copyfile(_journal(path), _journal(copy))
                _check(copy, str(copy), uri=False)       # recovers the copy, refuses a damaged one
        except (LibraryError, OSError):
            if _journal_state(path) != before:           # someone was writing: look again
                time.sleep(_JOURNAL_PAUSE_S)
                continue
            raise
        if _journal_state(path) != before:
            time.sleep(_JOURNAL_PAUSE_S)
            continue
        return _check(path, str(path), uri=False)    # the same recovery, now in place
    return _check(path, str(path), uri=False)        # a journal always on the move: SQLite's own locking decides


#: how often a journal that keeps changing (another process writing) is looked at again, and how long apart
_JOURNAL_TRIES = 20
_JOURNAL_PAUSE_S = 0.05


def _journal(path: Path) -> Path:
    return path.with_name(path.name + "-journal")


def _journal_state(path: Path) -> tuple[int, int, int] | None:
    """(inode, size, mtime) of a non-empty rollback journal beside the library, or None when there is none."""
    try:
        st = _journal(path).stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns) if st.st_size > 0 else None


def _check(path: Path, target: str, uri: bool) -> tuple[int, int, list[str]]:
    try:
        con = sqlite3.connect(target, uri=uri, timeout=30.0)    # waits out another room's write, as the store does
    except sqlite3.Error as exc:
        raise LibraryError(f"cannot open the library {path}: {exc}") from None
    try:
        version = con.execute("PRAGMA user_version").fetchone()[0]
        app_id = con.execute("PRAGMA application_id").fetchone()[0]
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        check = con.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError:
        raise LibraryError(f"the library {path} is damaged or not a biofeedback library; "
                           f"restore it from a backup or choose another file with --library") from None
    finally:
        con.close()
    if check != "ok":
        raise LibraryError(f"the library {path} is damaged ({check}); restore it from a backup "
                           f"or choose another file with --library")
    return int(version), int(app_id), tables


def _inspect_server(db: Connection, shown: str) -> tuple[int, bool, list[str]]:
    """Read (schema version, tagged as a library, table names) of a server database, changing nothing."""
    tables = [r[0] for r in db.execute(text(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"))]
    if library_info.name not in tables:
        return 0, False, tables
    info = dict(db.execute(select(library_info.c.key, library_info.c.value)).all())
    if info.get("application") != APPLICATION_NAME:
        return 0, False, tables
    try:
        return int(info.get("schema_version", "0")), True, tables
    except ValueError:
        raise LibraryError(f"the library on {shown} has an unreadable schema version; ask the clinic's IT "
                           f"person to restore it from a backup") from None


def _create_file(path: Path) -> None:
    """Create an empty file readable by the user only, in a folder only the user can enter.

    Only the platform's default folder is created when missing; a folder named with ``--library`` or
    ``$BIOFEEDBACK_LIBRARY`` must exist already (a typo must not create folders anywhere on the disk).
    """
    folder = path.parent
    if not folder.exists():
        if path != default_library_path():
            raise LibraryError(f"the folder {folder} for the library {path.name} does not exist; "
                               f"create it first or choose another --library / ${ENV_VAR}")
        try:
            folder.mkdir(mode=0o700, parents=True)
        except OSError as exc:
            raise LibraryError(f"cannot create the library folder {folder}: {exc.strerror}") from None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise LibraryError(f"cannot create the library {path}: {exc.strerror}") from None
    os.close(fd)
    if os.name == "posix":
        os.chmod(path, 0o600)


def _id_of(record: Any) -> int:
    return record if isinstance(record, int) else int(record.id)


class Library:
    """An open client library. Use :meth:`open`; close it (or use ``with``) when done.

    ``path`` is the library file, or for a server the target as shown to people (password removed);
    ``backend`` says which ("sqlite" or "postgresql").
    """

    def __init__(self, path: Path | str, engine: Engine, connection: Connection, backend: str) -> None:
        self.path: Path | str = path
        self.backend = backend
        self._engine = engine
        self._conn = connection
        self._target: str | None = None          # the server target as given (may name a service)
        self.who = therapist_name() or local_user()

    # ---- lifecycle

    @classmethod
    def open(cls, path: str | os.PathLike | None = None, *, create: bool = True,
             retry_uploads: bool = True) -> Library:
        """Open (and if needed create and migrate) the library named by ``path`` (see :func:`resolve_target`).

        For a server, uploads waiting in this computer's queue are retried right away (``retry_uploads``).
        """
        target = resolve_target(path)
        if isinstance(target, str):
            lib = cls._open_server(target, create)
            if retry_uploads:
                from biofeedback.clinic.sync import retry_pending
                retry_pending(lib)
            return lib
        return cls._open_file(target, create)

    @classmethod
    def _open_file(cls, path: Path, create: bool) -> Library:
        if path.is_dir():
            raise LibraryError(f"the library path {path} is a folder; give a file name, e.g. {path / FILE_NAME}")
        if not path.exists() or path.stat().st_size == 0:
            if not create:
                raise LibraryError(f"there is no library at {path}; add a client first or check --library")
            if not path.exists():
                _create_file(path)
            version, app_id, tables = 0, 0, list[str]()
        else:
            version, app_id, tables = _inspect_file(path)
        if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables):
            raise LibraryError(f"{path} is another program's database, not a biofeedback library; "
                               f"choose another file with --library")
        if version > SCHEMA_VERSION:
            raise LibraryError(f"the library {path} was written by a newer version of biofeedback "
                               f"(schema {version}, this one reads up to {SCHEMA_VERSION}); update the program")
        engine = sqlite_engine(path)
        try:
            lib = cls(path, engine, engine.connect(), "sqlite")
            lib._migrate_file(version)
        except sa_exc.SQLAlchemyError as exc:
            engine.dispose()
            raise LibraryError(f"cannot open the library {path} for writing: {getattr(exc, 'orig', exc)}") from None
        return lib

    @classmethod
    def _open_server(cls, target: str, create: bool) -> Library:
        shown = redact(target)
        engine = server_engine(target)
        try:
            conn = engine.connect()
        except sa_exc.SQLAlchemyError as exc:
            engine.dispose()
            raise describe_server_error(exc, target) from None
        lib = cls(shown, engine, conn, "postgresql")
        lib._target = target
        try:
            lib._migrate_server(shown, create)
            if therapist_name() is None:
                with lib._read() as db:
                    lib.who = str(db.execute(text("SELECT current_user")).scalar())
        except LibraryError:
            lib.close()
            raise
        except sa_exc.SQLAlchemyError as exc:
            lib.close()
            raise describe_server_error(exc, target) from None
        return lib

    def _migrate_file(self, version: int) -> None:
        if version == SCHEMA_VERSION:
            return
        with self._transaction() as db:
            self._upgrade(db, version)
            self._tag(db)
            db.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
            db.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _migrate_server(self, shown: str, create: bool) -> None:
        with self._read() as db:
            version, tagged, tables = _inspect_server(db, shown)
        self._check_server(shown, version, tagged, tables, create)
        if version == SCHEMA_VERSION:
            return
        with self._transaction() as db:
            db.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": APPLICATION_ID})
            version, tagged, tables = _inspect_server(db, shown)    # another room may have just done it
            self._check_server(shown, version, tagged, tables, create)
            if version == SCHEMA_VERSION:
                return
            self._upgrade(db, version)
            self._tag(db)

    @staticmethod
    def _check_server(shown: str, version: int, tagged: bool, tables: list[str], create: bool) -> None:
        if not tagged and tables:
            raise LibraryError(f"the database {shown} holds other tables and is not a biofeedback library; "
                               f"give the library its own database (see the README)")
        if not tagged and not create:
            raise LibraryError(f"there is no library in {shown} yet; add a client first or check --library")
        if version > SCHEMA_VERSION:
            raise LibraryError(f"the library on {shown} was written by a newer version of biofeedback "
                               f"(schema {version}, this one reads up to {SCHEMA_VERSION}); update the program")

    @staticmethod
    def _tag(db: Connection) -> None:
        """What marks a database as a biofeedback library of this schema (a file also has its PRAGMAs)."""
        db.execute(library_info.delete())
        db.execute(insert(library_info), [{"key": "application", "value": APPLICATION_NAME},
                                          {"key": "schema_version", "value": str(SCHEMA_VERSION)}])

    @staticmethod
    def _upgrade(db: Connection, version: int) -> None:
        if version == 0:
            metadata.create_all(db)                # a new library gets the current schema whole
            return
        for step in range(version, SCHEMA_VERSION):
            MIGRATIONS[step](db)

    def close(self) -> None:
        try:
            self._conn.close()
        except sa_exc.SQLAlchemyError:
            pass
        self._engine.dispose()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def target(self) -> str:
        """What names this library for ``--library`` (a server's target as given: it may hold no password)."""
        return self._target if self._target is not None else str(self.path)

    @property
    def is_server(self) -> bool:
        return self.backend != "sqlite"

    # ---- transactions

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self._conn.begin():
                yield self._conn
        except sa_exc.OperationalError as exc:
            raise self._failure(exc) from None
        except sa_exc.DBAPIError as exc:
            raise LibraryError(f"the library {self.path} could not be read: {_first_line(exc)}") from None

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        self._conn.info["write"] = True
        try:
            with self._conn.begin():
                yield self._conn
        finally:
            self._conn.info["write"] = False

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A write transaction whose failures become one-line errors."""
        try:
            with self._transaction() as db:
                yield db
        except sa_exc.IntegrityError as exc:
            raise UserError(f"the library refused the change: {_first_line(exc)}") from None
        except sa_exc.OperationalError as exc:
            raise self._failure(exc) from None
        except sa_exc.DBAPIError as exc:
            raise LibraryError(f"the library {self.path} refused the change: {_first_line(exc)}") from None

    def _failure(self, exc: sa_exc.OperationalError) -> LibraryError:
        if self.is_server:
            return describe_server_error(exc, self.target)
        return LibraryError(f"cannot write to the library {self.path}: {_first_line(exc)}")

    def _stamp(self) -> dict[str, Any]:
        return {"changed_by": self.who, "changed_at": _now()}

    @property
    def schema_version(self) -> int:
        with self._read() as db:
            if not self.is_server:
                return int(db.exec_driver_sql("PRAGMA user_version").scalar() or 0)
            value = db.execute(select(library_info.c.value).where(library_info.c.key == "schema_version")).scalar()
            return int(value or 0)

    # ---- clients

    _CLIENT_COLS = (clients.c.id, clients.c.name, clients.c.notes, clients.c.calibration, clients.c.bands,
                    clients.c.created_at, clients.c.row_version, clients.c.changed_by, clients.c.changed_at)

    @staticmethod
    def _client(row: Any) -> Client:
        return Client(id=row[0], name=row[1], notes=row[2], calibration=_loads(row[3]), bands=_loads(row[4]),
                      created_at=row[5], row_version=row[6], changed_by=row[7], changed_at=row[8])

    def add_client(self, name: str, notes: str = "", calibration: dict | None = None,
                   bands: dict | None = None) -> Client:
        """Add a client by name or alias; names are unique regardless of case."""
        name = (name or "").strip()
        if not name:
            raise UserError("a client needs a name or an alias")
        if self.find_client(name):
            raise UserError(f"there is already a client called {name!r}; choose another name or alias")
        with self._writing() as db:
            new_id = db.execute(insert(clients).returning(clients.c.id), dict(
                name=name, notes=notes, calibration=_dumps(_clean_numbers(calibration)),
                bands=_dumps(_clean_numbers(bands)), created_at=_now(), client_uid=_new_uid(),
                **self._stamp())).scalar_one()
        return self.client_by_id(int(new_id))

    def find_client(self, name: str) -> Client | None:
        with self._read() as db:
            row = db.execute(select(*self._CLIENT_COLS).where(
                func.lower(clients.c.name) == func.lower(name.strip()))).first()
        return self._client(row) if row else None

    def client(self, name: str) -> Client:
        """The client called ``name`` (case-insensitive); a clear error if there is none."""
        return require_client(self, name)

    def get_or_add_client(self, name: str) -> Client:
        return self.find_client(name) or self.add_client(name)

    def client_by_id(self, client_id: int) -> Client:
        with self._read() as db:
            row = db.execute(select(*self._CLIENT_COLS).where(clients.c.id == client_id)).first()
        if row is None:
            raise UserError(f"no client with id {client_id} in the library")
        return self._client(row)

    def clients(self) -> list[Client]:
        with self._read() as db:
            rows = db.execute(select(*self._CLIENT_COLS).order_by(func.lower(clients.c.name), clients.c.id)).all()
        return [self._client(r) for r in rows]

    def update_client(self, client: Client | int, *, name: str | None = None, notes: str | None = None,
                      calibration: dict | None = None, bands: dict | None = None) -> Client:
        """Change the given fields of a client; fields left as None stay as they are.

        Passing a :class:`Client` read earlier makes the change conditional on nobody having changed her since
        (her ``row_version``): if another room did, :class:`ConflictError` says who and when, and nothing is
        overwritten. Passing an id changes the current record.
        """
        cid = _id_of(client)
        current = self.client_by_id(cid)
        expected = client.row_version if isinstance(client, Client) else current.row_version
        if expected != current.row_version:
            raise self._conflict(current)
        with self._writing() as db:
            result = db.execute(update(clients).where(clients.c.id == cid, clients.c.row_version == expected).values(
                name=(name or current.name).strip(),
                notes=current.notes if notes is None else notes,
                calibration=_dumps(_clean_numbers(current.calibration if calibration is None else calibration)),
                bands=_dumps(_clean_numbers(current.bands if bands is None else bands)),
                row_version=clients.c.row_version + 1, **self._stamp()))
            changed = result.rowcount
        if changed != 1:
            raise self._conflict(self.client_by_id(cid))
        return self.client_by_id(cid)

    @staticmethod
    def _conflict(now: Client) -> ConflictError:
        by = f" by {now.changed_by}" if now.changed_by else ""
        at = f" at {now.changed_at[11:16]} on {now.changed_at[:10]}" if len(now.changed_at) >= 16 else ""
        return ConflictError(f"{now.name}'s record was changed in the meantime{by}{at}; nothing was overwritten: "
                             f"open her record again and make the change once more")

    # ---- sessions

    _SESSION_COLS = (sessions.c.id, sessions.c.client_id, sessions.c.recording_path, sessions.c.started_at,
                     sessions.c.protocol, sessions.c.duration_s, sessions.c.summary, sessions.c.notes)

    @staticmethod
    def _session(row: Any) -> SessionRecord:
        return SessionRecord(id=row[0], client_id=row[1], recording_path=row[2], started_at=row[3],
                             protocol=row[4], duration_s=row[5], summary=_loads(row[6]), notes=row[7])

    def _upsert(self, table: Table) -> Any:
        """INSERT ... ON CONFLICT for this backend (both dialects spell it the same way in SQLAlchemy)."""
        from sqlalchemy.dialects import postgresql, sqlite
        return postgresql.insert(table) if self.is_server else sqlite.insert(table)

    def add_session(self, client: Client | int, recording_path: str | os.PathLike, started_at: str,
                    protocol: str = "", duration_s: float | None = None, summary: dict | None = None,
                    notes: str = "", place: str | None = None) -> SessionRecord:
        """Record a session (adding the same recording file again updates it).

        ``place`` ('home' or 'clinic') says where it took place; None leaves it to :meth:`session_places`.
        """
        cid = _id_of(client)
        path = str(Path(recording_path).expanduser().resolve())
        parse_day(started_at)
        values = dict(client_id=cid, recording_path=path, started_at=started_at, protocol=protocol or "",
                      duration_s=duration_s, summary=_dumps(_clean_numbers(summary)), notes=notes, **self._stamp())
        if place is not None:
            values["place"] = _check_place(place)
        stmt = self._upsert(sessions).values(**values)
        stmt = stmt.on_conflict_do_update(index_elements=[sessions.c.recording_path], set_={
            **{k: stmt.excluded[k] for k in values if k != "recording_path"},
            "row_version": sessions.c.row_version + 1})
        with self._writing() as db:
            db.execute(stmt)
        return self.session_for_recording(path)  # type: ignore[return-value]

    def session_for_recording(self, recording_path: str | os.PathLike) -> SessionRecord | None:
        path = str(Path(recording_path).expanduser().resolve())
        with self._read() as db:
            row = db.execute(select(*self._SESSION_COLS).where(sessions.c.recording_path == path)).first()
        return self._session(row) if row else None

    def session_by_id(self, session_id: int) -> SessionRecord:
        with self._read() as db:
            row = db.execute(select(*self._SESSION_COLS).where(sessions.c.id == session_id)).first()
        if row is None:
            raise UserError(f"no session with id {session_id} in the library")
        return self._session(row)

    def sessions(self, client: Client | int, start: dt.date | None = None,
                 end: dt.date | None = None) -> list[SessionRecord]:
        """A client's sessions in date order, optionally between two days (inclusive)."""
        with self._read() as db:
            rows = db.execute(select(*self._SESSION_COLS).where(sessions.c.client_id == _id_of(client))
                              .order_by(sessions.c.started_at, sessions.c.id)).all()
        out = [self._session(r) for r in rows]
        return [s for s in out if (start is None or s.day >= start) and (end is None or s.day <= end)]

    def recording_file(self, session: SessionRecord) -> Path:
        """A local file holding the session's recording: the original when it is on this computer, else a
        verified copy fetched from the server into the local cache."""
        local = Path(session.recording_path)
        if local.exists() or not self.is_server:
            return local
        from biofeedback.clinic.sync import fetch_recording
        return fetch_recording(self, session)

    # ---- diary

    _DIARY_COLS = (diary.c.id, diary.c.client_id, diary.c.day, diary.c.pain_intercourse, diary.c.pain_pelvic,
                   diary.c.mood, diary.c.minutes_practised, diary.c.notes, diary.c.session_id)

    @staticmethod
    def _diary(row: Any) -> DiaryEntry:
        return DiaryEntry(id=row[0], client_id=row[1], day=dt.date.fromisoformat(row[2]), pain_intercourse=row[3],
                          pain_pelvic=row[4], mood=row[5], minutes_practised=row[6], notes=row[7],
                          session_id=row[8])

    def add_diary(self, client: Client | int, day: dt.date | str | None = None, *,
                  pain_intercourse: float | None = None, pain_pelvic: float | None = None,
                  mood: int | None = None, minutes_practised: float | None = None, notes: str = "",
                  session_id: int | None = None) -> DiaryEntry:
        """Add a diary entry (days without a session are fine); out-of-range scores are refused."""
        cid = _id_of(client)
        day = parse_day(day) if day is not None else dt.date.today()
        latest = dt.date.today() + dt.timedelta(days=1)
        if day > latest:
            raise UserError(f"the diary date {day.isoformat()} is in the future; give a day up to {latest.isoformat()}")
        for label, value, lo, hi in (("pain during intercourse or dilator use", pain_intercourse, 0, 10),
                                     ("pelvic pain", pain_pelvic, 0, 10), ("mood", mood, 1, 5),
                                     ("minutes practised", minutes_practised, 0, MAX_MINUTES_PRACTISED)):
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)
                                          and lo <= value <= hi):
                shown = f"{value:g}" if isinstance(value, (int, float)) else repr(value)
                raise UserError(f"{label} must be between {lo} and {hi}, got {shown}")
        notes = (notes or "").strip()
        if all(v is None for v in (pain_intercourse, pain_pelvic, mood, minutes_practised)) and not notes:
            raise UserError("the diary entry is empty; give at least one of pain, pelvic pain, mood, "
                            "minutes practised or notes")
        with self._writing() as db:
            row = db.execute(insert(diary).returning(*self._DIARY_COLS), dict(
                client_id=cid, day=day.isoformat(), pain_intercourse=pain_intercourse, pain_pelvic=pain_pelvic,
                mood=mood, minutes_practised=minutes_practised, notes=notes or "", session_id=session_id,
                created_at=_now(), **self._stamp())).one()
        return self._diary(row)

    def diary(self, client: Client | int, start: dt.date | None = None,
              end: dt.date | None = None) -> list[DiaryEntry]:
        """A client's diary in date order, optionally between two days (inclusive)."""
        stmt = select(*self._DIARY_COLS).where(diary.c.client_id == _id_of(client))
        if start is not None:
            stmt = stmt.where(diary.c.day >= start.isoformat())
        if end is not None:
            stmt = stmt.where(diary.c.day <= end.isoformat())
        with self._read() as db:
            rows = db.execute(stmt.order_by(diary.c.day, diary.c.id)).all()
        return [self._diary(r) for r in rows]

    # ---- goals

    _GOAL_COLS = (goals.c.id, goals.c.client_id, goals.c.metric, goals.c.comparison, goals.c.target, goals.c.label,
                  goals.c.created_on, goals.c.met_on, goals.c.protocol)

    @staticmethod
    def _goal(row: Any) -> Goal:
        return Goal(id=row[0], client_id=row[1], metric=row[2], comparison=row[3], target=row[4], label=row[5],
                    created_on=dt.date.fromisoformat(row[6]) if row[6] else None,
                    met_on=dt.date.fromisoformat(row[7]) if row[7] else None, protocol=row[8] or "")

    def add_goal(self, client: Client | int, metric: str, comparison: str, target: float, label: str = "",
                 created_on: dt.date | None = None, protocol: str = "") -> Goal:
        """A small, achievable target, e.g. ``("release_latency_s", "<=", 1.0, "release within 1 s")``.

        ``protocol`` names the protocol whose sessions can meet it (a Glazer goal is not met by a relaxation
        session); "" (or "all") makes it count for every protocol. See
        :func:`biofeedback.clinic.catalogue.check_goal_protocol` for what is refused.
        """
        check_goal_metric(metric)
        if comparison not in COMPARISONS:
            raise UserError(f"a goal compares with <, <=, > or >=, got {comparison!r}")
        check_goal_target(target)
        protocol = check_goal_protocol(metric, protocol)
        cid = _id_of(client)
        with self._writing() as db:
            new_id = db.execute(insert(goals).returning(goals.c.id), dict(
                client_id=cid, metric=metric, comparison=comparison, target=float(target), label=label,
                created_on=(created_on or dt.date.today()).isoformat(), protocol=protocol,
                **self._stamp())).scalar_one()
        return self.goals(cid, goal_id=int(new_id))[0]

    def goals(self, client: Client | int, goal_id: int | None = None) -> list[Goal]:
        stmt = select(*self._GOAL_COLS).where(goals.c.client_id == _id_of(client))
        if goal_id is not None:
            stmt = stmt.where(goals.c.id == goal_id)
        with self._read() as db:
            rows = db.execute(stmt.order_by(goals.c.id)).all()
        return [self._goal(r) for r in rows]

    # ---- release-target steps (shaping)

    def add_target_step(self, client: Client | int, target: float, day: dt.date | str | None = None,
                        rule: str = "", note: str = "", unit: str = "uV") -> dict[str, Any]:
        """Store a release target from ``day`` on (see :mod:`biofeedback.clinic.shaping` for the rule)."""
        check_goal_target(target)
        if not target > 0:
            raise UserError(f"a release target must be above 0, got {target:g}")
        cid = _id_of(client)
        the_day = parse_day(day) if day is not None else dt.date.today()
        with self._writing() as db:
            new_id = db.execute(insert(target_steps).returning(target_steps.c.id), dict(
                client_id=cid, day=the_day.isoformat(), target=float(target), unit=unit, rule=rule, note=note,
                created_at=_now())).scalar_one()
        return next(t for t in self.target_steps(cid) if t["id"] == new_id)

    def target_steps(self, client: Client | int) -> list[dict[str, Any]]:
        """Every release-target step of a client, oldest first: {id, day, target, unit, rule, note}."""
        t = target_steps
        with self._read() as db:
            rows = db.execute(select(t.c.id, t.c.day, t.c.target, t.c.unit, t.c.rule, t.c.note)
                              .where(t.c.client_id == _id_of(client)).order_by(t.c.day, t.c.id)).all()
        return [{"id": r[0], "day": dt.date.fromisoformat(r[1]), "target": r[2], "unit": r[3], "rule": r[4],
                 "note": r[5]} for r in rows]

    def mark_goal_met(self, goal: Goal | int, day: dt.date | None) -> None:
        """Record the day a goal was first met (None clears it)."""
        with self._writing() as db:
            db.execute(update(goals).where(goals.c.id == _id_of(goal)).values(
                met_on=day.isoformat() if day else None, row_version=goals.c.row_version + 1, **self._stamp()))


    # ---- clinic <-> home (programme and practice files; see biofeedback.clinic.programme/practice)

    def client_uid(self, client: Client | int) -> str:
        """Her random identifier (uuid4), made now if she has none yet.

        Making it is not an edit of her record by anyone, so her row version stays (no false conflicts).
        """
        cid = _id_of(client)
        with self._read() as db:
            row = db.execute(select(clients.c.client_uid).where(clients.c.id == cid)).first()
        if row is None:
            raise UserError(f"no client with id {cid} in the library")
        if row[0]:
            return str(row[0])
        with self._writing() as db:
            db.execute(update(clients).where(clients.c.id == cid, clients.c.client_uid.is_(None))
                       .values(client_uid=_new_uid()))
        return self.client_uid(cid)

    def set_client_uid(self, client: Client | int, uid: str) -> None:
        """Give a client the identifier another library knows her by (installing her programme at home)."""
        with self._writing() as db:
            db.execute(update(clients).where(clients.c.id == _id_of(client)).values(
                client_uid=uid, row_version=clients.c.row_version + 1, **self._stamp()))

    def find_client_by_uid(self, uid: str) -> Client | None:
        with self._read() as db:
            row = db.execute(select(*self._CLIENT_COLS).where(clients.c.client_uid == uid)).first()
        return self._client(row) if row else None

    def add_programme(self, client: Client | int, schedule: ProgrammeSchedule) -> ProgrammeSchedule:
        """Store a programme's schedule (the same programme id again changes nothing)."""
        cid = _id_of(client)
        stmt = self._upsert(programmes).values(
            client_id=cid, programme_uid=schedule.programme_uid, written_at=schedule.written_at,
            start_day=schedule.start_day.isoformat(), weeks=schedule.weeks, note=schedule.note,
            installed=int(schedule.installed), **self._stamp())
        stmt = stmt.on_conflict_do_nothing(index_elements=[programmes.c.client_id, programmes.c.programme_uid])
        with self._writing() as db:
            new_id = db.execute(stmt.returning(programmes.c.id)).scalar()
            if new_id is not None:
                db.execute(insert(programme_protocols), [
                    {"programme_id": new_id, "protocol": p, "times_per_week": n, "position": i}
                    for i, (p, n) in enumerate(schedule.protocols.items())])
        return next(p for p in self.programmes(cid) if p.programme_uid == schedule.programme_uid)

    def programmes(self, client: Client | int) -> list[ProgrammeSchedule]:
        """A client's programmes, oldest first (the last is the schedule in force)."""
        p, pp = programmes, programme_protocols
        with self._read() as db:
            rows = db.execute(select(p.c.id, p.c.programme_uid, p.c.written_at, p.c.start_day, p.c.weeks, p.c.note,
                                     p.c.installed).where(p.c.client_id == _id_of(client))
                              .order_by(p.c.written_at, p.c.id)).all()
            protocols: dict[int, dict[str, int]] = {int(r[0]): {} for r in rows}
            if protocols:
                for pid, name, times in db.execute(
                        select(pp.c.programme_id, pp.c.protocol, pp.c.times_per_week)
                        .where(pp.c.programme_id.in_(list(protocols))).order_by(pp.c.programme_id, pp.c.position)):
                    protocols[int(pid)][name] = int(times)
        return [ProgrammeSchedule(uid, written_at, dt.date.fromisoformat(start_day), int(weeks), protocols[int(pid)],
                                  note, bool(installed))
                for pid, uid, written_at, start_day, weeks, note, installed in rows]

    def add_home_session(self, client: Client | int, recording_path: str | os.PathLike, started_at: str,
                         protocol: str = "", duration_s: float | None = None,
                         summary: dict | None = None) -> SessionRecord:
        """File a session practised at home (from a practice file) in one step; a session already filed stays."""
        path = str(Path(recording_path).expanduser().resolve())
        parse_day(started_at)
        stmt = self._upsert(sessions).values(
            client_id=_id_of(client), recording_path=path, started_at=started_at, protocol=protocol or "",
            duration_s=duration_s, summary=_dumps(_clean_numbers(summary)), place="home", **self._stamp())
        with self._writing() as db:
            db.execute(stmt.on_conflict_do_nothing(index_elements=[sessions.c.recording_path]))
        return self.session_for_recording(path)  # type: ignore[return-value]

    def session_places(self, client: Client | int) -> dict[int, str]:
        """Session id -> ``'home'`` or ``'clinic'``.

        A session without a stored place was recorded where this library lives: at home for a client
        whose programme was installed here (her own computer), else at the clinic.
        """
        cid = _id_of(client)
        with self._read() as db:
            installed = db.execute(select(programmes.c.id).where(programmes.c.client_id == cid,
                                                                 programmes.c.installed == 1).limit(1)).first()
            rows = db.execute(select(sessions.c.id, sessions.c.place).where(sessions.c.client_id == cid)).all()
        here = "home" if installed else "clinic"
        return {int(sid): place or here for sid, place in rows}

    def set_session_place(self, session: SessionRecord | int, place: str) -> None:
        """Say where a session took place (home mode files its sessions as ``'home'``)."""
        _check_place(place)
        with self._writing() as db:
            db.execute(update(sessions).where(sessions.c.id == _id_of(session)).values(
                place=place, row_version=sessions.c.row_version + 1, **self._stamp()))

    def last_export(self, client: Client | int) -> str | None:
        """When her practice was last exported (ISO date-time), or None."""
        with self._read() as db:
            value = db.execute(select(practice_exports.c.last_export_at)
                               .where(practice_exports.c.client_id == _id_of(client))).scalar()
        return None if value is None else str(value)

    def set_last_export(self, client: Client | int, when: str) -> None:
        stmt = self._upsert(practice_exports).values(client_id=_id_of(client), last_export_at=when, **self._stamp())
        stmt = stmt.on_conflict_do_update(index_elements=[practice_exports.c.client_id], set_={
            "last_export_at": stmt.excluded.last_export_at, "changed_by": stmt.excluded.changed_by,
            "changed_at": stmt.excluded.changed_at, "row_version": practice_exports.c.row_version + 1})
        with self._writing() as db:
            db.execute(stmt)


#: Where a session took place.
PLACES = ("home", "clinic")


def _check_place(place: str) -> str:
    if place not in PLACES:
        raise UserError(f"a session takes place at 'home' or at the 'clinic', not {place!r}")
    return place


@dataclass(frozen=True)
class ProgrammeSchedule:
    """A home programme's schedule as the library keeps it: which protocols how often, from when, how long."""

    programme_uid: str
    written_at: str                 # ISO date-time the therapist wrote it (orders programmes)
    start_day: dt.date
    weeks: int
    protocols: dict[str, int]       # protocol name -> times a week
    note: str = ""
    installed: bool = False         # True in her own library (installed from the file)

    @property
    def end_day(self) -> dt.date:
        """The last day of the programme."""
        return self.start_day + dt.timedelta(days=7 * self.weeks - 1)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = [ln.strip() for ln in str(orig).splitlines() if ln.strip()]
    return lines[0] if lines else type(orig).__name__


def check_goal_target(target: float) -> float:
    """A goal's target as a finite number; NaN, infinity or text is refused with one line."""
    try:
        value = float(target)
    except (TypeError, ValueError):
        raise UserError(f"a goal's target must be a number, got {target!r}") from None
    if not math.isfinite(value):
        raise UserError(f"a goal's target must be a finite number, got {target!r}; e.g. release_latency_s<=1")
    return value


def require_client(library: Library, name: str) -> Client:
    """The existing client called ``name`` (case-insensitive); an unknown name is one clear line with close matches.

    Use this before recording, so a typo never files a session under a new, misspelt client.
    """
    name = (name or "").strip()
    if not name:
        raise UserError("a client needs a name or an alias")
    found = library.find_client(name)
    if found is not None:
        return found
    names = [c.name for c in library.clients()]
    by_fold = {n.casefold(): n for n in names}
    close = [by_fold[m] for m in difflib.get_close_matches(name.casefold(), list(by_fold), n=3, cutoff=0.6)]
    if close:
        hint = "did you mean " + " or ".join(repr(c) for c in close) + "?"
    elif names:
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        hint = f"clients: {shown}"
    else:
        hint = "the library has no clients yet"
    raise UserError(f"no client called {name!r} in the library {library.path} ({hint}); "
                    f"to add her: biofeedback clients {_shell_word(name)} --add")


def _shell_word(text: str) -> str:
    return shlex.quote(text)
