"""First versus latest, in a window: two sessions of one client laid over each other at the protocol's steps."""
from __future__ import annotations

import os

import pyqtgraph as pg
from PySide6 import QtWidgets

from biofeedback.reports.overlay import Overlay, align_sessions
from biofeedback.reports.plots import draw_overlay

_PHASE_WORDS = {"tonic": "the five tonic squeezes", "flicks": "the quick flicks", "work": "the squeezes",
                "endurance": "the long hold", "release": "the squeezes and their release"}


class OverlayWindow(QtWidgets.QWidget):
    """The first session in grey, the latest in blue, each squeeze aligned at its cue (0 s)."""

    def __init__(self, first: str | os.PathLike, latest: str | os.PathLike, phase: str | None = None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.overlay: Overlay = align_sessions(first, latest, phase)
        self.setWindowTitle("First session and latest, laid over each other")
        self.resize(1100, 560)
        words = _PHASE_WORDS.get(self.overlay.phase, f"the {self.overlay.phase} squeezes")
        head = QtWidgets.QLabel(f"<b>{self.overlay.first.label}</b> (grey) and <b>{self.overlay.latest.label}</b> "
                                f"(blue): {words}, each aligned at its cue. Watch how fast the trace comes back "
                                f"down in the green rest." + ("" if not self.overlay.notes else
                                                              " (" + "; ".join(self.overlay.notes) + ")"))
        head.setWordWrap(True)
        head.setContentsMargins(10, 6, 10, 6)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground("w")
        self.plot = self.view.addPlot()
        draw_overlay(self.plot, self.overlay)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(head)
        lay.addWidget(self.view, 1)
