"""Keyboard and screen readers in the clinic window: Space and Return press buttons, squeezing only on the trace."""
from __future__ import annotations

import pytest
from PySide6 import QtCore, QtWidgets

from biofeedback.ui.practice_keys import unnamed_controls


@pytest.fixture(autouse=True)
def _light_afterwards(qapp):
    """A test that turns the theme dark changes the whole application's palette: leave it light for the next."""
    yield
    from biofeedback.ui.theme import LIGHT, apply_theme
    apply_theme(qapp, LIGHT)


def test_space_and_return_press_a_focused_button_and_tick_a_checkbox(make_window, qtbot):
    win = make_window(source="sim:healthy", speed=2.0)
    effort = win.practice_effort()
    win.pause_button.setFocus()
    qtbot.keyClick(win.pause_button, QtCore.Qt.Key.Key_Space)
    assert win.view_paused and not effort.held                        # Space pressed the button, no squeeze
    qtbot.keyClick(win.pause_button, QtCore.Qt.Key.Key_Return)
    assert not win.view_paused                                        # Return pressed it again
    win.raw_check.setFocus()
    qtbot.keyClick(win.raw_check, QtCore.Qt.Key.Key_Enter)
    assert win.raw_check.isChecked()
    qtbot.keyClick(win.raw_check, QtCore.Qt.Key.Key_Space)
    assert not win.raw_check.isChecked()
    assert effort.level == 0.0


def test_arrows_and_wheel_grade_the_squeeze_on_the_trace_only(make_window, qtbot):
    win = make_window(source="sim:healthy", speed=2.0)
    effort = win.practice_effort()
    for _ in range(6):
        qtbot.keyClick(win.plot.view, QtCore.Qt.Key.Key_Up)
    assert effort.level == pytest.approx(0.30)
    qtbot.keyClick(win.plot.view, QtCore.Qt.Key.Key_Down)
    assert effort.level == pytest.approx(0.25)
    win.set_patient_view(True, full_screen=False)
    wheel = QtWidgets.QApplication.sendEvent
    from PySide6 import QtGui
    pos = QtCore.QPointF(win.patient.bar.rect().center())
    ev = QtGui.QWheelEvent(pos, win.patient.bar.mapToGlobal(pos), QtCore.QPoint(), QtCore.QPoint(0, -120),
                           QtCore.Qt.MouseButton.NoButton, QtCore.Qt.KeyboardModifier.NoModifier,
                           QtCore.Qt.ScrollPhase.NoScrollPhase, False)
    wheel(win.patient.bar, ev)
    assert effort.level == pytest.approx(0.20)
    assert "Space bar" in win.patient.hint.text()                     # the visible hint says where it works
    win.set_patient_view(False)
    win.record_name.setFocus()
    qtbot.keyClick(win.record_name, QtCore.Qt.Key.Key_Up)              # never taken from a text field's neighbours
    qtbot.keyClicks(win.record_name, "a b")
    assert win.record_name.text() == "a b" and effort.level == pytest.approx(0.20)


def test_the_demo_is_off_by_default_and_says_it_is_a_demo(make_window):
    win = make_window(source="sim:healthy", speed=2.0)
    assert not win.sim_follows.isChecked() and "Demo" in win.sim_follows.text()


def test_every_control_the_plot_the_live_value_and_the_patient_view_have_names(make_window):
    win = make_window(source="sim:healthy", speed=2.0)
    assert unnamed_controls(win) == []
    assert win.plot.accessibleName() and win.plot.readout.value.accessibleName() == "Live value"
    assert win.patient.accessibleName() == "Patient view" and win.patient.bar.accessibleName()
    names = {win.bands_panel.c_low.accessibleName(), win.bands_panel.c_high.accessibleName()}
    assert len(names) == 2 and all("Contraction" in n for n in names)   # low and high named apart


def test_dark_theme_covers_the_exercise_panel_and_pacer(make_window):
    win = make_window(source="sim:healthy", speed=2.0)
    win.set_theme("dark")
    if win.cue_panel is None:
        pytest.skip("no cue panel")
    bg = win.cue_panel.palette().color(win.cue_panel.backgroundRole())
    assert bg.lightness() < 60
    assert win.cue_panel.pacer.colours.background.lightness() < 60
    assert win.patient.pacer.colours.background.lightness() < 60


def test_the_clinic_window_remembers_theme_pressure_unit_and_layout(make_window):
    from biofeedback.ui.settings import Settings
    win = make_window(source="sim:healthy")
    win.set_theme("dark")
    win.set_pressure_unit("mmHg")
    win.resize(1111, 777)
    win.close()
    s = Settings()
    assert (s.theme, s.pressure_unit) == ("dark", "mmHg")
    again = make_window(source="sim:healthy")
    assert again.pressure_unit == "mmHg" and again.layout_restored
    assert abs(again.size().width() - 1111) < 100 and again.size().width() != 1280


def test_letter_shortcuts_never_type_into_text_fields_or_act_there(make_window, qtbot):
    win = make_window(source="sim:healthy", speed=2.0)
    win.activateWindow()                                                # shortcuts need the active window
    qtbot.waitUntil(win.isActiveWindow, timeout=3000)
    win.marker_label.setFocus()
    qtbot.keyClicks(win.marker_label, "mk ok")
    assert win.marker_label.text() == "mk ok" and win.controller.markers_added == 0
    win.plot.view.setFocus()
    qtbot.keyClick(win.plot.view, QtCore.Qt.Key.Key_M)                  # on the trace, M adds a marker
    assert win.controller.markers_added == 1
