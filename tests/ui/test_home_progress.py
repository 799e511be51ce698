"""Her progress in her words: gentle about gaps, this week against her first week, milestones, and the panel."""
from __future__ import annotations

import datetime as dt

import pytest
from PySide6 import QtGui

from biofeedback.clinic.her_progress import her_progress
from biofeedback.clinic.library import Library

TODAY = dt.date(2026, 3, 26)          # a Thursday


def _library(tmp_path, days_tone: list[tuple[dt.date, float, float]], pains=()):
    lib = Library.open(tmp_path / "lib.sqlite")
    ana = lib.add_client("Ana")
    for i, (day, tone, release) in enumerate(days_tone):
        lib.add_session(ana, tmp_path / f"s{i}.bfr", f"{day.isoformat()}T09:00:00", "relaxation", 450.0,
                        {"unit": "uV", "resting_tone_uv": tone, "release_latency_s": release})
    for day, pain in pains:
        lib.add_diary(ana, day, pain_intercourse=pain)
    lib.add_goal(ana, "resting_tone_uv", "<", 6.0, "a resting tone under your first goal")
    return lib, ana


def test_a_week_without_practice_is_a_fresh_start_never_a_failure(tmp_path):
    lib, ana = _library(tmp_path, [(TODAY - dt.timedelta(days=20), 9.0, 2.0)])
    p = her_progress(lib, ana, TODAY)
    assert p.days_this_week == 0
    words = (p.week_words + " ".join(c.words for c in p.comparisons)).lower()
    assert "fresh week" in words
    for harsh in ("missed", "fail", "should", "only", "behind"):
        assert harsh not in words
    lib.close()


def test_this_week_against_the_first_week_in_plain_words(tmp_path):
    first = TODAY - dt.timedelta(days=28)
    sessions = [(first + dt.timedelta(days=i), 10.0, 3.0) for i in range(3)]
    sessions += [(TODAY - dt.timedelta(days=i), 5.5, 1.0) for i in range(3)]       # Tue, Wed, Thu
    lib, ana = _library(tmp_path, sessions, pains=[(first, 6), (TODAY, 3)])
    p = her_progress(lib, ana, TODAY)
    assert p.days_this_week == 3 and "3 days this week" in p.week_words
    tone, release, pain = p.comparisons
    assert tone.first_week == pytest.approx(10.0) and tone.this_week == pytest.approx(5.5)
    assert tone.words.startswith("Softer") and release.words.startswith("Quicker") and pain.words.startswith("Less")
    assert any("you reached a resting tone under your first goal" in m for m in p.milestones)
    assert "5 sessions practised." in p.milestones
    cal = p.calendar()
    assert len(cal) == 4 and [practised for _, practised in cal[-1]] == [False, True, True, True, False, False, False]
    assert "µV" not in " ".join([p.week_words, *p.milestones, *(c.words for c in p.comparisons)])
    lib.close()


def test_the_panel_shows_it(qtbot, tmp_path):
    from biofeedback.ui.home_progress import ProgressPanel
    from biofeedback.ui.theme import DARK
    lib, ana = _library(tmp_path, [(TODAY, 8.0, 2.0)])
    panel = ProgressPanel(DARK)
    qtbot.addWidget(panel)
    panel.set_progress(her_progress(lib, ana, TODAY))
    panel.resize(1000, 380)
    panel.show()
    assert "1 day this week" in panel.week.text() and "first session" in panel.milestones.text()
    assert panel.grab().toImage().pixelColor(5, 190).lightness() < 80           # dark panel under the dark theme
    lib.close()


def test_her_sentences_are_never_cut_off_on_a_small_screen(qtbot, tmp_path):
    """Walkthrough at 1024 x 640: the bars were squeezed to a fixed 200 px and her sentences under them
    ("Softer than in your first week.") were cut in half; the panel now keeps room for every line."""
    from biofeedback.ui.home_progress import ProgressPanel
    first = TODAY - dt.timedelta(days=28)
    lib, ana = _library(tmp_path, [(first, 10.0, 3.0), (TODAY, 5.5, 1.0)], pains=[(first, 6), (TODAY, 3)])
    panel = ProgressPanel()
    qtbot.addWidget(panel)
    panel.set_progress(her_progress(lib, ana, TODAY))
    panel.resize(1000, 150)                       # smaller than it can be: the layout keeps its minimum
    panel.show()
    qtbot.waitExposed(panel)
    bars = panel.bars
    assert len(bars.items) == 3 and all(c.shown for c in bars.items)
    small = QtGui.QFont(bars.font())
    small.setPointSizeF(small.pointSizeF() - 1.0)
    line = QtGui.QFontMetrics(small).height()
    rows = bars.row_heights()
    assert all(h >= 52 + line for h in rows)      # title and two bars, then a whole line of words, per measure
    assert bars.height() >= sum(rows)
    lib.close()
