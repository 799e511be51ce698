"""The client library: one SQLite file per user holding clients, sessions, diary entries and goals.

No server: the file lives in the platform's user data folder (``$XDG_DATA_HOME/biofeedback``
on Linux, ``~/Library/Application Support/biofeedback`` on macOS, ``%APPDATA%\\biofeedback``
on Windows); ``--library PATH`` or the environment variable ``BIOFEEDBACK_LIBRARY`` override
it. The file is created readable by the user only (0600, its folder 0700).

The schema version lives in ``PRAGMA user_version`` and the file is tagged with
``PRAGMA application_id``. Opening a damaged file, another program's database, or a
library written by a newer version raises :class:`LibraryError` with one clear line and
leaves the file untouched: the file is first inspected read-only, and only a file that
passes is opened for writing.
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biofeedback.clinic.catalogue import COMPARISONS, check_goal_metric
from biofeedback.errors import UserError
from biofeedback.paths import from_env_or, user_data_dir

#: Longest practice a diary entry may record, in minutes (a whole day's practice is not plausible).
MAX_MINUTES_PRACTISED = 600
#: ``PRAGMA application_id`` of a biofeedback library ("BFLB").
APPLICATION_ID = 0x42464C42
ENV_VAR = "BIOFEEDBACK_LIBRARY"
FILE_NAME = "library.sqlite"


class LibraryError(UserError):
    """The library file cannot be used (damaged, not a library, from a newer version, unwritable)."""


# --------------------------------------------------------------------------- location

def default_library_path() -> Path:
    """The platform's usual place for the user's library file."""
    return user_data_dir(FILE_NAME)


def resolve_library_path(path: str | os.PathLike | None = None) -> Path:
    """``--library PATH`` if given, else ``$BIOFEEDBACK_LIBRARY``, else the platform default."""
    if path:
        return Path(path).expanduser()
    return from_env_or(ENV_VAR, default_library_path())


# --------------------------------------------------------------------------- schema and migrations

def _run_script(db: sqlite3.Connection, script: str) -> None:
    """Run statements one by one inside the open transaction (``executescript`` would commit first)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _migrate_to_1(db: sqlite3.Connection) -> None:
    _run_script(db, """
        CREATE TABLE clients (
            id          INTEGER PRIMARY KEY,
            name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
            notes       TEXT NOT NULL DEFAULT '',
            calibration TEXT NOT NULL DEFAULT '{}',
            bands       TEXT NOT NULL DEFAULT '{}',
            created_at  TEXT NOT NULL
        );
        CREATE TABLE sessions (
            id             INTEGER PRIMARY KEY,
            client_id      INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
            recording_path TEXT NOT NULL UNIQUE,
            started_at     TEXT NOT NULL,
            protocol       TEXT NOT NULL DEFAULT '',
            duration_s     REAL,
            summary        TEXT NOT NULL DEFAULT '{}',
            notes          TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX sessions_by_client ON sessions(client_id, started_at);
        CREATE TABLE diary (
            id                INTEGER PRIMARY KEY,
            client_id         INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
            day               TEXT NOT NULL,
            pain_intercourse  REAL CHECK (pain_intercourse BETWEEN 0 AND 10),
            pain_pelvic       REAL CHECK (pain_pelvic BETWEEN 0 AND 10),
            mood              INTEGER CHECK (mood BETWEEN 1 AND 5),
            minutes_practised REAL CHECK (minutes_practised >= 0),
            notes             TEXT NOT NULL DEFAULT '',
            session_id        INTEGER REFERENCES sessions(id) ON DELETE SET NULL,
            created_at        TEXT NOT NULL
        );
        CREATE INDEX diary_by_client ON diary(client_id, day);
        CREATE TABLE goals (
            id         INTEGER PRIMARY KEY,
            client_id  INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
            metric     TEXT NOT NULL,
            comparison TEXT NOT NULL CHECK (comparison IN ('<', '<=', '>', '>=')),
            target     REAL NOT NULL,
            label      TEXT NOT NULL DEFAULT '',
            created_on TEXT NOT NULL,
            met_on     TEXT
        );
    """)


def _migrate_to_2(db: sqlite3.Connection) -> None:
    """Release-target steps (shaping): every target a client trained against, from the day it was set."""
    _run_script(db, """
        CREATE TABLE target_steps (
            id         INTEGER PRIMARY KEY,
            client_id  INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
            day        TEXT NOT NULL,
            target     REAL NOT NULL CHECK (target > 0),
            unit       TEXT NOT NULL DEFAULT 'uV',
            rule       TEXT NOT NULL DEFAULT '',
            note       TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );
        CREATE INDEX target_steps_by_client ON target_steps(client_id, day);
    """)


