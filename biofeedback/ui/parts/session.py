"""The side panel's session controls: calibrate, zero a pressure probe, run an exercise, practise a squeeze.

They decide which band the patient aims for while no exercise runs (a calibration's phase, or the
practice squeeze), so that rule lives beside the controls that set it.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from biofeedback.errors import UserError
from biofeedback.protocols import ProtocolRunner, list_protocols
from biofeedback.session.controller import SessionController
from biofeedback.signal.calibration import Calibration, CalibrationPlan
from biofeedback.sources import is_replay
from biofeedback.ui.calibration_wizard import CalibrationWizard
from biofeedback.ui.display_units import display_factor, display_unit
from biofeedback.ui.parts.cue import CuePart
from biofeedback.ui.parts.status import StatusPart


class WrappedLabel(QtWidgets.QLabel):
    """Wrapped words that keep the height they need at their width.

    A window's minimum size ignores a wrapped label's height-for-width, so at a laptop's height the side
    panel squeezed the practice hint under the button above it; this label asks for its lines.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.setWordWrap(True)

    def resizeEvent(self, ev: QtGui.QResizeEvent) -> None:
        super().resizeEvent(ev)
        needed = self.heightForWidth(self.width())
        if needed > 0 and needed != self.minimumHeight():
            self.setMinimumHeight(needed)


