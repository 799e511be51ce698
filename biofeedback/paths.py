"""The platform's user folders: the one place that knows where a user's files live.

Stdlib only, so every layer (and ``devices/``) may import it. An environment variable named by
the caller wins over the platform default, so tests and clinics can point anywhere.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "biofeedback"


def _platform_base(kind: str) -> Path:
    """``config`` or ``data`` folder of the platform (XDG on Linux, Application Support, APPDATA)."""
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Application Support"
    if sys.platform.startswith("win") or os.name == "nt":
        return Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming")
    if kind == "data":
        return Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")


def user_config_dir(*parts: str) -> Path:
    """``<config>/biofeedback/<parts>``: the user's own protocols, device profiles, settings."""
    return _platform_base("config").joinpath(APP, *parts)


def user_data_dir(*parts: str) -> Path:
    """``<data>/biofeedback/<parts>``: the client library and what the program keeps for the user."""
    return _platform_base("data").joinpath(APP, *parts)


def from_env_or(var: str, default: Path) -> Path:
    """The folder or file named by ``$var`` if set (``~`` expanded), else ``default``."""
    value = os.environ.get(var)
    return Path(value).expanduser() if value else default
