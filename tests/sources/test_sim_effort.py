"""Graded effort without a sensor: a level she sets, a ramp while space is held, let go at once or slowly."""
from __future__ import annotations

import numpy as np
import pytest

from biofeedback.signal.chain import SignalChain
from biofeedback.sources.patient import SimulatedPatient
from biofeedback.sources.sim import EFFORT_STEP, RAMP_UP_PER_S, GradedEffort, SimSource


class Clock:
    """A settable clock in seconds of signal."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_space_ramps_up_while_held_and_lets_go_at_once_or_slowly():
    clock = Clock()
    e = GradedEffort(clock)
    e.press()
    assert e.level_at(1.2) == pytest.approx(1.2 * RAMP_UP_PER_S)     # about 30 % after 1.2 s
    clock.t = 1.2
    e.release()
    assert e.level == 0.0                                               # at once
    e.let_go = "slowly"
    clock.t = 2.0
    e.press()
    clock.t = 3.2
    e.release()
    assert e.level_at(3.2) == pytest.approx(0.3)
    assert e.level_at(4.7) == pytest.approx(0.15)                       # slowly: half-way after 1.5 s
    assert e.level_at(6.5) == 0.0
    with pytest.raises(ValueError):
        e.let_go = "never"


def test_arrows_and_wheel_set_a_level_that_stays():
    clock = Clock()
    e = GradedEffort(clock)
    for _ in range(6):
        e.nudge(+1)
    assert e.level == pytest.approx(6 * EFFORT_STEP)                    # 30 %
    clock.t = 60.0
    assert e.level == pytest.approx(0.3)                                 # held until she changes it
    assert e.nudge(-2) == pytest.approx(0.2)
    for _ in range(30):
        e.nudge(+1)
    assert e.level == 1.0
    e.set_level(-3)
    assert e.level == 0.0


def test_the_simulated_muscle_follows_a_gentle_graded_squeeze():
    """30 % effort from the arrow keys on the healthy profile: the envelope sits in the 20-40 % band of her maximum."""
    patient = SimulatedPatient("healthy", rate=1000.0, seed=1)
    src = SimSource(patient, speed=None)
    effort = src.graded_effort()
    chain = SignalChain(patient.info)
    src.start()
    env = []
    while src.time_s < 12.0:
        if src.time_s >= 4.0 and effort.level == 0.0 and src.time_s < 8.0:
            effort.set_level(0.3)
        if src.time_s >= 8.0 and effort.level > 0:
            effort.set_level(0.0)
        for b in src.read():
            env.append(chain.process(b).envelope[:, 0])
    x = np.concatenate(env)
    t = np.arange(x.size) / 1000.0
    p = patient.profile
    squeeze = np.median(x[(t > 5.5) & (t < 7.9)])
    pct = 100 * squeeze / p.mvc_uv
    assert 20 <= pct <= 40, pct
    assert np.median(x[(t > 10) & (t < 12)]) < 0.1 * p.mvc_uv          # and she let go