#: MIGRATIONS[i] brings a library from version i to version i + 1.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_migrate_to_1, _migrate_to_2]
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

def _inspect(path: Path) -> tuple[int, int, list[str]]:
    """Read (user_version, application_id, table names) and check the file, without changing it.

    A write killed mid-way leaves a hot rollback journal, which a read-only connection cannot roll back.
    Then the file and its journal are first recovered and checked as a private copy; only when the copy
    is sound is the real file opened normally, so that SQLite rolls the journal back in place. A truly
    damaged file is refused and left byte-identical.
    """
    if _hot_journal(path):
        with tempfile.TemporaryDirectory(prefix="bf-library-check-") as tmp:
            copy = Path(tmp) / path.name
            shutil.copyfile(path, copy)
            shutil.copyfile(_journal(path), _journal(copy))
            _check(copy, str(copy), uri=False)       # recovers the copy, refuses a damaged one
        return _check(path, str(path), uri=False)    # the same recovery, now in place
    return _check(path, path.resolve().as_uri() + "?mode=ro", uri=True)


def _journal(path: Path) -> Path:
    return path.with_name(path.name + "-journal")


def _hot_journal(path: Path) -> bool:
    try:
        return _journal(path).stat().st_size > 0
    except OSError:
        return False


def _check(path: Path, target: str, uri: bool) -> tuple[int, int, list[str]]:
    try:
        con = sqlite3.connect(target, uri=uri)
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


