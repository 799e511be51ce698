"""Session report comparisons keep to one modality: a pressure session is never compared with an EMG one."""
from __future__ import annotations

import numpy as np

from biofeedback.clinic.library import Library
from biofeedback.reports.content import build_session_report
from biofeedback.stream import Channel, Event, StreamInfo

EMG_SUMMARY = {"unit": "uV", "resting_tone_uv": 9.0, "release_latency_s": 2.6, "contraction_peak_uv": 35.0,
               "time_in_band_pct": 40.0}
PRESSURE_SUMMARY = {"unit": "cmH2O", "resting_tone_cmh2o": 30.0, "release_latency_s": 1.8,
                    "contraction_peak_cmh2o": 20.0, "contraction_baseline_cmh2o": 30.0, "time_in_band_pct": 55.0}


def _pressure_report(history, summary):
    info = StreamInfo((Channel("pressure", "pressure", "cmH2O"),), 50.0)
    return build_session_report(info=info, envelope=np.full((500, 1), 30.0), events=[Event(0.0, "step", "Rest", {})],
                                meta={"client": "Ada"}, summary=summary, started_at="2026-05-12T09:30:00",
                                duration_s=10.0, history=history)


def test_pressure_session_compares_only_with_earlier_pressure_sessions(tmp_path):
    lib = Library.open(tmp_path / "lib.sqlite")
    try:
        c = lib.add_client("Ada")
        lib.add_session(c, tmp_path / "a.bfr", "2026-04-01T09:00:00", "glazer", 300, EMG_SUMMARY)
        lib.add_session(c, tmp_path / "b.bfr", "2026-04-08T09:00:00", "glazer", 300, PRESSURE_SUMMARY)
        lib.add_session(c, tmp_path / "c.bfr", "2026-04-15T09:00:00", "glazer", 300,
                        {**EMG_SUMMARY, "release_latency_s": 0.7, "time_in_band_pct": 90.0})
        now = {**PRESSURE_SUMMARY, "release_latency_s": 1.2, "time_in_band_pct": 60.0, "contraction_peak_cmh2o": 22.0}
        report = _pressure_report(lib.sessions(c), now)
    finally:
        lib.close()
    rows = {m.key: m for m in report.metrics}
    # first and last time are both the pressure session of 8 April, never the EMG sessions around it
    assert report.first_session.startswith("2026-04-08") and report.previous_session.startswith("2026-04-08")
    assert rows["release_latency_s"].first == 1.8 and rows["release_latency_s"].previous == 1.8
    assert rows["time_in_band_pct"].first == 55.0
    assert rows["contraction_peak_cmh2o"].first == 20.0
    assert rows["release_latency_s"].change == "down 0.6 s since the first session (better)"


def test_pressure_session_after_only_emg_sessions_has_nothing_to_compare(tmp_path):
    lib = Library.open(tmp_path / "lib.sqlite")
    try:
        c = lib.add_client("Ada")
        lib.add_session(c, tmp_path / "a.bfr", "2026-04-01T09:00:00", "glazer", 300, EMG_SUMMARY)
        report = _pressure_report(lib.sessions(c), PRESSURE_SUMMARY)
    finally:
        lib.close()
    assert report.first_session is None and report.previous_session is None
    assert all(m.first is None and m.previous is None and m.change == "" for m in report.metrics)
