"""Start the window: ``biofeedback gui [--source SPEC] [--screenshot PATH --quit-after S] [--patient-view]``."""
from __future__ import annotations

import sys

from biofeedback.errors import UserError
from biofeedback.files.outputs import atomic_output, new_output

_NOISE = ("propagateSizeHints",)  # the offscreen platform's harmless complaints (screenshots, tests)


def _quiet_platform_noise() -> None:
    from PySide6 import QtCore
    previous = None

    def handler(mode, context, message):
        if any(n in message for n in _NOISE):
            return
        if previous is not None:
            previous(mode, context, message)
        else:
            sys.stderr.write(message + "\n")

    previous = QtCore.qInstallMessageHandler(handler)


def ensure_app():
    """The QApplication (created once), with pyqtgraph set up for fast, opaque drawing."""
    import pyqtgraph as pg
    from PySide6 import QtWidgets
    app = QtWidgets.QApplication.instance()
    if app is None:
        _quiet_platform_noise()
        app = QtWidgets.QApplication(sys.argv[:1])
        app.setApplicationName("biofeedback")
        app.setOrganizationName("biofeedback")
    pg.setConfigOptions(antialias=False, useOpenGL=False, background="w", foreground="k")
    return app


def run_gui(source: str | None = None, theme: str | None = None, screenshot: str | None = None,
            quit_after: float | None = None, patient_view: bool = False, speed: float | None = 1.0,
            window_s: float | None = None, review: str | None = None, library: str | None = None) -> int:
    """Open the main window; with ``screenshot`` save a PNG of it after ``quit_after`` seconds and exit."""
    if screenshot and not quit_after:
        quit_after = 3.0
    if screenshot:  # checked before anything opens: never over an existing file
        screenshot = str(new_output(screenshot, suffixes=[".png"], what="screenshot"))
    app = ensure_app()
    from PySide6 import QtCore

    from biofeedback.ui.main_window import DEFAULT_SOURCE, MainWindow
    from biofeedback.ui.settings import Settings
    from biofeedback.ui.theme import apply_theme, get_theme
    theme = theme or Settings().theme                  # as last time, unless asked
    try:
        t = get_theme(theme)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    apply_theme(app, t)
    win = MainWindow(source=source or DEFAULT_SOURCE, theme=theme, speed=speed, library_path=library)
    if window_s:
        win.set_window(window_s)
    if not win.engine and win.banner.isVisible() and screenshot is None and quit_after is None:
        pass  # the window shows the problem and lets the user choose another source
    elif not win.engine and (screenshot or quit_after):
        msg = win.banner.text()
        win.close()
        raise UserError(msg or "cannot open the source")
    shown = win
    if review:
        shown = win.open_review(review) or win
    win.show()
    if patient_view:
        win.set_patient_view(True, full_screen=not screenshot)
    status = {"code": 0}

    def finish() -> None:
        if screenshot:
            status["code"] = save_screenshot(shown, screenshot)
        win.close()
        if shown is not win:
            shown.close()
        app.quit()

    if quit_after:
        QtCore.QTimer.singleShot(int(quit_after * 1000), finish)
    app.exec()
    return status["code"]


def save_screenshot(widget, path: str) -> int:
    """Save ``widget`` as a PNG, whole or not at all and readable by its owner only, like every output;
    0 when saved, else 2 after one line on stderr (the exit status of ``gui`` and ``home``)."""
    try:
        with atomic_output(path) as tmp:
            if not widget.grab().save(str(tmp), "PNG"):
                raise UserError(f"cannot write the screenshot {path}")
    except UserError as exc:
        print(f"biofeedback: {exc}", file=sys.stderr)
        return 2
    return 0
