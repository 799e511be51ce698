"""Fixtures shared by the Qt tests: real offscreen windows and plots."""
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _application_look_restored(qapp):
    """A window's theme sets the whole application's font and palette (ui/theme.apply_theme): put them back
    after each test, so no test passes or fails by the look another test left behind (in either worker)."""
    font, palette = qapp.font(), qapp.palette()
    yield
    qapp.setFont(font)
    qapp.setPalette(palette)


@pytest.fixture
def make_window(qtbot, tmp_path):
    """``make_window(source=..., speed=..., **kw)``: a shown MainWindow, closed after the test."""
    from biofeedback.ui.main_window import MainWindow
    windows = []

    def make(source="sim:healthy", speed=1.0, **kw):
        win = MainWindow(source=source, speed=speed, recordings_dir=tmp_path / "recordings", **kw)
        qtbot.addWidget(win)
        win.show()
        windows.append(win)
        return win

    yield make
    for win in windows:
        win.close()


def _live_plot(qtbot, mode: str):
    from biofeedback.ui.liveplot import LivePlot
    from biofeedback.ui.theme import LIGHT
    p = LivePlot(LIGHT, mode=mode)
    qtbot.addWidget(p)
    p.resize(1200, 600)
    p.show()
    return p


@pytest.fixture
def plot(qtbot):
    """A shown LivePlot in scroll mode."""
    return _live_plot(qtbot, "scroll")


@pytest.fixture
def sweep_plot(qtbot):
    """A shown LivePlot in sweep mode (the window's default)."""
    return _live_plot(qtbot, "sweep")
