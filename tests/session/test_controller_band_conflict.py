"""Bands edited in one room while another room changed the client: one clear report, then saves go through.

Both backends (``library_target``): the controller saves through its own library connection, the other
room through a second one, each under its own therapist's name.
"""
from __future__ import annotations

import pytest

from biofeedback.clinic.library import Library
from biofeedback.session.controller import SessionController
from biofeedback.signal.calibration import Bands

STORED = Bands(10.0, 40.0, 3.0)          # what both rooms read
THEIRS = Bands(12.0, 45.0, 2.0)          # the other room's edit
MINE = Bands(15.0, 50.0, 2.5)            # this room's edit, made on the stale copy
AGAIN = Bands(15.0, 50.0, 2.2)           # this room's next edit


@pytest.fixture
def rooms(library_target, monkeypatch):
    with Library.open(library_target) as setup:
        setup.add_client("Anna", bands=STORED.to_dict())
    monkeypatch.setenv("BIOFEEDBACK_THERAPIST", "Jo (room 2)")          # this room: the controller
    ctl = SessionController(speed=None, library_path=library_target, file_sessions=False)
    ctl.set_client("Anna")
    monkeypatch.setenv("BIOFEEDBACK_THERAPIST", "Maria (room 1)")
    other = Library.open(library_target)
    monkeypatch.setenv("BIOFEEDBACK_THERAPIST", "Jo (room 2)")
    yield ctl, other
    other.close()
    ctl.close()


def test_a_band_conflict_is_told_once_and_the_next_save_goes_through(rooms, library_target):
    ctl, other = rooms
    problems: list[str] = []
    ctl.problem.connect(problems.append)
    assert ctl.bands == STORED
    other.update_client(other.client("Anna"), bands=THEIRS.to_dict())   # room 1 changes her meanwhile

    ctl.set_bands(MINE, keep=True)                                       # refused: nothing of room 1's is lost
    assert len(problems) == 1
    line = problems[0]
    assert "\n" not in line
    assert line.startswith("Anna's record was changed meanwhile by Maria (room 1) at ")
    assert "the bands saved there are now in use (contraction 12.0-45.0 µV, release at or below 2.0 µV)" in line
    assert "your bands were not saved with her: make the change again to keep it" in line
    assert ctl.bands == THEIRS                                          # what is in use is what the line says
    assert Bands.from_dict(other.client("Anna").bands) == THEIRS

    ctl.set_bands(AGAIN, keep=True)                                      # made against the fresh row: saved
    assert len(problems) == 1
    anna = other.client("Anna")
    assert Bands.from_dict(anna.bands) == AGAIN and anna.changed_by == "Jo (room 2)"
    ctl.set_bands(MINE, keep=True)                                       # and so on: no stale copy is left
    assert len(problems) == 1 and Bands.from_dict(other.client("Anna").bands) == MINE


def test_a_conflict_with_bands_for_another_channel_keeps_the_sessions_bands(rooms):
    ctl, other = rooms
    problems: list[str] = []
    ctl.problem.connect(problems.append)
    pressure = Bands(5.0, 30.0, 2.0, unit="cmH2O", channel="pressure")
    other.update_client(other.client("Anna"), bands=pressure.to_dict())  # bands for a pressure probe
    ctl.set_bands(MINE, keep=True)
    assert len(problems) == 1 and ctl.bands == MINE
    assert "this session keeps its bands (contraction 15.0-50.0 µV, release at or below 2.5 µV)" in problems[0]
    ctl.set_bands(AGAIN, keep=True)
    assert len(problems) == 1 and Bands.from_dict(other.client("Anna").bands) == AGAIN


def test_a_calibration_made_meanwhile_keeps_its_bands_and_the_next_one_is_saved(rooms):
    from biofeedback.signal.calibration import Calibration
    ctl, other = rooms
    problems: list[str] = []
    ctl.problem.connect(problems.append)
    other.update_client(other.client("Anna"), bands=THEIRS.to_dict())
    peaks = [60.0, 58.0, 57.0]
    cal = Calibration(rest_mean=3.0, rest_sd=0.4, mvc=60.0, effort_peaks=peaks)
    ctl.apply_calibration(cal)                          # measured on her now: the session keeps its bands
    assert len(problems) == 1 and ctl.bands == cal.default_bands()
    assert "this session keeps its bands (contraction " in problems[0]
    assert problems[0].endswith("your calibration and bands were not saved with her: calibrate again to keep them")
    assert Bands.from_dict(other.client("Anna").bands) == THEIRS
    ctl.apply_calibration(cal)                          # again, against the fresh row: saved
    assert len(problems) == 1
    anna = other.client("Anna")
    assert anna.calibration["mvc"] == 60.0 and Bands.from_dict(anna.bands) == ctl.bands
