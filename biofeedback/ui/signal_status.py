"""The signal check in the status bar: a traffic light with one plain sentence, and a one-click notch.

A view of the controller's live check (:attr:`SessionController.quality`, :attr:`~SessionController.hum`,
told through ``signal_changed`` once a second at most). When mains hum is present the sentence becomes
a warning that says what to do ("mains hum 1.2 µV: check the reference electrode and cables") and a
button turns on the notch at the hum's own frequency; with the notch on, the same button turns it off.
The status bar is hidden in the patient view, so she never sees these figures.
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

#: light colours for a light and a dark background (each readable on its own background)
_LIGHTS = {False: {"green": "#2e7d32", "amber": "#b26a00", "red": "#c62828", "": "#757575"},
           True: {"green": "#81c784", "amber": "#ffb74d", "red": "#ef9a9a", "": "#9e9e9e"}}
_LIGHT_WORDS = {"green": "good", "amber": "needs a look", "red": "not usable", "": "checking"}


class SignalStatus(QtWidgets.QWidget):
    """Status-bar sized: ● light, one sentence, and (when hum is present or the notch is on) a button."""

    def __init__(self, controller, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.light = QtWidgets.QLabel("●")
        self.sentence = QtWidgets.QLabel("")
        self.sentence.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.notch_button = QtWidgets.QPushButton("")
        self.notch_button.setAccessibleName("Mains notch")
        self.notch_button.clicked.connect(self.toggle_notch)
        self.notch_button.setVisible(False)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(8, 0, 8, 0)
        lay.setSpacing(6)
        lay.addWidget(self.light)
        lay.addWidget(self.sentence)
        lay.addWidget(self.notch_button)
        lay.addStretch(1)
        self.sentence.setMinimumWidth(self.sentence.fontMetrics().horizontalAdvance("M" * 24))
        self.notch_button.setSizePolicy(QtWidgets.QSizePolicy.Policy.Fixed, QtWidgets.QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Signal check")
        self._light = ""
        self._offer_hz: float | None = None
        self._message_shown = False
        controller.signal_changed.connect(lambda *_: self.refresh())
        controller.connected.connect(lambda *_: self.refresh())
        controller.disconnected.connect(self.refresh)
        self.refresh()

    # ------------------------------------------------------------------
    def refresh(self) -> None:
        """Show the controller's current check (called on its ``signal_changed``)."""
        c = self.controller
        quality, hum, notch = c.quality, c.hum, c.notch_hz
        # a passing status-bar message ("Recording saved…") has the line to itself until it times out
        self.setVisible(c.is_connected and not self._message_shown)
        if quality is None:
            light, text = "", "Checking the signal…"
            tip = "The signal check needs a few seconds of signal."
        else:
            light, text = quality.light, quality.sentence
            tip = (f"Signal check: {_LIGHT_WORDS[light]}. Looks at flat line, clipping, mains hum, "
                   f"movement and the noise floor over the last seconds.")
            if quality.noise_floor_uv is not None:
                tip += f"\nNoise floor {quality.noise_floor_uv:.1f} µV."
        warning = c.hum_warning
        if warning:
            text = warning[0].upper() + warning[1:]
        self._offer_hz = hum.mains_hz if hum is not None and hum.detected and not notch else None
        if notch:
            self.notch_button.setText(f"Notch {notch:g} Hz on · turn off")
            self.notch_button.setToolTip(f"The {notch:g} Hz mains notch is filtering the live signal (the "
                                         "recording keeps the raw signal). A notch removes a little real "
                                         "muscle signal too: turn it off once the hum is fixed at its source.")
            self.notch_button.setVisible(True)
        elif self._offer_hz:
            self.notch_button.setText(f"Remove hum ({self._offer_hz:g} Hz notch)")
            self.notch_button.setToolTip(f"Filter out the {self._offer_hz:g} Hz mains hum and its harmonics "
                                         "from the live signal; the notch used is stored with the recording.")
            self.notch_button.setVisible(True)
        else:
            self.notch_button.setVisible(False)
        if notch and quality is not None and quality.light == "green":
            text += f" ({notch:g} Hz notch on)"
        self._light = light
        self.sentence.setText(text)
        self.sentence.setToolTip(tip)
        self.light.setToolTip(tip)
        self.light.setAccessibleName(f"Signal {_LIGHT_WORDS[light]}")
        self.sentence.setAccessibleName(text)
        self._paint_light()

    def toggle_notch(self) -> None:
        """One click: the notch at the hum's frequency on, or (when on) off again."""
        if self.controller.notch_hz:
            self.controller.set_notch(None)
        elif self._offer_hz:
            self.controller.set_notch(self._offer_hz)
        self.refresh()

    # ------------------------------------------------------------------
    def _dark(self) -> bool:
        return self.palette().color(self.backgroundRole()).lightness() < 128

    def _paint_light(self) -> None:
        colour = _LIGHTS[self._dark()][self._light]
        self.light.setStyleSheet(f"color: {colour}; font-size: 16px;")
        bold = "font-weight: bold;" if self._light in ("amber", "red") else ""
        self.sentence.setStyleSheet(f"color: {colour};" + bold if self._light in ("amber", "red") else "")

    def message_changed(self, text: str) -> None:
        """The status bar shows or clears a passing message: step aside for it, come back after it.

        (QStatusBar hides its normal widgets for a message, but a refresh while the message shows
        would make this one visible again and both would be painted on top of each other.)"""
        self._message_shown = bool(text)
        self.refresh()

    def changeEvent(self, event: QtCore.QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.PaletteChange:
            self._paint_light()


def install_signal_status(window) -> SignalStatus:
    """Add the signal check to ``window``'s status bar (left, where it reads first), following
    ``window.controller``; returns the widget (also kept as ``window.signal_status``)."""
    status = SignalStatus(window.controller, window)
    window.statusBar().insertWidget(0, status, 1)
    window.statusBar().messageChanged.connect(status.message_changed)
    window.signal_status = status
    return status
