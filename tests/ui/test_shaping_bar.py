"""The clinic window offers the next release-target step after a session is filed: a calm bar, not a dialog.

A real offscreen window records a short guided session of the simulated healthy patient (resting near 3 µV,
so nearly all of her rest lies under 6.0 µV), faster than real time, into a real SQLite library that already
holds her two earlier sessions under 6.0 µV. "Lower it" stores the step and moves the plot's release line.
"""
from __future__ import annotations

import pytest

from biofeedback.clinic.library import Library
from biofeedback.protocols import load_protocol
from tests.cli.test_target import library_with_two_good_sessions, short_protocol

SPEC = "sim:healthy?seed=3&rate=500"


def record_third_session(win, qtbot, tmp_path, lib):
    win.clients.ask_diary = False
    with Library.open(lib) as library:
        win.clients.set_client(library.client("Ana"))
    protocol = load_protocol(str(short_protocol(tmp_path)))
    win.controller.open(SPEC)
    win.controller.start_protocol(protocol, follow=True)
    win.start_recording(tmp_path / "third.bfr", duration_s=protocol.total_s)
    win.controller.start()
    qtbot.waitUntil(lambda: win.controller.last_filed is not None, timeout=60_000)


@pytest.mark.timeout(120)
def test_after_the_third_good_session_lower_it_stores_the_step_and_moves_the_release_line(make_window, qtbot,
                                                                                           tmp_path):
    lib = library_with_two_good_sessions(str(tmp_path / "lib.sqlite"), tmp_path)
    win = make_window(source=None, speed=None, library_path=lib)
    bar = win.shaping_bar
    assert not bar.isVisible()
    record_third_session(win, qtbot, tmp_path, lib)
    assert win.bands.release_high == 6.0 and win.plot.bands.release_high == 6.0
    qtbot.waitUntil(bar.isVisible, timeout=5000)
    assert bar.text.text() == "Ana met her release target in 3 sessions in a row. Lower it to 5.4 µV (from 6.0)?"
    assert bar.lower_button.isVisible() and bar.later_button.text() == "Not now"
    assert not win.banner.isVisible()                        # the red problem banner is not used for this
    bar.grab().save(str(tmp_path / "shaping-bar.png"))
    win.grab().save(str(tmp_path / "shaping-window.png"))

    bar.lower_button.click()
    assert not bar.isVisible()
    assert win.controller.bands_model.bands.release_high == pytest.approx(5.4)
    assert win.plot.bands.release_high == pytest.approx(5.4)
    assert win.plot._regions["release"].getRegion()[1] == pytest.approx(5.4)   # the line the therapist sees
    with Library.open(lib) as library:
        ana = library.client("Ana")
        assert library.target_steps(ana)[-1]["rule"] == "shaping (therapist)"
        assert ana.bands["release_high"] == pytest.approx(5.4)
    assert win.controller.previous_target.value == pytest.approx(5.4)   # a re-calibration now keeps 5.4


@pytest.mark.timeout(120)
def test_not_now_leaves_her_target_as_it_was(make_window, qtbot, tmp_path):
    lib = library_with_two_good_sessions(str(tmp_path / "lib.sqlite"), tmp_path)
    win = make_window(source=None, speed=None, library_path=lib)
    record_third_session(win, qtbot, tmp_path, lib)
    qtbot.waitUntil(win.shaping_bar.isVisible, timeout=5000)
    win.shaping_bar.later_button.click()
    assert not win.shaping_bar.isVisible() and win.bands.release_high == 6.0
    with Library.open(lib) as library:
        assert [t["target"] for t in library.target_steps(library.client("Ana"))] == [6.0]
