"""Keys and screen readers: squeezing by keyboard only where it belongs, and names for every control.

Why one event filter: the space bar means "squeeze" on the trace, in the patient view and in home
practice, but "press this button" everywhere else (a keyboard user must be able to start things),
and nothing may ever be taken from a text field. Return and Enter also press a focused button or
tick a focused checkbox (Qt leaves Return to dialogs' default buttons only).

Up/Down arrows (and the mouse wheel) set how hard she squeezes in steps of 5 %; the space bar
ramps the effort up while held and lets go when released (``sources.sim.GradedEffort``).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6 import QtCore, QtWidgets

K = QtCore.Qt.Key
TEXT_FIELDS = (QtWidgets.QLineEdit, QtWidgets.QTextEdit, QtWidgets.QPlainTextEdit, QtWidgets.QAbstractSpinBox)
SQUEEZE_HINT = "Space bar: squeeze while held, let go to release · ↑/↓ or mouse wheel: how hard"


def is_text_field(w: QtCore.QObject | None) -> bool:
    """Where typed keys belong to the field (an editable combo box included)."""
    if isinstance(w, TEXT_FIELDS):
        return True
    return isinstance(w, QtWidgets.QComboBox) and w.isEditable()


class PracticeKeys(QtCore.QObject):
    """Application event filter for one window: effort keys inside the practice areas, Return on buttons.

    ``on_hold(bool)`` gets space bar down/up, ``on_nudge(steps)`` arrow presses and wheel notches;
    either returns False when there is nothing to squeeze (a real sensor), and the key then goes on
    to Qt. ``on_space_elsewhere`` (optional) gets the space bar in an area when there is nothing to
    squeeze, e.g. play/pause of a replay.
    """

    def __init__(self, window: QtWidgets.QWidget, areas: Iterable[QtWidgets.QWidget],
                 on_hold: Callable[[bool], bool], on_nudge: Callable[[int], bool],
                 on_space_elsewhere: Callable[[], bool] | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.areas = list(areas)
        self.on_hold, self.on_nudge, self.on_space_elsewhere = on_hold, on_nudge, on_space_elsewhere
        for area in self.areas:
            area.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        app = QtWidgets.QApplication.instance()
        app.installEventFilter(self)
        window.destroyed.connect(lambda *_: app.removeEventFilter(self))

    def add_area(self, area: QtWidgets.QWidget) -> None:
        area.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.areas.append(area)

    def in_area(self, w: QtCore.QObject) -> bool:
        if not isinstance(w, QtWidgets.QWidget):
            return False
        return any(a.isVisible() and (a is w or a.isAncestorOf(w)) for a in self.areas)

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:
        et = ev.type()
        if et == QtCore.QEvent.Type.Wheel:
            return self._wheel(obj, ev)
        if et not in (QtCore.QEvent.Type.KeyPress, QtCore.QEvent.Type.KeyRelease):
            return False
        if not isinstance(obj, QtWidgets.QWidget) or obj.window() is not self.window or is_text_field(obj):
            return False
        press = et == QtCore.QEvent.Type.KeyPress
        key = ev.key()
        if key in (K.Key_Return, K.Key_Enter) and isinstance(obj, QtWidgets.QAbstractButton):
            if press and not ev.isAutoRepeat() and obj.isEnabled():
                obj.click()
            return True
        if not self.in_area(obj):
            return False                     # the space bar presses buttons out here, as Qt does
        if key == K.Key_Space:
            if ev.isAutoRepeat():
                return True
            if self.on_hold(press):
                return True
            if press and self.on_space_elsewhere is not None:
                return bool(self.on_space_elsewhere())
            return False
        if key in (K.Key_Up, K.Key_Down, K.Key_Plus, K.Key_Minus) and press:
            return bool(self.on_nudge(+1 if key in (K.Key_Up, K.Key_Plus) else -1))
        return False

    def _wheel(self, obj: QtCore.QObject, ev) -> bool:
        if not self.in_area(obj) or not isinstance(obj, QtWidgets.QWidget) or obj.window() is not self.window:
            return False
        notches = ev.angleDelta().y() / 120.0
        if notches == 0:
            return False
        return bool(self.on_nudge(1 if notches > 0 else -1))


def name_controls(root: QtWidgets.QWidget) -> None:
    """Give every button, checkbox, field and list under ``root`` an accessible name when it has none.

    Buttons take their visible words (without ``&`` and symbols); fields take their form label, else
    their placeholder or tooltip. Widgets that need more telling names get them where they are built.
    """
    labels: dict[QtWidgets.QWidget, str] = {}
    for lab in root.findChildren(QtWidgets.QLabel):
        if lab.buddy() is not None:
            labels[lab.buddy()] = lab.text()
    for form in root.findChildren(QtWidgets.QFormLayout):
        for row in range(form.rowCount()):
            label = form.itemAt(row, QtWidgets.QFormLayout.ItemRole.LabelRole)
            field = form.itemAt(row, QtWidgets.QFormLayout.ItemRole.FieldRole)
            if label is not None and field is not None and isinstance(label.widget(), QtWidgets.QLabel) \
                    and field.widget() is not None:
                labels.setdefault(field.widget(), label.widget().text())
    kinds = (QtWidgets.QAbstractButton, QtWidgets.QAbstractSpinBox, QtWidgets.QComboBox, QtWidgets.QLineEdit,
             QtWidgets.QSlider, QtWidgets.QAbstractItemView)
    for w in root.findChildren(QtWidgets.QWidget):
        if not isinstance(w, kinds) or w.accessibleName() or _qt_internal(w):
            continue
        text = ""
        if isinstance(w, QtWidgets.QAbstractButton):
            text = w.text()
        text = text or labels.get(w, "") or getattr(w, "placeholderText", lambda: "")() or w.toolTip() \
            or _group_title(w)
        text = "".join(ch for ch in text.replace("&", "") if ch.isalnum() or ch in " ,.-'%/()").strip()
        if text:
            w.setAccessibleName(text)


def _qt_internal(w: QtWidgets.QWidget) -> bool:
    """Qt's own parts (a spin box's line edit, the menu bar's overflow button): named by their owner."""
    return w.objectName().startswith("qt_") or isinstance(w.parent(), QtWidgets.QAbstractSpinBox)


def _group_title(w: QtWidgets.QWidget) -> str:
    parent = w.parentWidget()
    while parent is not None:
        if isinstance(parent, QtWidgets.QGroupBox) and parent.title():
            return parent.title()
        parent = parent.parentWidget()
    return ""


def unnamed_controls(root: QtWidgets.QWidget) -> list[QtWidgets.QWidget]:
    """Visible controls under ``root`` a screen reader could not name (for the tests)."""
    kinds = (QtWidgets.QAbstractButton, QtWidgets.QAbstractSpinBox, QtWidgets.QComboBox, QtWidgets.QLineEdit,
             QtWidgets.QSlider)
    return [w for w in root.findChildren(QtWidgets.QWidget)
            if isinstance(w, kinds) and w.isVisibleTo(root) and not _qt_internal(w) and not w.accessibleName().strip()]
