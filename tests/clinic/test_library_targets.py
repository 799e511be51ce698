"""Naming a library: a path is a file, a URL or libpq string is a server; passwords never shown."""
from __future__ import annotations

from pathlib import Path

import pytest

from biofeedback.cli import main
from biofeedback.clinic.store import has_password, is_server, redact, resolve_target


@pytest.mark.parametrize("text, server", [
    ("postgresql://u@db/clinic", True), ("postgres://db/clinic", True), ("postgresql+psycopg://db/x", True),
    ("service=clinic", True), ("host=db dbname=clinic", True), ("postgresql:///?service=clinic", True),
    ("/home/a/library.sqlite", False), ("library.sqlite", False), ("odd=name.sqlite", False), ("", False)])
def test_a_path_selects_sqlite_a_url_or_service_a_server(text, server):
    assert is_server(text) is server


def test_passwords_are_redacted_everywhere():
    assert redact("postgresql://maria:s3cret@db:5432/clinic?sslmode=require") == \
        "postgresql://maria:***@db:5432/clinic?sslmode=require"
    assert "s3cret" not in redact("postgresql://maria@db/clinic?password=s3cret&sslmode=require")
    assert redact("host=db password='se cret' dbname=x") == "host=db password=*** dbname=x"
    assert redact("/a/b.sqlite") == "/a/b.sqlite"
    assert has_password("postgresql://m:pw@db/c") and not has_password("postgresql://m@db/c")


def test_environment_names_a_server(monkeypatch):
    monkeypatch.setenv("BIOFEEDBACK_LIBRARY", " postgresql://m@db/clinic ")
    assert resolve_target(None) == "postgresql://m@db/clinic"
    monkeypatch.setenv("BIOFEEDBACK_LIBRARY", "/x/lib.sqlite")
    assert resolve_target(None) == Path("/x/lib.sqlite")


def test_password_in_library_option_is_refused_without_echo(capsys):
    with pytest.raises(SystemExit) as info:
        main(["clients", "--library", "postgresql://m:topsecret@127.0.0.1:9/c"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "~/.pgpass" in err and "topsecret" not in err
