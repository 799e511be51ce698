"""The shaping bar: after a session, when she met her release target, a calm offer to lower it.

Not modal and not red (the status banner is for problems): a quiet bar above the plot with the
proposal in the clinic's words and two buttons, *Lower it* (the controller stores the step and her bands;
the plot's release line moves from the bands' one notification) and *Not now*. When her programme's
rule has already taken the step (her home library), the bar says so with one *OK*.
The decision itself is the core's (:func:`biofeedback.clinic.shaping.after_session`); this only shows it.
"""
from __future__ import annotations

from PySide6 import QtWidgets

from biofeedback.clinic.filing import FiledSession
from biofeedback.clinic.shaping import SESSIONS_IN_A_ROW, ShapingOutcome, StepProposal, format_uv
from biofeedback.session.controller import SessionController
from biofeedback.ui.theme import blend


def offer_words(name: str, proposal: StepProposal) -> str:
    """The offer, in the therapist's words."""
    return (f"{name} met her release target in {SESSIONS_IN_A_ROW} sessions in a row. "
            f"Lower it to {format_uv(proposal.proposed)} µV (from {format_uv(proposal.current)})?")


def taken_words(name: str, proposal: StepProposal) -> str:
    return (f"{name} met her release target in {SESSIONS_IN_A_ROW} sessions in a row: her programme's rule "
            f"lowered it to {format_uv(proposal.proposed)} µV (from {format_uv(proposal.current)}).")


class ShapingBar(QtWidgets.QFrame):
    """Shows the controller's shaping outcome after each filed session; hidden otherwise."""

    def __init__(self, controller: SessionController, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.outcome: ShapingOutcome | None = None
        self.setObjectName("ShapingBar")
        self.setAccessibleName("Release target step")
        self.text = QtWidgets.QLabel("")
        self.text.setWordWrap(True)
        self.lower_button = QtWidgets.QPushButton("Lower it")
        self.later_button = QtWidgets.QPushButton("Not now")
        self.lower_button.setAccessibleName("Lower her release target")
        self.later_button.setAccessibleName("Keep her release target for now")
        self.lower_button.clicked.connect(self.lower)
        self.later_button.clicked.connect(self.dismiss)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(12, 6, 8, 6)
        lay.addWidget(self.text, 1)
        lay.addWidget(self.lower_button)
        lay.addWidget(self.later_button)
        self.setVisible(False)
        controller.filed.connect(self.session_filed)
        controller.client_changed.connect(lambda _client: self.dismiss())

    def session_filed(self, filed: FiledSession) -> None:
        outcome = filed.shaping
        if outcome is None:
            return
        self.outcome = outcome
        name = filed.client.name
        if outcome.waiting:
            self.text.setText(offer_words(name, outcome.proposal))
            self.lower_button.setVisible(True)
            self.later_button.setText("Not now")
        else:
            self.text.setText(taken_words(name, outcome.proposal))
            self.lower_button.setVisible(False)
            self.later_button.setText("OK")
        self.setVisible(True)

    def lower(self) -> None:
        """Make the proposed step her target (stored with her; the live release line follows)."""
        outcome = self.outcome
        if outcome is None or not outcome.waiting:
            return
        self.controller.accept_shaping_step(outcome.proposal)     # a refusal is told through its problem banner
        self.dismiss()

    def dismiss(self) -> None:
        self.outcome = None
        self.setVisible(False)

    def set_style(self, theme) -> None:
        """Calm: the release band's hue, softly, on the panel colour."""
        self.setStyleSheet(
            f"QFrame#ShapingBar {{ background:{blend(theme.release, theme.background, 0.18)}; "
            f"border-left:4px solid {theme.release}; }}"
            f"QFrame#ShapingBar QLabel {{ color:{theme.foreground}; }}")
