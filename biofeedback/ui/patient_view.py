"""The patient's view: the cue in large words, one large bar with only the target she works on, the breathing pacer.

No numbers and no units: the bar's shaded stripe is the target, the level fills the bar, and it turns
green while she is inside the target. Space, the arrow keys and the mouse wheel squeeze here when there
is no sensor (the hint at the bottom says so); Esc goes back.
"""
from __future__ import annotations

import math

from PySide6 import QtCore, QtGui, QtWidgets

from biofeedback.signal.calibration import Bands, placeholder_bands
from biofeedback.ui.cues import BreathingPacer
from biofeedback.ui.liveplot import nice_ceiling
from biofeedback.ui.practice_keys import SQUEEZE_HINT
from biofeedback.ui.theme import LIGHT, Theme, blend, cue_label


class LevelBar(QtWidgets.QWidget):
    """A tall bar: the muscle level fills it from the bottom; the target zone is a shaded stripe."""

    def __init__(self, theme: Theme = LIGHT) -> None:
        super().__init__()
        self.theme = theme
        self.value = float("nan")
        self.bands: Bands = placeholder_bands()
        self.target: str = "release"
        self.scale_top = 1.0
        self.setMinimumSize(220, 300)
        self.setAccessibleName("Muscle level")

    def set_state(self, value: float, bands: Bands, target: str) -> None:
        changed = (value != self.value and not (math.isnan(value) and math.isnan(self.value))) \
            or bands != self.bands or target != self.target
        self.value, self.bands, self.target = value, bands, target
        top = max(bands.contraction_high * 1.3, bands.release_high * 2.0,
                  value * 1.05 if math.isfinite(value) else 0.0)
        if top > self.scale_top or top < 0.5 * self.scale_top:
            self.scale_top = nice_ceiling(top)
        if changed:
            where = "inside" if self.in_target else ("above" if math.isfinite(value) and value > bands.limits(target)[1]
                                                     else "below")
            self.setAccessibleDescription(f"{where} the {target} target")
            self.update()

    @property
    def in_target(self) -> bool:
        return math.isfinite(self.value) and self.bands.contains(self.target, self.value)

    def paintEvent(self, ev: QtGui.QPaintEvent) -> None:
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        w, h = self.width(), self.height()
        bar_w = min(260, int(w * 0.8))
        x0 = (w - bar_w) // 2
        y_top, y_bot = 10, h - 10

        def y_of(v: float) -> float:
            return y_bot - (y_bot - y_top) * max(0.0, min(1.0, v / self.scale_top))

        frame = QtCore.QRectF(x0, y_top, bar_w, y_bot - y_top)
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        p.setBrush(QtGui.QColor(blend(self.theme.foreground, self.theme.background, 0.06)))
        p.drawRoundedRect(frame, 18, 18)
        lo, hi = self.bands.limits(self.target)
        zone = QtCore.QRectF(x0, y_of(hi), bar_w, y_of(lo) - y_of(hi))
        p.setBrush(QtGui.QColor(self.theme.band_fill(self.target, True)))
        p.drawRect(zone)
        edge = QtGui.QPen(QtGui.QColor(self.theme.band_edge(self.target)), 4)
        p.setPen(edge)
        p.drawLine(QtCore.QPointF(x0 - 16, zone.top()), QtCore.QPointF(x0 + bar_w + 16, zone.top()))
        if lo > 0:
            p.drawLine(QtCore.QPointF(x0 - 16, zone.bottom()), QtCore.QPointF(x0 + bar_w + 16, zone.bottom()))
        if math.isfinite(self.value):
            colour = QtGui.QColor(self.theme.trace_in_band if self.in_target else self.theme.muted)
            level = y_of(self.value)
            inner = QtCore.QRectF(x0 + 28, level, bar_w - 56, max(0.0, y_bot - 8 - level))
            p.setPen(QtCore.Qt.PenStyle.NoPen)
            p.setBrush(colour)
            p.drawRoundedRect(inner, 12, 12)
            p.setPen(QtGui.QPen(QtGui.QColor(self.theme.foreground), 6, QtCore.Qt.PenStyle.SolidLine,
                                QtCore.Qt.PenCapStyle.RoundCap))
            p.drawLine(QtCore.QPointF(x0 + 12, level), QtCore.QPointF(x0 + bar_w - 12, level))
        p.end()


