"""Shared fixtures. Qt tests run offscreen; CLI tests run the real command in a subprocess."""
from __future__ import annotations

import os

import pytest

from tests.helpers import run_cli

# every test may use the library on both backends (library_target, pg_url: a real PostgreSQL server)
pytest_plugins = ["tests.library_fixtures"]

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _private_library(tmp_path_factory, monkeypatch):
    """Tests never touch the real user's client library (subprocesses inherit the variable)."""
    monkeypatch.setenv("BIOFEEDBACK_LIBRARY", str(tmp_path_factory.mktemp("library") / "library.sqlite"))
    # nor the real user's remembered choices (theme, sound, window layout: ui/settings.py)
    monkeypatch.setenv("BIOFEEDBACK_SETTINGS", str(tmp_path_factory.mktemp("settings") / "settings.ini"))


@pytest.fixture
def cli():
    return run_cli
