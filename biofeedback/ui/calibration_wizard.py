"""Guided calibration: rest baseline, then three maximal squeezes, then the default bands.

The release target (top of the green release band) follows
:func:`biofeedback.signal.calibration.release_target_rule`; the dialog says which rule it chose and
why, in words for her and figures for the therapist, and the therapist can type another value. A
target typed before (``previous_target``) is kept through a new calibration, and the dialog says so.

The dialog shows :class:`biofeedback.signal.calibration.CalibrationRun`'s cues and feeds
it envelope samples from engine snapshots. With the simulated patient the
squeezes follow the cues by themselves (the run becomes the simulator's
script), so calibration also works, faster than real time, without a sensor.
"""
from __future__ import annotations

import math

from PySide6 import QtCore, QtWidgets

from biofeedback.signal.calibration import (
    Calibration,
    CalibrationPlan,
    CalibrationRun,
    ReleaseTarget,
    keep_typed_target,
    typed_target,
)
from biofeedback.ui.display_units import display_factor, display_unit
from biofeedback.ui.liveplot import primary_channel
from biofeedback.ui.theme import cue_label


class CalibrationWizard(QtWidgets.QDialog):
    calibrated = QtCore.Signal(object)       # Calibration
    cueChanged = QtCore.Signal(str, str)     # cue words, countdown / detail

    def __init__(self, engine, patient=None, plan: CalibrationPlan | None = None,
                 parent: QtWidgets.QWidget | None = None, pressure_unit: str = "cmH2O",
                 previous_target: ReleaseTarget | dict | None = None) -> None:
        super().__init__(parent)
        if previous_target is None:         # opened from the window: the client's typed target, if any
            previous_target = getattr(getattr(parent, "controller", None), "previous_target", None)
        self.previous_target = previous_target
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
        self.quality = None      # the signal check before the calibration (stored with it)
        self.error = ""

        self.intro = QtWidgets.QLabel(
            f"1. Rest quietly for {self.plan.rest_s:.0f} s: this measures resting tone.\n"
            f"2. Then squeeze as hard as you can {self.plan.efforts} times, {self.plan.contract_s:.0f} s each, "
            f"letting go completely in between.\n"
            "The contraction band is set to 40–70 % of the best squeeze. The release target (green when "
            "resting) depends on the resting tone: below it when it is raised or unsteady, so that green "
            "means softer than she rests now; never under the noise floor of the equipment.")
        self.intro.setWordWrap(True)
        self.signal_check = QtWidgets.QLabel("")
        self.signal_check.setWordWrap(True)
        self.cue = cue_label("Press Start when the client is comfortable", 22, bold=True)
        self.countdown = cue_label("", 16)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.summary = QtWidgets.QLabel("")
        self.summary.setWordWrap(True)
        self.patient_words = QtWidgets.QLabel("")
        self.patient_words.setWordWrap(True)
        self.patient_words.setStyleSheet("font-size: 15px;")
        self.target_edit = QtWidgets.QDoubleSpinBox()
        self.target_edit.setDecimals(1)
        self.target_edit.setRange(0.1, 1000.0)
        self.target_edit.setSingleStep(0.5)
        self.target_button = QtWidgets.QPushButton("Use this target")
        self.target_button.setToolTip("Type your own release target; later calibrations keep it")
        self.target_button.clicked.connect(self.use_typed_target)
        self.target_row = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(self.target_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QtWidgets.QLabel("Release target:"))
        row.addWidget(self.target_edit)
        row.addWidget(self.target_button)
        row.addStretch(1)
        self.target_row.setVisible(False)
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
        lay.addWidget(self.signal_check)
        lay.addSpacing(12)
        lay.addWidget(self.cue)
        lay.addWidget(self.countdown)
        lay.addWidget(self.progress)
        lay.addWidget(self.summary)
        lay.addWidget(self.patient_words)
        lay.addWidget(self.target_row)
        lay.addLayout(buttons)
        self.setMinimumWidth(480)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(50)
        self.timer.timeout.connect(self.tick)

    # ------------------------------------------------------------------
    _LIGHTS = {"green": "#2e7d32", "amber": "#b26a00", "red": "#c62828"}

    def check_signal(self, seconds: float = 5.0):
        """The signal-quality light over the last seconds, shown above the cues (None when too little signal)."""
        from biofeedback.signal.quality import assess
        try:
            snap = self.engine.snapshot(seconds, raw=True)
        except (AttributeError, TypeError):
            return None
        x = getattr(snap, "filtered", None)
        if x is None or x.shape[0] < int(snap.rate):
            return None
        q = assess(x[:, self.channel], x[:, self.channel], snap.rate)
        colour = self._LIGHTS.get(q.light, "#444")
        self.signal_check.setText(f"<span style='color:{colour}; font-size:18px'>●</span> Signal check: {q.sentence}")
        return q

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.check_signal()

    @property
    def running(self) -> bool:
        return self.run is not None and not self.run.done and self.timer.isActive()

    def start(self) -> None:
        """Begin the rest phase now (on the stream clock)."""
        self.result, self.error = None, ""
        self.summary.setText("")
        self.quality = self.check_signal()
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
        if self.quality is None:            # too little signal at Start: check as soon as a second is in
            self.quality = self.check_signal()
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
        assert cal.target is not None
        cal.target = keep_typed_target(self.previous_target, cal.target)
        if self.quality is not None:
            cal.quality = self.quality.to_dict()
        self.result = cal
        self.cue.setText("Done — well done")
        self.countdown.setText("")
        self._show_result(cal)
        self.cueChanged.emit("Rest and breathe", "")
        self.calibrated.emit(cal)

    def _show_result(self, cal: Calibration) -> None:
        bands = cal.default_bands()
        u, k = display_unit(cal.unit, self.pressure_unit), display_factor(cal.unit, self.pressure_unit)
        peaks = ", ".join(f"{p * k:.1f}" for p in cal.effort_peaks)
        floor = f", noise floor {cal.noise_floor * k:.1f} {u}" if cal.noise_floor is not None else ""
        excluded = f" ({cal.rest_excluded_s:.1f} s of artefacts left out)" if cal.rest_excluded_s else ""
        target = cal.target
        rule = {"below_rest": "below her resting tone", "rest_band": "at rest + 2 SD",
                "noise_floor": "at the noise floor", "typed": "typed by you (kept)",
                "shaping": "a shaping step (kept)"}.get(target.rule, "")
        self.summary.setText(
            f"Resting tone {cal.rest_mean * k:.1f} ± {cal.rest_sd * k:.1f} {u} (SD){floor}{excluded}\n"
            f"Squeezes {peaks} {u}; maximum {cal.mvc * k:.1f} {u}\n"
            f"Contraction band {bands.contraction_low * k:.1f}–{bands.contraction_high * k:.1f} {u}; "
            f"release target {bands.release_high * k:.1f} {u}, {rule}: {target.reason}")
        self.patient_words.setText(target.patient_text)
        self.target_edit.setSuffix(f" {u}")
        self.target_edit.setValue(bands.release_high * k)
        self.target_row.setVisible(True)
        self._grow_to_fit()

    def _grow_to_fit(self) -> None:
        """Grow (never shrink) to the height the result needs at this width.

        The dialog keeps the size it opened with; without this the result's lines squeeze the
        instructions above them into a few clipped lines.
        """
        self.layout().activate()
        needed = self.layout().totalHeightForWidth(self.width())
        if needed > self.height():
            self.resize(self.width(), needed)

    def use_typed_target(self) -> None:
        """The therapist's own value: stored as typed, so a later calibration keeps it."""
        cal = self.result
        if cal is None:
            return
        k = display_factor(cal.unit, self.pressure_unit)
        cal.target = typed_target(self.target_edit.value() / k, cal.unit)
        self.previous_target = cal.target
        self._show_result(cal)
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
