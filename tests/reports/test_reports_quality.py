"""The signal check's sentence in the session report (issue 11, item 5), read back from the HTML."""
from __future__ import annotations

import json

import numpy as np

from biofeedback.session.headless import record_headless
from biofeedback.stream import Channel, StreamInfo
from tests.reports.test_reports_session import SHORT_PROTOCOL


def test_humming_session_report_says_so(tmp_path, qapp):
    from biofeedback.reports import session_report
    proto = tmp_path / "three-holds.json"
    proto.write_text(json.dumps(SHORT_PROTOCOL))
    path = tmp_path / "hum.bfr"
    result = record_headless("sim:healthy?seed=2&rate=1000&hum=1.5&mains=50", path, None, speed=None,
                             protocol=str(proto), meta={"started_at": "2026-03-02T10:00:00"})
    assert result.error is None
    html = session_report(path, tmp_path / "hum.html").read_text(encoding="utf-8")
    assert "Signal quality (amber): Mains hum of 1." in html
    assert "check the reference electrode and cables" in html


def test_quality_stored_in_the_meta_is_shown(tmp_path, qapp):
    from biofeedback.reports.content import build_session_report
    from biofeedback.reports.html import session_html
    info = StreamInfo((Channel("pfm"),), 100.0)
    env = np.full((1000, 1), 3.0)
    meta = {"quality": {"light": "green", "sentence": "The signal looks clean."}}
    report = build_session_report(info=info, envelope=env, events=[], meta=meta, summary={},
                                  started_at="2026-05-12T09:30:00", duration_s=10.0)
    html = session_html(report, lambda _name: "x.png")
    assert "Signal quality (green): The signal looks clean." in html
