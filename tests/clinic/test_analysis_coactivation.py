"""Abdominal co-activation: abdominal activity as a share of the pelvic floor's; over 100 % is real and said plainly."""
from __future__ import annotations

import numpy as np
import pytest

from biofeedback.clinic.analysis import coactivation_text, format_table
from biofeedback.protocols import load_protocol
from biofeedback.stream import Channel
from tests.clinic.test_analysis import _analyze, _info, session_amplitude


def test_abdominals_working_harder_than_the_pelvic_floor_read_over_100_percent():
    p = load_protocol("work-rest")
    pfm = session_amplitude(p, rest_uv=3.0, levels={"work": 20.0})     # a weak pelvic floor ...
    abd = session_amplitude(p, rest_uv=3.0, levels={"work": 30.0})     # ... and abdominals that compensate
    info = _info(Channel("pfm", "emg", "uV"), Channel("abd", "emg", "uV"))
    res = _analyze(np.column_stack([pfm, abd]), p, info=info)
    assert res["summary"]["abd_coactivation_pct"] == pytest.approx(150.0, rel=0.03)
    line = next(x for x in format_table(res).splitlines() if "Abdominal co-activation" in x)
    assert "abdominals 1.5× the pelvic floor: they worked harder than the pelvic floor" in line


def test_coactivation_text():
    assert coactivation_text(25.0) == "25.0 % of the pelvic floor's activity (abdominals 0.2× the pelvic floor)"
    assert coactivation_text(None) == "-"
