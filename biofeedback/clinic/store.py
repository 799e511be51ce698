"""Where the client library lives and how to reach it: a SQLite file, or a PostgreSQL server.

A *target* is what ``--library`` or ``$BIOFEEDBACK_LIBRARY`` names:

- a path selects the embedded SQLite library (the default; nothing changes for a single user);
- ``postgresql://...`` (or ``postgres://``), or a libpq connection string such as ``service=NAME``,
  selects a clinic's server. The string goes to libpq unchanged, so libpq's own conventions apply:
  passwords from ``~/.pgpass`` (or ``$PGPASSFILE``), services from ``pg_service.conf``, ``PGHOST`` and
  friends, ``sslmode``. The program never asks for, prints or stores a password: every message shows a
  target through :func:`redact`.

Both backends are driven through SQLAlchemy Core (psycopg 3 for the server, the standard library's
``sqlite3`` for files), so the library has one schema definition and one code path for its queries.
"""
from __future__ import annotations

import getpass
import os
import re
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from biofeedback.errors import UserError
from biofeedback.paths import from_env_or, user_data_dir

ENV_VAR = "BIOFEEDBACK_LIBRARY"
THERAPIST_ENV = "BIOFEEDBACK_THERAPIST"
CACHE_ENV = "BIOFEEDBACK_CACHE"
FILE_NAME = "library.sqlite"
_SERVER_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
_CONNINFO = re.compile(r"^\s*(service|host|hostaddr|dbname|user|port|sslmode)\s*=", re.IGNORECASE)
_PASSWORD_KV = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


class LibraryError(UserError):
    """The library cannot be used (damaged, not a library, from a newer version, unwritable)."""


class LibraryUnreachableError(LibraryError):
    """The library server cannot be reached now (down, network, timeout); what was recorded stays local."""


class ConflictError(UserError):
    """A change was refused because someone else changed the same record since it was read."""


# --------------------------------------------------------------------------- targets

def is_server(target: str | os.PathLike | None) -> bool:
    """True when ``target`` names a PostgreSQL server rather than a SQLite file."""
    if target is None or not isinstance(target, str):
        return False
    text = target.strip()
    return text.lower().startswith(_SERVER_SCHEMES) or bool(_CONNINFO.match(text))


def redact(target: str | os.PathLike) -> str:
    """A target as it may be shown or logged: any password replaced by ``***``."""
    text = os.fspath(target)
    if not is_server(text):
        return text
    text = _PASSWORD_KV.sub(lambda m: m.group(1) + "***", text)
    if "://" not in text:
        return text
    try:
        parts = urlsplit(text)
    except ValueError:
        return "postgresql://***"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{host}"
    query = parts.query
    if query:
        pairs = [(k, "***" if k.lower() == "password" else v) for k, v in parse_qsl(query, keep_blank_values=True)]
        query = urlencode(pairs, safe="/:*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def has_password(target: str) -> bool:
    """True when a server target carries a password itself (it belongs in ~/.pgpass, not on a command line)."""
    return is_server(target) and redact(target) != target.strip()


def default_library_path() -> Path:
    """The platform's usual place for the user's library file."""
    return user_data_dir(FILE_NAME)


def resolve_target(target: str | os.PathLike | None = None) -> str | Path:
    """``--library`` if given, else ``$BIOFEEDBACK_LIBRARY``, else the platform default file.

    A server target comes back as its string, a file as a :class:`~pathlib.Path`.
    """
    if target and is_server(target):
        return str(target).strip()
    if target:
        return Path(target).expanduser()
    env = os.environ.get(ENV_VAR, "")
    if is_server(env):
        return env.strip()
    return from_env_or(ENV_VAR, default_library_path())


def cache_dir() -> Path:
    """Local cache of server recordings and the upload queue (``$BIOFEEDBACK_CACHE`` overrides it)."""
    return from_env_or(CACHE_ENV, user_data_dir("cache"))


def therapist_name() -> str | None:
    """The configured therapist name recorded with each change, if any."""
    return (os.environ.get(THERAPIST_ENV) or "").strip() or None


def local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# --------------------------------------------------------------------------- engines

def _libpq_string(target: str) -> str:
    text = target.strip()
    if text.lower().startswith("postgresql+psycopg://"):
        text = "postgresql://" + text[len("postgresql+psycopg://"):]
    return text


def server_engine(target: str) -> Engine:
    """An engine whose connections libpq makes from ``target`` as given (so .pgpass, services, sslmode apply)."""
    import psycopg

    conninfo = _libpq_string(target)

    def connect() -> Any:
        return psycopg.connect(conninfo, connect_timeout=int(os.environ.get("PGCONNECT_TIMEOUT", "5")),
                               application_name="biofeedback")

    return create_engine("postgresql+psycopg://", creator=connect, poolclass=StaticPool)


def sqlite_engine(path: Path) -> Engine:
    """An engine on one SQLite file, with foreign keys on and explicit transactions.

    sqlite3's own implicit transactions are switched off: the library begins each transaction itself,
    ``BEGIN IMMEDIATE`` for a write (so two rooms or processes queue up instead of failing half way) and a
    plain ``BEGIN`` for reads.
    """
    def connect() -> sqlite3.Connection:
        return sqlite3.connect(str(path), isolation_level=None, timeout=30.0, check_same_thread=False)

    engine = create_engine("sqlite://", creator=connect, poolclass=StaticPool)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_con: Any, _record: Any) -> None:
        dbapi_con.isolation_level = None
        dbapi_con.execute("PRAGMA foreign_keys = ON")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")

    return engine


def describe_server_error(exc: BaseException, target: str) -> LibraryError:
    """One line for a failed server connection or query, naming the target without its password."""
    orig = getattr(exc, "orig", None) or exc
    lines = [ln.strip() for ln in str(orig).splitlines() if ln.strip()]
    first = lines[0] if lines else type(orig).__name__
    first = re.sub(r"^connection failed:\s*", "", first)
    first = first.replace("FATAL:  ", "").replace("FATAL: ", "")
    first = _PASSWORD_KV.sub(lambda m: m.group(1) + "***", first)
    shown = redact(target)
    low = first.lower()
    if "password authentication failed" in low or "no password supplied" in low or "role" in low and \
            "does not exist" in low:
        return LibraryError(f"the library server {shown} refused the login ({first}); check the user name and "
                            f"the password in ~/.pgpass (or $PGPASSFILE)")
    if "database" in low and "does not exist" in low:
        return LibraryError(f"the library server {shown} has no such database ({first}); ask the clinic's IT "
                            f"person to create it (see the README)")
    if "permission denied" in low:
        return LibraryError(f"the library server {shown} refused the change ({first}); the role needs the "
                            f"rights described in the README")
    return LibraryUnreachableError(f"cannot reach the library server {shown} ({first}); check the network, or ask "
                                   f"the clinic's IT person whether the server is running")