class Library:
    """An open client library. Use :meth:`open`; close it (or use ``with``) when done."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    # ---- lifecycle

    @classmethod
    def open(cls, path: str | os.PathLike | None = None, *, create: bool = True) -> Library:
        """Open (and if needed create and migrate) the library at ``path`` (see :func:`resolve_library_path`)."""
        path = resolve_library_path(path)
        if path.is_dir():
            raise LibraryError(f"the library path {path} is a folder; give a file name, e.g. {path / FILE_NAME}")
        if not path.exists() or path.stat().st_size == 0:
            if not create:
                raise LibraryError(f"there is no library at {path}; add a client first or check --library")
            if not path.exists():
                _create_file(path)
            version, app_id, tables = 0, 0, list[str]()
        else:
            version, app_id, tables = _inspect(path)
        if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables):
            raise LibraryError(f"{path} is another program's database, not a biofeedback library; "
                               f"choose another file with --library")
        if version > SCHEMA_VERSION:
            raise LibraryError(f"the library {path} was written by a newer version of biofeedback "
                               f"(schema {version}, this one reads up to {SCHEMA_VERSION}); update the program")
        try:
            con = sqlite3.connect(str(path), isolation_level=None)
            con.execute("PRAGMA foreign_keys = ON")
            lib = cls(path, con)
            lib._migrate(version)
        except sqlite3.Error as exc:
            raise LibraryError(f"cannot open the library {path} for writing: {exc}") from None
        return lib

    def _migrate(self, version: int) -> None:
        if version == SCHEMA_VERSION:
            return
        with self._transaction() as db:
            for step in range(version, SCHEMA_VERSION):
                MIGRATIONS[step](db)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> sqlite3.Connection:
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, exc_type: object, *rest: object) -> None:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")

    def _transaction(self) -> Library._Tx:
        return Library._Tx(self._db)

    def _write(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        try:
            with self._transaction() as db:
                return db.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise UserError(f"the library refused the change: {exc}") from None
        except sqlite3.OperationalError as exc:
            raise LibraryError(f"cannot write to the library {self.path}: {exc}") from None

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    # ---- clients

    @staticmethod
    def _client(row: tuple) -> Client:
        return Client(id=row[0], name=row[1], notes=row[2], calibration=_loads(row[3]), bands=_loads(row[4]),
                      created_at=row[5])

    _CLIENT_COLS = "id, name, notes, calibration, bands, created_at"

    def add_client(self, name: str, notes: str = "", calibration: dict | None = None,
                   bands: dict | None = None) -> Client:
        """Add a client by name or alias; names are unique regardless of case."""
        name = (name or "").strip()
        if not name:
            raise UserError("a client needs a name or an alias")
        if self.find_client(name):
            raise UserError(f"there is already a client called {name!r}; choose another name or alias")
        cur = self._write("INSERT INTO clients (name, notes, calibration, bands, created_at) VALUES (?,?,?,?,?)",
                          (name, notes, _dumps(_clean_numbers(calibration)), _dumps(_clean_numbers(bands)), _now()))
        return self.client_by_id(int(cur.lastrowid))

    def find_client(self, name: str) -> Client | None:
        row = self._db.execute(f"SELECT {self._CLIENT_COLS} FROM clients WHERE name = ?", (name.strip(),)).fetchone()
        return self._client(row) if row else None

    def client(self, name: str) -> Client:
        """The client called ``name`` (case-insensitive); a clear error if there is none."""
        return require_client(self, name)

    def get_or_add_client(self, name: str) -> Client:
        return self.find_client(name) or self.add_client(name)

    def client_by_id(self, client_id: int) -> Client:
        row = self._db.execute(f"SELECT {self._CLIENT_COLS} FROM clients WHERE id = ?", (client_id,)).fetchone()
        if row is None:
            raise UserError(f"no client with id {client_id} in the library")
        return self._client(row)

    def clients(self) -> list[Client]:
        rows = self._db.execute(f"SELECT {self._CLIENT_COLS} FROM clients ORDER BY name COLLATE NOCASE")
        return [self._client(r) for r in rows]

    def update_client(self, client: Client | int, *, name: str | None = None, notes: str | None = None,
                      calibration: dict | None = None, bands: dict | None = None) -> Client:
        """Change the given fields of a client; fields left as None stay as they are."""
        cid = client if isinstance(client, int) else client.id
        current = self.client_by_id(cid)
        self._write("UPDATE clients SET name=?, notes=?, calibration=?, bands=? WHERE id=?", (
            (name or current.name).strip(),
            current.notes if notes is None else notes,
            _dumps(_clean_numbers(current.calibration if calibration is None else calibration)),
            _dumps(_clean_numbers(current.bands if bands is None else bands)),
            cid))
        return self.client_by_id(cid)

    # ---- sessions

    _SESSION_COLS = "id, client_id, recording_path, started_at, protocol, duration_s, summary, notes"

    @staticmethod
    def _session(row: tuple) -> SessionRecord:
        return SessionRecord(id=row[0], client_id=row[1], recording_path=row[2], started_at=row[3],
                             protocol=row[4], duration_s=row[5], summary=_loads(row[6]), notes=row[7])

    def add_session(self, client: Client | int, recording_path: str | os.PathLike, started_at: str,
                    protocol: str = "", duration_s: float | None = None, summary: dict | None = None,
                    notes: str = "") -> SessionRecord:
        """Record a session (adding the same recording file again updates it)."""
        cid = client if isinstance(client, int) else client.id
        path = str(Path(recording_path).expanduser().resolve())
        parse_day(started_at)
        self._write("""INSERT INTO sessions (client_id, recording_path, started_at, protocol, duration_s, summary, notes)
                       VALUES (?,?,?,?,?,?,?)
                       ON CONFLICT(recording_path) DO UPDATE SET client_id=excluded.client_id,
                         started_at=excluded.started_at, protocol=excluded.protocol,
                         duration_s=excluded.duration_s, summary=excluded.summary, notes=excluded.notes""",
                    (cid, path, started_at, protocol or "", duration_s, _dumps(_clean_numbers(summary)), notes))
        return self.session_for_recording(path)  # type: ignore[return-value]

    def session_for_recording(self, recording_path: str | os.PathLike) -> SessionRecord | None:
        path = str(Path(recording_path).expanduser().resolve())
        row = self._db.execute(f"SELECT {self._SESSION_COLS} FROM sessions WHERE recording_path = ?",
                               (path,)).fetchone()
        return self._session(row) if row else None

    def sessions(self, client: Client | int, start: dt.date | None = None,
                 end: dt.date | None = None) -> list[SessionRecord]:
        """A client's sessions in date order, optionally between two days (inclusive)."""
        cid = client if isinstance(client, int) else client.id
        rows = self._db.execute(f"SELECT {self._SESSION_COLS} FROM sessions WHERE client_id = ? "
                                f"ORDER BY started_at, id", (cid,))
        out = [self._session(r) for r in rows]
        return [s for s in out if (start is None or s.day >= start) and (end is None or s.day <= end)]

    # ---- diary

    _DIARY_COLS = "id, client_id, day, pain_intercourse, pain_pelvic, mood, minutes_practised, notes, session_id"

    @staticmethod
    def _diary(row: tuple) -> DiaryEntry:
        return DiaryEntry(id=row[0], client_id=row[1], day=dt.date.fromisoformat(row[2]), pain_intercourse=row[3],
                          pain_pelvic=row[4], mood=row[5], minutes_practised=row[6], notes=row[7],
                          session_id=row[8])

    def add_diary(self, client: Client | int, day: dt.date | str | None = None, *,
                  pain_intercourse: float | None = None, pain_pelvic: float | None = None,
                  mood: int | None = None, minutes_practised: float | None = None, notes: str = "",
                  session_id: int | None = None) -> DiaryEntry:
        """Add a diary entry (days without a session are fine); out-of-range scores are refused."""
        cid = client if isinstance(client, int) else client.id
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
        cur = self._write("""INSERT INTO diary (client_id, day, pain_intercourse, pain_pelvic, mood,
                             minutes_practised, notes, session_id, created_at) VALUES (?,?,?,?,?,?,?,?,?)""",
                          (cid, day.isoformat(), pain_intercourse, pain_pelvic, mood, minutes_practised,
                           notes or "", session_id, _now()))
        row = self._db.execute(f"SELECT {self._DIARY_COLS} FROM diary WHERE id = ?", (cur.lastrowid,)).fetchone()
        return self._diary(row)

    def diary(self, client: Client | int, start: dt.date | None = None,
              end: dt.date | None = None) -> list[DiaryEntry]:
        """A client's diary in date order, optionally between two days (inclusive)."""
        cid = client if isinstance(client, int) else client.id
        sql = f"SELECT {self._DIARY_COLS} FROM diary WHERE client_id = ?"
        params: list[Any] = [cid]
        if start is not None:
            sql += " AND day >= ?"
            params.append(start.isoformat())
        if end is not None:
            sql += " AND day <= ?"
            params.append(end.isoformat())
        return [self._diary(r) for r in self._db.execute(sql + " ORDER BY day, id", params)]

    # ---- goals

    _GOAL_COLS = "id, client_id, metric, comparison, target, label, created_on, met_on"

    @staticmethod
    def _goal(row: tuple) -> Goal:
        return Goal(id=row[0], client_id=row[1], metric=row[2], comparison=row[3], target=row[4], label=row[5],
                    created_on=dt.date.fromisoformat(row[6]) if row[6] else None,
                    met_on=dt.date.fromisoformat(row[7]) if row[7] else None)

    def add_goal(self, client: Client | int, metric: str, comparison: str, target: float, label: str = "",
                 created_on: dt.date | None = None) -> Goal:
        """A small, achievable target, e.g. ``("release_latency_s", "<=", 1.0, "release within 1 s")``."""
        check_goal_metric(metric)
        if comparison not in COMPARISONS:
            raise UserError(f"a goal compares with <, <=, > or >=, got {comparison!r}")
        check_goal_target(target)
        cid = client if isinstance(client, int) else client.id
        cur = self._write("INSERT INTO goals (client_id, metric, comparison, target, label, created_on) "
                          "VALUES (?,?,?,?,?,?)", (cid, metric, comparison, float(target), label,
                                                   (created_on or dt.date.today()).isoformat()))
        return self.goals(cid, goal_id=int(cur.lastrowid))[0]

    def goals(self, client: Client | int, goal_id: int | None = None) -> list[Goal]:
        cid = client if isinstance(client, int) else client.id
        sql = f"SELECT {self._GOAL_COLS} FROM goals WHERE client_id = ?"
        params: list[Any] = [cid]
        if goal_id is not None:
            sql += " AND id = ?"
            params.append(goal_id)
        return [self._goal(r) for r in self._db.execute(sql + " ORDER BY id", params)]

    # ---- release-target steps (shaping)

    def add_target_step(self, client: Client | int, target: float, day: dt.date | str | None = None,
                        rule: str = "", note: str = "", unit: str = "uV") -> dict[str, Any]:
        """Store a release target from ``day`` on (see :mod:`biofeedback.clinic.shaping` for the rule)."""
        check_goal_target(target)
        if not target > 0:
            raise UserError(f"a release target must be above 0, got {target:g}")
        cid = client if isinstance(client, int) else client.id
        the_day = parse_day(day) if day is not None else dt.date.today()
        cur = self._write("INSERT INTO target_steps (client_id, day, target, unit, rule, note, created_at) "
                          "VALUES (?,?,?,?,?,?,?)",
                          (cid, the_day.isoformat(), float(target), unit, rule, note, _now()))
        return next(t for t in self.target_steps(cid) if t["id"] == cur.lastrowid)

    def target_steps(self, client: Client | int) -> list[dict[str, Any]]:
        """Every release-target step of a client, oldest first: {id, day, target, unit, rule, note}."""
        cid = client if isinstance(client, int) else client.id
        rows = self._db.execute("SELECT id, day, target, unit, rule, note FROM target_steps WHERE client_id = ? "
                                "ORDER BY day, id", (cid,))
        return [{"id": r[0], "day": dt.date.fromisoformat(r[1]), "target": r[2], "unit": r[3], "rule": r[4],
                 "note": r[5]} for r in rows]

    def mark_goal_met(self, goal: Goal | int, day: dt.date | None) -> None:
        """Record the day a goal was first met (None clears it)."""
        gid = goal if isinstance(goal, int) else goal.id
        self._write("UPDATE goals SET met_on = ? WHERE id = ?", (day.isoformat() if day else None, gid))


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
