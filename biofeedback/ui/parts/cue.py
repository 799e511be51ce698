"""What the patient is asked to do now: the big cue, the exercise's cue panel (and its summary), the
patient view's cue. One place sets the cue, so the clinic and patient views never disagree."""
from __future__ import annotations

import math

from biofeedback.session.controller import SessionController
from biofeedback.ui.cues import CuePanel
from biofeedback.ui.patient_view import PatientView
from biofeedback.ui.theme import cue_label


class CuePart:
    """The big cue above the side panel, the cue panel over the plot while an exercise runs."""

    REST = "Rest and breathe"

    def __init__(self, controller: SessionController, patient: PatientView) -> None:
        self.controller, self.patient = controller, patient
        self.text, self.detail = self.REST, ""
        self.summary_shown = False
        self.big = cue_label(self.text, 18, bold=True)
        self.big.setMinimumHeight(64)
        self.panel = CuePanel()
        self.panel.setMaximumHeight(230)
        self.panel.setVisible(False)
        controller.connected.connect(self._connected)
        controller.protocol_started.connect(self._protocol_started)
        controller.protocol_stopped.connect(self._protocol_stopped)
        controller.summary_ready.connect(self.show_summary)

    def set_cue(self, cue: str, detail: str = "") -> None:
        self.text, self.detail = cue, detail
        self.big.setText(cue)
        self.patient.set_cue(cue, detail)

    def show_if_new(self, cue: str, detail: str) -> None:
        if cue != self.text or detail != self.detail:
            self.set_cue(cue, detail)

    def show_state(self, state, t_now: float) -> None:
        """The running exercise step: its cue, the seconds left and what comes next."""
        detail = f"{math.ceil(state.remaining_s):.0f} s"
        if getattr(state, "next_step", None) is not None:
            detail += f" · next: {state.next_step.cue}"
        self.show_if_new(state.step.cue, detail)
        if not self.panel.isVisible():
            self.panel.setVisible(True)
            self.big.setVisible(False)
        self.panel.update_state(state, t_now)

    def show_summary(self, summary: dict) -> None:
        self.panel.show_summary(summary)
        self.panel.setVisible(True)
        self.summary_shown = True

    def _connected(self, _spec: str) -> None:
        self.summary_shown = False              # a new source starts clean: no cue or summary of the last session
        self.panel.setVisible(False)
        self.big.setVisible(True)

    def _protocol_started(self, _runner) -> None:
        self.summary_shown = False
        self.panel.setVisible(True)
        self.big.setVisible(False)

    def _protocol_stopped(self) -> None:
        if not self.summary_shown:
            self.panel.setVisible(False)
        self.big.setVisible(True)
        self.set_cue(self.REST, "")

    def set_style(self, theme) -> None:
        self.big.setStyleSheet(f"color:{theme.foreground};")
