"""The window is assembled from parts that talk through the controller: one bands model, one notification."""
from __future__ import annotations

import pytest

from biofeedback.signal.calibration import Bands
from biofeedback.ui.liveplot import LivePlot
from biofeedback.ui.main_window import MainWindow


def test_window_is_composed_not_mixed_in():
    bases = [b.__name__ for b in MainWindow.__mro__]
    assert "WindowLayout" not in bases and "FrameLoop" not in bases
    for gone in ("set_bands", "_bands_from_plot", "_bands_from_panel", "_show_bands"):
        assert not hasattr(MainWindow, gone)


def test_plot_drag_and_panel_typing_both_go_through_the_one_bands_model(make_window, qtbot, monkeypatch):
    win = make_window()
    ctl = win.controller
    ctl.set_bands(Bands(20.0, 40.0, 8.0, mvc=80.0))
    told: list[tuple[Bands, object]] = []
    ctl.bands_model.changed.connect(lambda b, origin: told.append((b, origin)))
    redrawn: list[str] = []
    orig_plot, orig_panel = win.plot.set_bands, win.bands_panel.set_bands
    monkeypatch.setattr(win.plot, "set_bands", lambda b: (redrawn.append("plot"), orig_plot(b)))
    monkeypatch.setattr(win.bands_panel, "set_bands", lambda b: (redrawn.append("panel"), orig_panel(b)))

    line = win.plot._regions["contraction"].lines[1]          # drag the contraction band's top edge
    line.setValue(56.0)
    line.sigPositionChangeFinished.emit(line)
    assert len(told) == 1 and told[0][1] is win.plot           # one notification, from the plot
    assert ctl.bands.contraction_high == pytest.approx(56.0)
    assert redrawn == ["panel"]                                 # the plot already shows its own drag: no loop
    assert win.bands_panel.c_high.value() == pytest.approx(56.0)

    win.bands_panel.c_low.setValue(25.0)                        # type in the panel
    win.bands_panel.c_low.editingFinished.emit()
    assert len(told) == 2 and told[1][1] is win.bands_panel
    assert redrawn == ["panel", "plot"]
    assert win.plot._regions["contraction"].getRegion() == pytest.approx((25.0, 56.0))
    assert ctl.bands.contraction_low == pytest.approx(25.0)

    ctl.set_bands(Bands(10.0, 30.0, 4.0, mvc=50.0))             # a calibration or a client's bands: both views
    assert redrawn == ["panel", "plot", "plot", "panel"] and len(told) == 3
    assert win.bands_panel.c_high.value() == pytest.approx(30.0)
    assert win.plot._regions["contraction"].getRegion() == pytest.approx((10.0, 30.0))


def test_a_standalone_plot_is_bound_to_a_controller_like_the_window_binds_it(qtbot):
    from biofeedback.session.controller import SessionController
    from biofeedback.ui.parts import BandsBinding
    ctl = SessionController()
    plot = LivePlot()
    qtbot.addWidget(plot)
    binding = BandsBinding(ctl, plot, plot.bandsEdited)
    ctl.set_bands(Bands(12.0, 33.0, 5.0))
    assert plot.bands == Bands(12.0, 33.0, 5.0)
    binding.close()
    ctl.set_bands(Bands(14.0, 33.0, 5.0))
    assert plot.bands == Bands(12.0, 33.0, 5.0)                 # a closed binding no longer follows
