"""The window's status line and its one-line banner: what the source is doing, and problems in plain words."""
from __future__ import annotations

import numpy as np
from PySide6 import QtWidgets

from biofeedback.session.controller import SessionController


class StatusPart:
    """Source state, measured rate, samples lost and display latency in the status bar; the red banner."""

    def __init__(self, controller: SessionController, status_bar: QtWidgets.QStatusBar) -> None:
        self.controller = controller
        self.bar = status_bar
        self.banner = QtWidgets.QLabel("")
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        self.banner.setContentsMargins(12, 6, 12, 6)
        self.state = QtWidgets.QLabel("idle")
        self.rate = QtWidgets.QLabel("")
        self.dropped = QtWidgets.QLabel("")
        self.latency = QtWidgets.QLabel("")
        for w in (self.state, self.rate, self.dropped, self.latency):
            w.setContentsMargins(8, 0, 8, 0)
            status_bar.addPermanentWidget(w)
        controller.problem.connect(self.show_banner)
        controller.connected.connect(lambda _spec: self.hide_banner())
        controller.disconnected.connect(lambda: self.state.setText("disconnected"))

    def show_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(True)

    def hide_banner(self) -> None:
        self.banner.setVisible(False)

    def message(self, text: str, ms: int) -> None:
        self.bar.showMessage(text, ms)

    def update(self, state: str, latencies_ms) -> None:
        """A few times a second: the source's state (as the window words it), rate, losses and latency."""
        engine = self.controller.engine
        self.state.setText(f"● {state}")
        stats = engine.stats
        rate = getattr(stats, "measured_rate", None) if stats is not None else None
        self.rate.setText(f"{rate:.0f} Hz" if rate else f"{engine.info.rate:.0f} Hz nominal")
        dropped = getattr(stats, "dropped", 0) if stats is not None else 0
        self.dropped.setText(f"{dropped} dropped")
        if latencies_ms:
            self.latency.setText(f"display {np.median(latencies_ms):.0f} ms")
        if not self.controller.is_recording and engine.error:
            self.show_banner(engine.error)

    def set_style(self, theme) -> None:
        self.banner.setStyleSheet(f"background:{theme.marker}; color:white; font-weight:bold;")
