"""Colours and fonts: an Okabe-Ito palette (safe for colour-blind viewers) in a light and a dark theme.

Band fills are opaque colours pre-blended with the background: opaque fills are
cheaper to paint than translucent ones, and they read the same on a projector.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore, QtGui, QtWidgets

# Okabe & Ito (2008), "Color Universal Design"
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7",
}


def blend(fg: str, bg: str, alpha: float) -> str:
    """``fg`` laid over ``bg`` at opacity ``alpha``, as an opaque hex colour."""
    f, b = QtGui.QColor(fg), QtGui.QColor(bg)
    mix = [round(alpha * getattr(f, c)() + (1 - alpha) * getattr(b, c)()) for c in ("red", "green", "blue")]
    return "#" + "".join(f"{c:02x}" for c in mix)


@dataclass(frozen=True)
class Theme:
    name: str
    background: str
    panel: str
    foreground: str
    muted: str
    trace: str             # envelope outside the active band
    trace_in_band: str     # envelope while inside the active band
    accessory: str         # abdominal channel
    raw: str
    contraction: str       # band hue
    release: str
    marker: str

    def band_fill(self, band: str, active: bool) -> str:
        hue = self.contraction if band == "contraction" else self.release
        return blend(hue, self.background, 0.38 if active else 0.13)

    def band_edge(self, band: str) -> str:
        return self.contraction if band == "contraction" else self.release


LIGHT = Theme(
    name="light", background="#ffffff", panel="#f3f4f6", foreground="#1a1a1a", muted="#5f6368",
    trace="#1a1a1a", trace_in_band=OKABE_ITO["bluish_green"], accessory=OKABE_ITO["reddish_purple"],
    raw="#6b6b6b", contraction=OKABE_ITO["orange"], release=OKABE_ITO["sky_blue"], marker=OKABE_ITO["vermillion"],
)
DARK = Theme(
    name="dark", background="#121417", panel="#1d2025", foreground="#f1f1f1", muted="#a0a4ab",
    trace="#f1f1f1", trace_in_band=OKABE_ITO["bluish_green"], accessory=OKABE_ITO["reddish_purple"],
    raw="#9a9a9a", contraction=OKABE_ITO["orange"], release=OKABE_ITO["sky_blue"], marker=OKABE_ITO["vermillion"],
)
THEMES = {"light": LIGHT, "dark": DARK}


def cue_label(text: str, point_size: int, bold: bool = False) -> QtWidgets.QLabel:
    """A centred, wrapping label in a large font, for cues and countdowns read from across the room."""
    label = QtWidgets.QLabel(text)
    label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    font = QtGui.QFont()
    font.setPointSize(point_size)
    font.setBold(bold)
    label.setFont(font)
    return label


def get_theme(name: str) -> Theme:
    try:
        return THEMES[name]
    except KeyError:
        raise ValueError(f"unknown theme {name!r}; choose light or dark") from None


def apply_theme(app: QtWidgets.QApplication, theme: Theme) -> None:
    """Window palette and a readable base font for the whole application."""
    app.setStyle("Fusion")
    pal = QtGui.QPalette()
    bg, panel, fg = QtGui.QColor(theme.background), QtGui.QColor(theme.panel), QtGui.QColor(theme.foreground)
    pal.setColor(QtGui.QPalette.ColorRole.Window, panel)
    pal.setColor(QtGui.QPalette.ColorRole.WindowText, fg)
    pal.setColor(QtGui.QPalette.ColorRole.Base, bg)
    pal.setColor(QtGui.QPalette.ColorRole.AlternateBase, panel)
    pal.setColor(QtGui.QPalette.ColorRole.Text, fg)
    pal.setColor(QtGui.QPalette.ColorRole.Button, panel)
    pal.setColor(QtGui.QPalette.ColorRole.ButtonText, fg)
    pal.setColor(QtGui.QPalette.ColorRole.ToolTipBase, bg)
    pal.setColor(QtGui.QPalette.ColorRole.ToolTipText, fg)
    pal.setColor(QtGui.QPalette.ColorRole.PlaceholderText, QtGui.QColor(theme.muted))
    pal.setColor(QtGui.QPalette.ColorRole.Highlight, QtGui.QColor(OKABE_ITO["blue"]))
    pal.setColor(QtGui.QPalette.ColorRole.HighlightedText, QtGui.QColor("#ffffff"))
    app.setPalette(pal)
    font = app.font()
    font.setPointSizeF(max(font.pointSizeF(), 10.5))
    app.setFont(font)
