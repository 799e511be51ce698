"""Library fixtures (a plugin of the root conftest): every library test runs on a SQLite file and on a real
PostgreSQL server.

The server is the one named by ``BIOFEEDBACK_TEST_PG`` (CI starts a throwaway cluster with
``tests/pg_cluster.sh``; on a developer's machine: ``export BIOFEEDBACK_TEST_PG=$(tests/pg_cluster.sh start
/tmp/bfpg)``). Each test gets a fresh database on it, dropped afterwards. Without that variable the server
half of the tests is skipped, saying so; there is never a mock database.
"""
from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

PG_ENV = "BIOFEEDBACK_TEST_PG"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """The upload queue and the cache of fetched recordings stay inside the test's folders."""
    monkeypatch.setenv("BIOFEEDBACK_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("BIOFEEDBACK_THERAPIST", raising=False)


def with_database(url: str, name: str) -> str:
    """The server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def pg_server() -> str:
    url = os.environ.get(PG_ENV, "").strip()
    if not url:
        pytest.skip(f"no PostgreSQL server for the tests: set {PG_ENV} (tests/pg_cluster.sh start DIR prints one)")
    return url


def create_database(server: str) -> str:
    import psycopg
    name = f"bf_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(server: str, name: str) -> None:
    import psycopg
    with psycopg.connect(server, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_server):
    """A fresh, empty database on the test server (dropped after the test)."""
    name = create_database(pg_server)
    yield with_database(pg_server, name)
    drop_database(pg_server, name)


@pytest.fixture(params=["sqlite", "postgresql"])
def library_target(request, tmp_path) -> str:
    """Where a test's library lives: a new SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "lib.sqlite")
    return request.getfixturevalue("pg_url")
