"""The current value in large digits beside the live plot, with %MVC and whether it is in the target band."""
from __future__ import annotations

import math

from PySide6 import QtCore, QtGui, QtWidgets

from biofeedback.ui.theme import Theme


class Readout(QtWidgets.QFrame):
    """The current value in large digits, its unit, %MVC and whether it is inside the target band."""

    def __init__(self, theme: Theme) -> None:
        super().__init__()
        self.setFixedWidth(190)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(12, 16, 12, 16)
        lay.setSpacing(2)
        self.factor = 1.0           # stored unit -> shown unit (see ui/display_units.py)
        self.no_signal = False      # True while no sample arrives (see show_no_signal)
        self.title = QtWidgets.QLabel("Pelvic floor")
        self.value = QtWidgets.QLabel("–")
        self.unit = QtWidgets.QLabel("µV")
        self.pct = QtWidgets.QLabel("")
        self.state = QtWidgets.QLabel("")
        self.state.setWordWrap(True)
        big = QtGui.QFont()
        big.setPointSize(44)
        big.setBold(True)
        big.setStyleHint(QtGui.QFont.StyleHint.Monospace)
        self.value.setFont(big)
        self.value.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.value.setMinimumWidth(160)
        for w, size in ((self.title, 12), (self.unit, 14), (self.pct, 14), (self.state, 13)):
            f = QtGui.QFont()
            f.setPointSize(size)
            w.setFont(f)
            w.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        lay.addWidget(self.title)
        lay.addWidget(self.value)
        lay.addWidget(self.unit)
        lay.addSpacing(10)
        lay.addWidget(self.pct)
        lay.addWidget(self.state)
        lay.addStretch(1)
        self.setAccessibleName("Live value")
        self.value.setAccessibleName("Live value")
        self.set_theme(theme)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setStyleSheet(f"background:{theme.background}; color:{theme.foreground};")
        self.title.setStyleSheet(f"color:{theme.muted};")
        self.unit.setStyleSheet(f"color:{theme.muted};")

    def set_channel(self, title: str, unit: str, factor: float = 1.0) -> None:
        """The channel's title and shown unit; values given in the stored unit are multiplied by ``factor``."""
        self.title.setText(title)
        self.unit.setText(unit)
        self.factor = float(factor)

    def show_no_signal(self) -> None:
        """No sample has arrived for a while (a sensor pulled out, a cable loose): say so, show no old value."""
        self.no_signal = True
        self.value.setText("–")
        self.pct.setText("")
        self.state.setText("No signal — check the sensor")
        self.state.setStyleSheet(f"color:{self.theme.foreground}; font-weight:bold;")

    def show_value(self, value: float, pct: float | None, band: str | None, inside: bool | None) -> None:
        self.no_signal = False
        value = value * self.factor
        if not math.isfinite(value):
            self.value.setText("–")
        else:
            self.value.setText(f"{value:.1f}" if abs(value) < 100 else f"{value:.0f}")
        self.value.setAccessibleDescription(f"{self.value.text()} {self.unit.text()}")
        self.pct.setText("" if pct is None else f"{pct:.0f} % of max")
        if band is None or inside is None:
            self.state.setText("")
            return
        word = "contraction" if band == "contraction" else "release"
        if inside:
            self.state.setText(f"● in the {word} band")
            self.state.setStyleSheet(f"color:{self.theme.trace_in_band}; font-weight:bold;")
        else:
            self.state.setText(f"○ outside the {word} band")
            self.state.setStyleSheet(f"color:{self.theme.muted};")
