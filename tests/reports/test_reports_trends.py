"""Trends that do not mislead: one point per session at its time of day (several sessions on one day stand
apart), one date range for session and diary charts in the view and the PDF, series split by protocol."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from biofeedback.clinic.library import Library
from biofeedback.clinic.progress import client_progress
from tests.reports.test_reports import pdf_text

SESSIONS = [("2026-12-01T09:00:00", "glazer", 12.0), ("2026-12-01T12:30:00", "relaxation", 11.0),
            ("2026-12-01T17:45:00", "glazer", 10.5), ("2026-12-08T09:00:00", "glazer", 9.0)]
DIARY = [("2026-11-03", 7), ("2026-11-15", 6), ("2026-11-30", 5)]


@pytest.fixture()
def library(tmp_path):
    lib = Library.open(tmp_path / "lib.sqlite")
    c = lib.add_client("Bea")
    for i, (when, protocol, tone) in enumerate(SESSIONS):
        lib.add_session(c, tmp_path / f"s{i}.bfr", when, protocol, 300,
                        {"unit": "uV", "resting_tone_uv": tone, "release_latency_s": 2.0 - 0.2 * i,
                         "contraction_peak_uv": 40.0})
    for day, pain in DIARY:
        lib.add_diary(c, day, pain_intercourse=pain, mood=3)
    yield lib
    lib.close()


def test_one_point_per_session_at_its_time_of_day_and_one_shared_range(library, qapp):
    import pyqtgraph as pg

    from biofeedback.reports.plots import date_axis, date_range_x, draw_trend
    p = client_progress(library, "Bea")
    tone = p.trends["resting_tone_uv"]
    assert len(tone.points) == len(SESSIONS)
    moments = [pt.moment for pt in tone.points]
    assert len(set(moments)) == 4 and [m.hour for m in moments[:3]] == [9, 12, 17]
    assert p.date_range == (dt.date(2026, 11, 3), dt.date(2026, 12, 8))
    x_range = date_range_x(p.date_range)
    widget = pg.GraphicsLayoutWidget()
    ranges = []
    for key in ("resting_tone_uv", "pain_intercourse", "mood"):
        plot = widget.addPlot(axisItems={"bottom": date_axis()})
        draw_trend(plot, p.trends[key], p.goals, x_range)
        ranges.append(tuple(round(v) for v in plot.getViewBox().viewRange()[0]))
        if key == "resting_tone_uv":         # glazer and relaxation are separate lines, never joined
            curves = [c for c in plot.listDataItems() if c.name() in ("glazer", "relaxation")]
            assert sorted(len(c.getData()[0]) for c in curves) == [1, 3]
            title = plot.titleLabel.text                        # which line is which, where nothing covers it
            assert "● glazer" in title and "● relaxation" in title and plot.legend is None
            xs = sorted(x for c in curves for x in c.getData()[0])
            assert len(set(xs)) == 4                   # three sessions on 1 Dec at three places, not one column
    assert len(set(ranges)) == 1
    widget.close()


def test_progress_pdf_says_its_one_date_range(library, tmp_path, qapp):
    from biofeedback.reports import progress_report
    out = progress_report(library, "Bea", tmp_path / "bea.pdf")
    text = " ".join(pdf_text(out).split())
    assert "Every chart runs from 3 Nov 2026 to 8 Dec 2026" in text


def test_history_json_groups_trends_by_protocol_beside_the_old_keys(library, capsys):
    from biofeedback.cli import main
    assert main(["history", "Bea", "--json", "--library", str(library.path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["trends"]["resting_tone_uv"]["points"]) == 4            # the old keys are kept
    by = data["trends_by_protocol"]
    assert sorted(by) == ["glazer", "relaxation"]
    assert [pt["value"] for pt in by["glazer"]["resting_tone_uv"]["points"]] == [12.0, 10.5, 9.0]
    assert [pt["value"] for pt in by["relaxation"]["resting_tone_uv"]["points"]] == [11.0]
    assert data["date_range"] == ["2026-11-03", "2026-12-08"]
