"""Plain-language labels and notes: the typical contraction peak, and co-activation over 100 %."""
from __future__ import annotations

import numpy as np

from biofeedback.clinic.library import Goal
from biofeedback.reports.content import build_session_report
from biofeedback.reports.notes import metric_note
from biofeedback.stream import Channel, Event, StreamInfo

PFM = Channel("pfm")


def _report(summary, channel=PFM):
    info = StreamInfo((channel,), 100.0)
    return build_session_report(info=info, envelope=np.full((1000, 1), 5.0), events=[Event(0.0, "step", "Rest", {})],
                                meta={}, summary=summary, started_at="2026-05-12T09:30:00", duration_s=10.0)


def test_contraction_peak_is_labelled_typical_and_names_the_strongest():
    rows = {m.key: m for m in _report({"contraction_peak_uv": 49.1, "contraction_max_uv": 61.24}).metrics}
    row = rows["contraction_peak_uv"]
    assert row.label == "Contraction peak (typical)"
    assert "strongest contraction" not in row.note.lower()
    assert row.note == "The average of each squeeze's peak; strongest: 61.2 µV."
    note = metric_note("contraction_peak_uv", {"contraction_peak_uv": 49.1}, "µV",
                       [Goal(1, 1, "contraction_peak_uv", ">=", 60.0)])
    assert note == "The average of each squeeze's peak. The goal is at least 60 µV: not yet met."


def test_pressure_squeeze_note_says_it_is_above_the_resting_pressure():
    summary = {"unit": "cmH2O", "resting_tone_cmh2o": 25.0, "contraction_peak_cmh2o": 23.9,
               "contraction_max_cmh2o": 27.6}
    rows = {m.key: m for m in _report(summary, Channel("pressure", "pressure", "cmH2O")).metrics}
    row = rows["contraction_peak_cmh2o"]
    assert row.label == "Squeeze peak above rest (typical)"
    assert row.note == ("The average of each squeeze's peak above the resting pressure; strongest: 27.6 cmH2O "
                        "above rest (resting pressure 25 cmH2O).")


def test_coactivation_over_100_percent_is_said_plainly():
    note = metric_note("abd_coactivation_pct", {"abd_coactivation_pct": 154.0}, "%")
    assert note.startswith("The abdominals worked 1.5× as hard as the pelvic floor during the squeezes (154 %")
    quiet = metric_note("abd_coactivation_pct", {"abd_coactivation_pct": 25.0}, "%")
    assert quiet.startswith("Abdominal activity was 25 % of the pelvic floor's") and "×" not in quiet
    goal = metric_note("abd_coactivation_pct", {"abd_coactivation_pct": 154.0}, "%",
                       [Goal(1, 1, "abd_coactivation_pct", "<", 50.0)])
    assert goal.endswith("The goal is under 50 %: not yet met.")
