"""A session report analyses its recording once: the summary and the trials come from the same run.

The count comes from a counting wrapper around the real :func:`biofeedback.clinic.analysis.analyze` (every
module that holds it by name gets the wrapper), and the report's figures are checked against an analysis
of the same demo recording made beforehand, so the one run changed what is computed, not what is shown.
"""
from __future__ import annotations

import sys
from pathlib import Path

from biofeedback.clinic import analysis
from biofeedback.reports import session_report
from biofeedback.reports.content import gather_session

DEMO = Path(__file__).resolve().parents[2] / "recordings" / "hypertonic-glazer.bfr"


def count_analyses(monkeypatch) -> list[object]:
    """Each call of the real analysis, recorded (its first argument) and passed on unchanged."""
    real = analysis.analyze
    calls: list[object] = []

    def counting(*args, **kwargs):
        calls.append(args[0] if args else None)
        return real(*args, **kwargs)

    for name, module in list(sys.modules.items()):
        if name.split(".")[0] == "biofeedback" and getattr(module, "analyze", None) is real:
            monkeypatch.setattr(module, "analyze", counting)
    return calls


def test_the_session_report_analyses_its_recording_once(monkeypatch, tmp_path, qapp):
    expected = analysis.analyze(DEMO)              # before counting: what the report must show
    calls = count_analyses(monkeypatch)
    report = gather_session(DEMO)
    assert len(calls) == 1
    assert report.summary == expected["summary"] and report.trials == expected["trials"]
    rows = {m.key: m for m in report.metrics}
    # the demo's figures as the report showed them before it analysed once
    assert len(report.trials) == 11
    assert rows["resting_tone_uv"].value == 10.335 and rows["release_latency_s"].value == 6.434
    assert rows["release_latency_s"].note.startswith("Release took at least 6.4 s; the goal is under 2 s.")
    assert "4 of 11 contractions did not come back down before the next cue" in rows["release_latency_s"].note

    calls.clear()                                  # the whole command's path: gather, draw, write
    out = session_report(DEMO, tmp_path / "demo.html")
    assert out.exists() and len(calls) == 1


def test_free_practice_without_steps_keeps_its_stored_summary_and_has_no_trials(monkeypatch, tmp_path):
    from biofeedback.session.headless import record_headless
    path = tmp_path / "free.bfr"
    record_headless("sim:healthy?seed=2&rate=500", path, 3.0, speed=None, meta={"summary": {"note": "kept"}})
    calls = count_analyses(monkeypatch)
    report = gather_session(path)
    assert len(calls) == 1 and report.summary == {"note": "kept"} and report.trials == []