class SessionControls:
    """Calibration wizard, pressure zero, exercise picker and the practice button, with what they run."""

    def __init__(self, controller: SessionController, cues: CuePart, status: StatusPart,
                 parent: QtWidgets.QWidget, calibration_plan: CalibrationPlan | None,
                 pressure_unit: Callable[[], str]) -> None:
        self.controller, self.cues, self.status, self.parent = controller, cues, status, parent
        self.patient_view = cues.patient
        self.calibration_plan = calibration_plan
        self._pressure_unit = pressure_unit
        self.wizard: CalibrationWizard | None = None
        self.practice_held = False
        self._demo = False                     # the running exercise is a demonstration (the sim does it)
        self._build_calibration()
        self._build_protocol_picker()
        self._build_practice()
        controller.connected.connect(self._connected)
        controller.protocol_started.connect(self._protocol_started)
        controller.protocol_stopped.connect(self._protocol_stopped)

    # ------------------------------------------------------------------ widgets
    def _build_calibration(self) -> None:
        self.calibrate_button = QtWidgets.QPushButton("Calibrate…")
        self.calibrate_button.setToolTip("Rest baseline and three maximal squeezes set the bands")
        self.calibrate_button.clicked.connect(self.open_calibration)
        self.zero_button = QtWidgets.QPushButton("Zero pressure (probe in air)")
        self.zero_button.setToolTip("With the probe in air, before insertion: the pressure shown reads 0 from now on."
                                    " The recording keeps the raw pressure and notes the zero.")
        self.zero_button.clicked.connect(self.zero_pressure)
        self.zero_button.setVisible(False)

    def _build_protocol_picker(self) -> None:
        """The exercise picker: the built-in protocols and the user's own (no box when there are none)."""
        self.protocols = list(list_protocols())
        self.protocol_box: QtWidgets.QGroupBox | None = None
        if not self.protocols:
            return
        box = QtWidgets.QGroupBox("Exercise")
        gl = QtWidgets.QVBoxLayout(box)
        self.protocol_combo = QtWidgets.QComboBox()
        for p in self.protocols:
            self.protocol_combo.addItem(p.title or p.name, p.name)
        self.protocol_button = QtWidgets.QPushButton("Start exercise")
        self.protocol_button.clicked.connect(self.toggle_protocol)
        self.sim_follows = QtWidgets.QCheckBox("Demo: patient follows cues")
        self.sim_follows.setToolTip("A demonstration: the simulated patient does the exercise by itself")
        self.sim_follows.setChecked(False)
        gl.addWidget(self.protocol_combo)
        gl.addWidget(self.protocol_button)
        gl.addWidget(self.sim_follows)
        self.protocol_box = box

    def _build_practice(self) -> None:
        self.practice_box = QtWidgets.QGroupBox("Practice without a sensor")
        pl = QtWidgets.QVBoxLayout(self.practice_box)
        self.practice_button = QtWidgets.QPushButton("Hold to squeeze")
        self.practice_button.setMinimumHeight(52)         # still a large target to hold, and room for the hint
        pf = self.practice_button.font()
        pf.setPointSize(14)
        pf.setBold(True)
        self.practice_button.setFont(pf)
        self.practice_button.pressed.connect(lambda: self.set_practice(True))
        self.practice_button.released.connect(lambda: self.set_practice(False))
        self.practice_button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        hint = WrappedLabel("or click the trace and hold the space bar; ↑/↓ or the mouse wheel: how hard")
        self.practice_hint = hint
        pl.addWidget(self.practice_button)
        pl.addWidget(hint)

    def widgets(self) -> list[QtWidgets.QWidget]:
        """In the side panel's order (the bands panel goes after the zero button)."""
        return [self.calibrate_button, self.zero_button]

    # ------------------------------------------------------------------ following the controller
    def _connected(self, _spec: str) -> None:
        c = self.controller
        sim = c.patient is not None
        live = not is_replay(c.source)
        self.practice_box.setVisible(sim)
        self.patient_view.set_squeeze_hint(sim)
        if self.protocol_box is not None:
            self.sim_follows.setVisible(sim)
            self.protocol_box.setVisible(live)
        self.calibrate_button.setEnabled(live)
        self.calibrate_button.setVisible(live)
        self.zero_button.setVisible(live and "pressure" in c.engine.info.names)

    def _protocol_started(self, _runner: ProtocolRunner) -> None:
        if self.protocol_box is not None:
            self.protocol_button.setText("Stop exercise")
        self.practice_box.setVisible(self.controller.patient is not None and not self._demo)

    def _protocol_stopped(self) -> None:
        if self.protocol_box is not None:
            self.protocol_button.setText("Start exercise")
        self.practice_box.setVisible(self.controller.patient is not None)

    # ------------------------------------------------------------------ calibration and zero
    def close_wizard(self) -> None:
        if self.wizard is not None:
            self.wizard.reject()

    def open_calibration(self) -> CalibrationWizard | None:
        c = self.controller
        if c.engine is None or is_replay(c.source):
            return None
        if self.wizard is not None:
            self.wizard.raise_()
            return self.wizard
        self.stop_protocol()
        self.set_practice(False)
        self.wizard = CalibrationWizard(c.engine, c.patient, self.calibration_plan, self.parent,
                                        pressure_unit=self._pressure_unit())
        self.wizard.calibrated.connect(self.apply_calibration)
        self.wizard.cueChanged.connect(self.cues.set_cue)
        self.wizard.finished.connect(self._wizard_closed)
        self.wizard.show()
        return self.wizard

    def _wizard_closed(self, _result: int) -> None:
        self.wizard = None

    def apply_calibration(self, cal: Calibration) -> None:
        self.controller.apply_calibration(cal)

    def zero_pressure(self) -> float | None:
        """Zero the pressure probe to its reading in air over the last second (display only; raw kept, tare event)."""
        engine = self.controller.engine
        if engine is None or is_replay(self.controller.source) or "pressure" not in engine.info.names:
            return None                         # the button is hidden then: nothing to zero
        try:
            offset = engine.zero_pressure("pressure", seconds=1.0)
        except UserError as exc:
            self.status.show_banner(str(exc))
            return None
        self.status.hide_banner()
        unit = self._pressure_unit()
        shown = offset * display_factor("cmH2O", unit)
        self.status.message(f"Pressure zeroed at {shown:.1f} {display_unit('cmH2O', unit)}", 6000)
        return offset

    # ------------------------------------------------------------------ practice and exercise
    def practice_effort(self):
        """Her graded effort on the simulated source (None with a sensor, during calibration or the demo)."""
        c = self.controller
        graded = getattr(c.source, "graded_effort", None)
        if graded is None or (self.wizard is not None and self.wizard.running):
            return None
        script = getattr(c.patient, "script", None)
        if script is not None and not callable(getattr(script, "press", None)):
            return None                        # the demo: the simulated patient is following the cues
        return graded()

    def set_practice(self, held: bool) -> bool:
        """Space bar / big button: the effort ramps up while held and lets go when released."""
        effort = self.practice_effort()
        if effort is None:
            self.practice_held = False
            return False
        self.practice_held = bool(held)
        effort.press() if held else effort.release()
        if self.controller.runner is None:
            self.cues.set_cue("Squeeze gently" if held else "Let go completely", "")
        return True

    def nudge_effort(self, steps: int) -> bool:
        """Up/Down arrows, mouse wheel: squeeze a little harder or softer (5 % a step)."""
        effort = self.practice_effort()
        if effort is None:
            return False
        effort.nudge(steps)
        return True

    def toggle_protocol(self) -> None:
        if self.controller.runner is not None:
            self.stop_protocol()
        else:
            self.start_protocol(self.protocol_combo.currentData())

    def start_protocol(self, name: str) -> None:
        """Run an exercise protocol from now on the stream clock (the engine records its step events)."""
        c = self.controller
        if c.engine is None:
            return
        proto = next((p for p in self.protocols if p.name == name), None)
        if proto is None:
            return
        follow = self.protocol_box is None or self.sim_follows.isChecked()
        if c.patient is not None and follow:
            self.practice_held = False
        self._demo = follow and c.patient is not None
        c.start_protocol(proto, follow=follow)

    def stop_protocol(self) -> None:
        self.controller.stop_protocol()

    def active_band(self, state) -> str | None:
        """The band to highlight live: the running step's (its own %MVC band, ``band_pct``, is the plot's
        meanwhile), the calibration's phase, or the practice button's squeeze or release."""
        if state is not None:
            return getattr(state.step, "band", None)
        w = self.wizard
        if w is not None and w.run is not None and w.running:
            phase = w.run.phase_at(float(self.controller.engine.time_s))
            return "contraction" if phase is not None and phase.kind == "contract" else "release"
        return "contraction" if self.practice_held else "release"
