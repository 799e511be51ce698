"""Choices remembered between runs: theme, sound mode and volume, pressure unit, eyes closed, window layout.

One small typed wrapper over ``QSettings`` (an INI file), so the clinic window and home mode read
and write the same keys. The file lives in the user's config folder, or where
``$BIOFEEDBACK_SETTINGS`` points (the tests point it at a temporary file).
"""
from __future__ import annotations

from PySide6 import QtCore

from biofeedback.paths import from_env_or, user_config_dir

SOUND_MODES = ("off", "relax", "pitch", "pacer")
DEFAULTS = {"theme": "light", "sound_mode": "relax", "sound_volume": 0.5, "pressure_unit": "cmH2O",
            "eyes_closed": False, "let_go": "at once"}


def settings_path():
    return from_env_or("BIOFEEDBACK_SETTINGS", user_config_dir("settings.ini"))


class Settings:
    """``Settings().theme = "dark"`` is stored at once; unknown or damaged values fall back to the defaults."""

    def __init__(self, path: str | None = None) -> None:
        self.path = str(path or settings_path())
        self._q = QtCore.QSettings(self.path, QtCore.QSettings.Format.IniFormat)

    def _get(self, key: str, allowed: tuple | None = None):
        default = DEFAULTS[key]
        value = self._q.value(key, default)
        try:
            if isinstance(default, bool):
                value = value if isinstance(value, bool) else str(value).lower() in ("true", "1", "yes")
            elif isinstance(default, float):
                value = min(1.0, max(0.0, float(value)))
            else:
                value = str(value)
        except (TypeError, ValueError):
            return default
        return value if allowed is None or value in allowed else default

    def _set(self, key: str, value) -> None:
        self._q.setValue(key, value)
        self._q.sync()

    theme = property(lambda self: self._get("theme", ("light", "dark")), lambda self, v: self._set("theme", v))
    sound_mode = property(lambda self: self._get("sound_mode", SOUND_MODES),
                          lambda self, v: self._set("sound_mode", v))
    sound_volume = property(lambda self: self._get("sound_volume"), lambda self, v: self._set("sound_volume", float(v)))
    pressure_unit = property(lambda self: self._get("pressure_unit", ("cmH2O", "mmHg")),
                             lambda self, v: self._set("pressure_unit", v))
    eyes_closed = property(lambda self: self._get("eyes_closed"), lambda self, v: self._set("eyes_closed", bool(v)))
    let_go = property(lambda self: self._get("let_go", ("at once", "slowly")), lambda self, v: self._set("let_go", v))

    def save_layout(self, name: str, window) -> None:
        """The window's size, position and (for a main window) dock/toolbar state."""
        self._q.setValue(f"{name}/geometry", window.saveGeometry())
        if hasattr(window, "saveState"):
            self._q.setValue(f"{name}/state", window.saveState())
        self._q.sync()

    def restore_layout(self, name: str, window) -> bool:
        geometry = self._q.value(f"{name}/geometry")
        if not isinstance(geometry, QtCore.QByteArray) or geometry.isEmpty():
            return False
        window.restoreGeometry(geometry)
        state = self._q.value(f"{name}/state")
        if hasattr(window, "restoreState") and isinstance(state, QtCore.QByteArray):
            window.restoreState(state)
        return True