class PatientView(QtWidgets.QWidget):
    """Cue words on top, the level bar below; Esc (or double-click) goes back to the clinic view."""

    backRequested = QtCore.Signal()

    def __init__(self, theme: Theme = LIGHT, parent: QtWidgets.QWidget | None = None,
                 back_hint: str = "Esc: clinic view") -> None:
        super().__init__(parent)
        self.setAccessibleName("Patient view")
        self.cue = cue_label("Rest and breathe", 40, bold=True)
        self.cue.setAccessibleName("Cue")
        self.detail = cue_label("", 22)
        self.detail.setAccessibleName("Time left")
        self.bar = LevelBar(theme)
        self.pacer = BreathingPacer()
        self.pacer.setVisible(False)
        self.back_hint = back_hint
        self.hint = QtWidgets.QLabel(back_hint)
        self.hint.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        self.hint.setWordWrap(True)
        self.note = cue_label("", 20)
        self.note.setAccessibleName("Guidance")
        self.note.setVisible(False)
        self.eyes_closed = False
        middle = QtWidgets.QHBoxLayout()
        middle.addWidget(self.bar, 3)
        middle.addWidget(self.pacer, 2)
        middle.addWidget(self.note, 5)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(40, 30, 40, 12)
        lay.addWidget(self.cue)
        lay.addWidget(self.detail)
        lay.addLayout(middle, 1)
        lay.addWidget(self.hint)
        self.set_theme(theme)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.bar.theme = theme
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor(theme.background))
        self.setPalette(pal)
        self.cue.setStyleSheet(f"color:{theme.foreground};")
        self.detail.setStyleSheet(f"color:{theme.muted};")
        self.hint.setStyleSheet(f"color:{blend(theme.muted, theme.background, 0.75)}; font-size:11pt;")
        self.note.setStyleSheet(f"color:{theme.foreground};")
        self.pacer.set_theme(theme)

    def set_squeeze_hint(self, on: bool) -> None:
        """Say how to squeeze by keyboard when there is no sensor (the keys work only here and on the trace)."""
        self.hint.setText(f"{SQUEEZE_HINT}   ·   {self.back_hint}" if on else self.back_hint)

    def set_eyes_closed(self, on: bool, note: str = "") -> None:
        """Eyes closed: the picture gives way to a few words (the sound guides her); off brings it back."""
        self.eyes_closed = bool(on)
        self.note.setText(note)
        self.note.setVisible(self.eyes_closed)
        self.bar.setVisible(not self.eyes_closed)
        if self.eyes_closed:
            self.pacer.setVisible(False)

    def show_state(self, state) -> None:
        """The breathing pacer of the running step (hidden when the step has none or nothing runs)."""
        phase = getattr(state, "breathing_phase", None) if state is not None else None
        if self.eyes_closed:
            phase = None
        if phase is None:
            if self.pacer.isVisible():
                self.pacer.setVisible(False)
                self.pacer.set_phase(None)
            return
        self.pacer.setVisible(True)
        self.pacer.set_phase(phase, state.step.breathing_bpm)

    def set_cue(self, cue: str, detail: str = "") -> None:
        if cue != self.cue.text():
            self.cue.setText(cue)
        if detail != self.detail.text():
            self.detail.setText(detail)

    def set_level(self, value: float, bands: Bands, target: str | None) -> None:
        self.bar.set_state(value, bands, target or "release")

    def keyPressEvent(self, ev: QtGui.QKeyEvent) -> None:
        if ev.key() == QtCore.Qt.Key.Key_Escape:
            self.backRequested.emit()
        else:
            super().keyPressEvent(ev)

    def mouseDoubleClickEvent(self, ev: QtGui.QMouseEvent) -> None:
        self.backRequested.emit()
