"""Guided calibration: rest baseline, then three maximal squeezes, then the default bands.

The dialog shows :class:`biofeedback.signal.calibration.CalibrationRun`'s cues and feeds
it envelope samples from engine snapshots. With the simulated patient the
squeezes follow the cues by themselves (the run becomes the simulator's
script), so calibration also works, faster than real time, without a sensor.
"""
from __future__ import annotations

import math

from PySide6 import QtCore, QtWidgets

from biofeedback.signal.calibration import Calibration, CalibrationPlan, CalibrationRun
from biofeedback.ui.display_units import display_factor, display_unit
from biofeedback.ui.liveplot import primary_channel
from biofeedback.ui.theme import cue_label


class CalibrationWizard(QtWidgets.QDialog):
    calibrated = QtCore.Signal(object)       # Calibration
    cueChanged = QtCore.Signal(str, str)     # cue words, countdown / detail

    def __init__(self, engine, patient=None, plan: CalibrationPlan | None = None,
                 parent: QtWidgets.QWidget | None = None, pressure_unit: str = "cmH2O") -> None:
        super().__init__(parent)
        self.setWindowTitle("Calibration")
        self.pressure_unit = pressure_unit     # how the results are shown; the calibration stays in its unit
        self.setModal(False)
        self.engine, self.patient = engine, patient
        self.plan = plan or CalibrationPlan()
        info = engine.info
        self.channel = primary_channel(info)
        ch = info.channels[self.channel]
        self.unit = ch.unit
        self.run: CalibrationRun | None = None
        self.result: Calibration | None = None
        self.error = ""

        self.intro = QtWidgets.QLabel(
            f"1. Rest quietly for {self.plan.rest_s:.0f} s: this measures resting tone.\n"
            f"2. Then squeeze as hard as you can {self.plan.efforts} times, {self.plan.contract_s:.0f} s each, "
            f"letting go completely in between.\n"
            "The contraction band is set to 40–70 % of the best squeeze, the release band to "
            "resting tone + 2 SD.")
        self.intro.setWordWrap(True)
        self.cue = cue_label("Press Start when the client is comfortable", 22, bold=True)
        self.countdown = cue_label("", 16)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.summary = QtWidgets.QLabel("")
        self.summary.setWordWrap(True)
        self.start_button = QtWidgets.QPushButton("Start")
        self.start_button.setDefault(True)
        self.close_button = QtWidgets.QPushButton("Cancel")
        self.start_button.clicked.connect(self.start)
        self.close_button.clicked.connect(self.reject)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.start_button)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.intro)
        lay.addSpacing(12)
        lay.addWidget(self.cue)
        lay.addWidget(self.countdown)
        lay.addWidget(self.progress)
        lay.addWidget(self.summary)
        lay.addLayout(buttons)
        self.setMinimumWidth(480)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(50)
        self.timer.timeout.connect(self.tick)

    # ------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.run is not None and not self.run.done and self.timer.isActive()

    def start(self) -> None:
        """Begin the rest phase now (on the stream clock)."""
        self.result, self.error = None, ""
        self.summary.setText("")
        envelope_rate = self.engine.info.rate / getattr(self.engine, "env_step", 1)
        self.run = CalibrationRun(envelope_rate, float(self.engine.time_s), self.plan,
                                  unit=self.unit, channel=self.engine.info.channels[self.channel].name)
        if self.patient is not None:
            run = self.run
            self.patient.script = run.effort_at    # the simulated patient follows the cues
        self.start_button.setEnabled(False)
        self.start_button.setText("Start again")
        self.close_button.setText("Cancel")
        self.timer.start()
        self.tick()

    def tick(self) -> None:
        run = self.run
        if run is None:
            return
        now = float(self.engine.time_s)
        need = max(1.0, now - max(run.start_s, getattr(self, "_fed_until", run.start_s)) + 1.0)
        snap = self.engine.snapshot(need)
        if len(snap.t):
            run.feed(snap.t, snap.envelope[:, self.channel])
            self._fed_until = float(snap.t[-1])
        phase = run.phase_at(now)
        if phase is not None:
            left = max(0.0, phase.end_s - (now - run.start_s))
            detail = f"{math.ceil(left):.0f} s"
            if phase.kind == "contract":
                detail += f" · squeeze {phase.effort} of {self.plan.efforts}"
            self.cue.setText(phase.cue)
            self.countdown.setText(detail)
            self.cueChanged.emit(phase.cue, detail)
        self.progress.setValue(int(1000 * run.progress(now)))
        if run.done:
            self._finish()

    def _finish(self) -> None:
        self.timer.stop()
        self._release_patient()
        self.start_button.setEnabled(True)
        self.close_button.setText("Close")
        try:
            cal = self.run.result()
        except ValueError as exc:
            self.error = str(exc)
            self.cue.setText("Calibration did not succeed")
            self.countdown.setText("")
            self.summary.setText(f"{exc}. Check the sensor contact and start again.")
            self.cueChanged.emit("Rest and breathe", "")
            return
        self.result = cal
        bands = cal.default_bands()
        u, k = display_unit(cal.unit, self.pressure_unit), display_factor(cal.unit, self.pressure_unit)
        self.cue.setText("Done — well done")
        self.countdown.setText("")
        peaks = ", ".join(f"{p * k:.1f}" for p in cal.effort_peaks)
        self.summary.setText(
            f"Resting tone {cal.rest_mean * k:.1f} ± {cal.rest_sd * k:.1f} {u} (SD)\n"
            f"Squeezes {peaks} {u}; maximum {cal.mvc * k:.1f} {u}\n"
            f"Contraction band {bands.contraction_low * k:.1f}–{bands.contraction_high * k:.1f} {u}, "
            f"release band up to {bands.release_high * k:.1f} {u}")
        self.cueChanged.emit("Rest and breathe", "")
        self.calibrated.emit(cal)

    def _release_patient(self) -> None:
        if self.patient is not None and self.run is not None \
                and getattr(self.patient, "script", None) == self.run.effort_at:
            self.patient.script = None
            self.patient.effort = 0.0

    def reject(self) -> None:  # Cancel / Close / Esc
        self.timer.stop()
        self._release_patient()
        if self.result is None:
            self.cueChanged.emit("Rest and breathe", "")
        super().reject()
