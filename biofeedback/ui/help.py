"""The Help menu: a short first-run guide (what the bands mean, how to calibrate, how to practise at home),
and tooltips for the window's icon-like buttons.

The main window calls :func:`install_help` once, after its widgets and menus are built.
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

#: The first-run guide, in the words a patient and her therapist use. Plain HTML (QTextBrowser).
GUIDE_SECTIONS: tuple[tuple[str, str], ...] = (
    ("What you see",
     "The line is your pelvic-floor muscle, live: it rises when the muscle tightens and falls when it lets go. "
     "Nothing you see here can be wrong — it is just information to practise with."),
    ("What the bands mean",
     "The <b>release band</b> (blue, at the bottom) is where a soft, resting muscle sits: after every squeeze the "
     "aim is to come back down into it, calmly, and stay there. The <b>contraction band</b> (orange, higher up) "
     "is a gentle, comfortable squeeze — not your hardest. Exercises tell you which band to aim for; the "
     "countdown says how long."),
    ("How to calibrate",
     "Calibrate at the start of a programme and whenever the probe or its position changes. Choose "
     "<b>Calibrate…</b>: rest quietly for the first part, then give three of your strongest comfortable "
     "squeezes when asked, letting go completely after each. The program sets your own bands from this: the "
     "contraction band at 40–70 % of your strongest squeeze, and a release target a little softer than you "
     "rest now when your resting tone is raised, so that green means letting go further."),
    ("How to practise at home",
     "Practise the programme your therapist gave you, a few minutes on most days, in a quiet, comfortable place. "
     "Breathe slowly; let go on the in-breath. Practising with the simulated signal, the up and down arrow keys "
     "(or the mouse wheel) set how gently you squeeze, and holding the space bar squeezes a little more until "
     "you let go. Any day you practise counts; there is no catching up to do. Your sessions and diary go back to "
     "your therapist, who looks at how you are doing over the weeks."),
    ("Review and markers",
     "<b>File → Review a recording…</b> shows a whole session with each step named and each squeeze's onset "
     "and release times. Add, rename or delete markers there; the recording keeps what was first recorded."),
)

#: Tooltips for buttons whose text is a symbol or a short word (set only when the button has none).
BUTTON_TIPS = {
    "record_button": "Start or stop recording this session to a file (crash-safe; nothing is ever overwritten)",
    "marker_button": "Put a marker at this moment (shortcut M); you can rename it later in review",
    "change_source": "Choose where the signal comes from: a sensor, the simulated patient, or a recording",
    "connect_button": "Disconnect from the signal source, or connect again",
    "patient_view": "The calm full-screen view for the patient (F11)",
    "patient_button": "The calm full-screen view for the patient (F11)",
    "protocol_button": "Start the chosen guided exercise",
    "practice_button": "Hold to squeeze (or hold the space bar) when practising with the simulated signal",
}


def guide_html() -> str:
    """The first-run guide as one HTML page."""
    parts = ["<h2>First steps</h2>"]
    for title, text in GUIDE_SECTIONS:
        parts.append(f"<h3>{title}</h3><p>{text}</p>")
    return "".join(parts)


class GuideDialog(QtWidgets.QDialog):
    """The first-run guide in a small scrollable window."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("First steps")
        self.resize(560, 620)
        self.text = QtWidgets.QTextBrowser()
        self.text.setHtml(guide_html())
        self.text.setOpenExternalLinks(False)
        close = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.text, 1)
        lay.addWidget(close)


def _tooltips(window: QtWidgets.QWidget) -> None:
    for name, tip in BUTTON_TIPS.items():
        button = getattr(window, name, None)
        if isinstance(button, QtWidgets.QAbstractButton) and not button.toolTip():
            button.setToolTip(tip)


def install_help(window: QtWidgets.QMainWindow) -> QtWidgets.QMenu:
    """Add the Help menu (First steps…, About) and tooltips to ``window``'s icon-like buttons."""
    _tooltips(window)
    menu = window.menuBar().addMenu("&Help")

    def show_guide() -> None:
        dialog = GuideDialog(window)
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        window._guide = dialog  # type: ignore[attr-defined]  # kept for tests and to stay alive

    menu.addAction("First steps…", show_guide)
    menu.addAction("What the bands mean…", show_guide)

    def about() -> None:
        from biofeedback import __version__
        QtWidgets.QMessageBox.about(window, "About biofeedback",
                                    f"biofeedback {__version__}: pelvic-floor biofeedback, release first. "
                                    f"Free software under the GPL-3.0-or-later.")

    menu.addAction("About biofeedback", about)
    return menu
