"""Switching the clinic window into home mode (View ▸ Home practice mode) and back when home mode closes.

The clinic session ends first (its recording is kept and filed), so one sensor is never read by two
sessions; home mode opens on the same source, library and client, and the clinic window comes back,
reconnected, when home mode is closed.
"""
from __future__ import annotations

from PySide6 import QtCore

from biofeedback.errors import UserError

DEFAULT_SOURCE = "sim:healthy"


def switch_to_home(window):
    """Hide the clinic ``window`` and open home mode for its client; returns the home window (None on a problem)."""
    from biofeedback.ui.home import HomeWindow
    controller = window.controller
    spec = controller.spec if controller.spec and not controller.spec.startswith("replay:") else DEFAULT_SOURCE
    window.disconnect_source()
    try:
        home = HomeWindow(source=spec, client=controller.client_name or None, library_path=controller.library_path,
                          speed=window.speed, recordings_dir=window.recordings_dir, theme=window.theme.name)
    except UserError as exc:
        window.show_banner(f"Home practice mode could not open: {exc}")
        window.connect_source(spec)
        return None
    home.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose, True)

    def back() -> None:
        window.show()
        window.set_theme(home.theme.name)
        window.connect_source(spec)

    home.destroyed.connect(lambda *_: back())
    window.home = home
    window.hide()
    home.show()
    return home
