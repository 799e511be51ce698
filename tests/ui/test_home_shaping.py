"""Home mode: when her programme's rule lowers her release target after a session, she is told kindly, with
no numbers, and her next practice uses the new target.

Her own library (a programme installed from her therapist) with two earlier sessions under 6.0 µV; the third
is a real home practice on the simulated healthy signal (she rests near 3 µV: nearly all rest under 6.0 µV),
run faster than real time.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from biofeedback.clinic.library import Library, ProgrammeSchedule
from biofeedback.clinic.shaping import SOFTER_WORDS
from tests.cli.test_target import library_with_two_good_sessions


@pytest.fixture
def her_library(tmp_path):
    path = library_with_two_good_sessions(str(tmp_path / "her.sqlite"), tmp_path)
    with Library.open(path) as lib:
        lib.add_programme(lib.client("Ana"), ProgrammeSchedule(
            str(uuid.uuid4()), "2026-11-01T09:00:00+00:00", dt.date.today() - dt.timedelta(days=3), 4,
            {"relaxation": 7}, installed=True))
    return path


@pytest.mark.timeout(300)
def test_her_programme_lowers_her_target_and_she_reads_it_kindly(qtbot, tmp_path, her_library):
    from biofeedback.ui.home import HomeWindow
    win = HomeWindow(source="sim:healthy?rate=500&seed=5", client="Ana", library_path=her_library,
                     recordings_dir=tmp_path / "rec", speed=None)
    qtbot.addWidget(win)
    win.show()
    try:
        assert win.bands.release_high == 6.0
        assert win.start_practice()
        qtbot.waitUntil(lambda: win.pages.currentWidget() is win.done_page, timeout=240_000)
        assert win.softer_words.isVisible() and win.softer_words.text() == SOFTER_WORDS
        words = win.softer_words.text()
        assert not re.search(r"µV|uV|\d|target of", words)                  # no units, no figures for her
        assert not re.search(r"(?i)fail|wrong|should|must|missed|too high", words)   # never anxious or scolding
        win.grab().save(str(tmp_path / "home-softer.png"))
        assert win.bands.release_high == pytest.approx(5.4)               # her next practice uses it
        with Library.open(her_library) as lib:
            ana = lib.client("Ana")
            assert lib.target_steps(ana)[-1]["rule"] == "shaping (programme)"
            assert ana.bands["release_high"] == pytest.approx(5.4)
        win.diary.skip_button.click()
        assert not win.softer_words.isVisible()
    finally:
        win.close()


def test_no_words_about_her_target_when_it_did_not_change(qtbot, tmp_path):
    from biofeedback.ui.home import HomeWindow
    with Library.open(tmp_path / "her.sqlite") as lib:
        lib.add_client("Ana")
    win = HomeWindow(source="sim:healthy?rate=500&seed=5", client="Ana", library_path=tmp_path / "her.sqlite",
                     recordings_dir=tmp_path / "rec", speed=4.0)
    qtbot.addWidget(win)
    win.show()
    try:
        win.start_practice()
        qtbot.waitUntil(lambda: win.controller.engine.recording_elapsed_s > 1.0, timeout=10_000)
        win.finish_early()
        qtbot.waitUntil(lambda: win.pages.currentWidget() is win.done_page, timeout=20_000)
        assert not win.softer_words.isVisible() and win.softer_words.text() == ""
    finally:
        win.close()
