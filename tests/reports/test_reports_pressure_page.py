"""A pressure session's report page says that squeeze figures are measured above the resting pressure."""
from __future__ import annotations

import re

import numpy as np

from biofeedback.reports.content import build_session_report
from biofeedback.reports.html import session_html
from biofeedback.stream import Channel, Event, StreamInfo


def _page(summary, channel):
    info = StreamInfo((channel,), 50.0)
    report = build_session_report(info=info, envelope=np.full((500, 1), 30.0),
                                  events=[Event(0.0, "step", "Rest", {})], meta={}, summary=summary,
                                  started_at="2026-05-12T09:30:00", duration_s=10.0)
    return session_html(report, lambda name: name)


def _phase_headers(html: str) -> list[str]:
    table = html.split("<h2>Phases</h2>", 1)[1].split("</tr>", 1)[0]
    return re.findall(r"<th[^>]*>([^<]*)</th>", table)


def test_pressure_phase_peak_and_work_columns_say_above_rest():
    summary = {"unit": "cmH2O", "resting_tone_cmh2o": 30.0, "contraction_peak_cmh2o": 21.0,
               "by_phase": {"contraction": {"rest_mean_cmh2o": 30.2, "work_mean_cmh2o": 15.1,
                                            "peak_cmh2o": 21.0, "onset_latency_s": 0.4}}}
    headers = _phase_headers(_page(summary, Channel("pressure", "pressure", "cmH2O")))
    assert headers == ["Phase", "rest (cmH2O)", "work above rest (cmH2O)", "peak above rest (cmH2O)", "onset (s)"]


def test_emg_phase_columns_stay_plain():
    summary = {"unit": "uV", "resting_tone_uv": 5.0,
               "by_phase": {"contraction": {"rest_mean_uv": 5.0, "work_mean_uv": 30.0, "peak_uv": 41.0}}}
    headers = _phase_headers(_page(summary, Channel("pfm")))
    assert headers == ["Phase", "rest (µV)", "work (µV)", "peak (µV)"]
