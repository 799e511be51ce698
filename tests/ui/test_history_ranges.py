"""History trend plots: y-ranges that do not blow tiny differences up to the whole height."""
from __future__ import annotations

import datetime as dt

import pytest

pytest.importorskip("pytestqt")

from biofeedback.clinic.library import Library
from biofeedback.clinic.progress import update_milestones
from biofeedback.reports.content import trend_y_range
from biofeedback.ui.history import HistoryView


@pytest.fixture()
def library(tmp_path):
    lib = Library.open(tmp_path / "lib.sqlite")
    c = lib.add_client("Anna")
    d0 = dt.date(2026, 3, 31)
    for i, (days, tone, release, peak) in enumerate([(0, 10.8, 2.83, 48.7), (7, 11.6, 3.34, 47.7),
                                                     (14, 11.0, 3.90, 48.7)]):
        lib.add_session(c, tmp_path / f"s{i}.bfr", f"{d0 + dt.timedelta(days=days)}T09:00:00", "glazer", 340,
                        {"unit": "uV", "resting_tone_uv": tone, "release_latency_s": release,
                         "contraction_peak_uv": peak})
    for days, pain, mood in [(0, 6, 2), (7, 6, 3), (14, 5, 3)]:
        lib.add_diary(c, d0 + dt.timedelta(days=days), pain_intercourse=pain, mood=mood)
    lib.add_goal(c, "contraction_peak_uv", ">=", 60.0, "squeeze to 60 µV")
    update_milestones(lib, c)
    yield lib
    lib.close()


def _y(view, key):
    return view.plots[key].getViewBox().viewRange()[1]


def test_trend_plots_start_at_zero_take_in_goals_and_keep_diary_scales(qtbot, library, tmp_path):
    view = HistoryView(library, "Anna")
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    qtbot.waitExposed(view)
    lo, hi = _y(view, "contraction_peak_uv")
    assert -0.1 * hi < lo <= 0 and 60.0 < hi <= 80.0            # 0 and the 60 µV goal line with its words
    # 47.7 vs 48.7 µV is a sliver of the height, not all of it
    assert (48.7 - 47.7) / (hi - lo) < 0.03
    lo, hi = _y(view, "release_latency_s")
    assert lo <= 0 and 3.9 < hi <= 3.9 * 1.3
    assert (3.90 - 2.83) / (hi - lo) < 0.3
    lo, hi = _y(view, "resting_tone_uv")
    assert lo <= 0 and 11.6 < hi <= 11.6 * 1.3
    lo, hi = _y(view, "pain_intercourse")
    assert -1 < lo < 0 and 10 < hi < 11
    lo, hi = _y(view, "mood")
    assert 0 < lo <= 1 and 5 <= hi < 6
    view.grab().save(str(tmp_path / "history.png"))


def test_trend_y_range_rules():
    assert trend_y_range("µV", [47.7, 48.7, 48.7]) == pytest.approx((-0.08 * 48.7, 48.7 * 1.12))
    assert trend_y_range("s", [2.8, 3.9], [1.5])[0] < 0 < 3.9 < trend_y_range("s", [2.8, 3.9], [1.5])[1]
    assert trend_y_range("µV", [4.0], [10.0])[1] > 10.0                       # the goal line is on the plot
    assert trend_y_range("%", [-12.0, 20.0])[0] < -12.0                       # a negative fade stays visible
    assert trend_y_range("%", [])[1] > 0                                      # nothing yet: still a range
    lo, hi = trend_y_range("/10", [3, 4])
    assert -1 < lo < 0 and 10 < hi < 11
    lo, hi = trend_y_range("/5", [3])
    assert 0 < lo < 1 and 5 < hi < 6
    assert trend_y_range("µV", [40.0], label_room=True)[1] > trend_y_range("µV", [40.0])[1]


def test_pressure_squeeze_in_the_sessions_table_says_above_rest(qtbot, tmp_path):
    from biofeedback.reports.content import gather_progress
    from biofeedback.reports.html import progress_html
    lib = Library.open(tmp_path / "p.sqlite")
    try:
        c = lib.add_client("Bea")
        lib.add_session(c, tmp_path / "p.bfr", "2026-04-01T09:00:00", "glazer", 300,
                        {"unit": "cmH2O", "resting_tone_cmh2o": 30.0, "contraction_peak_cmh2o": 23.9})
        lib.add_session(c, tmp_path / "e.bfr", "2026-04-02T09:00:00", "glazer", 300,
                        {"unit": "uV", "resting_tone_uv": 5.0, "contraction_peak_uv": 41.0})
        view = HistoryView(lib, "Bea")
        qtbot.addWidget(view)
        assert view.table.item(1, 5).text() == "23.9 cmH2O above rest"     # oldest row last
        assert view.table.item(0, 5).text() == "41.0 µV"
        page = progress_html(gather_progress(lib, "Bea"), lambda name: name)
        assert "23.9 cmH2O above rest" in page and "41.0 µV above rest" not in page
    finally:
        lib.close()
