"""The session controller works shaping out once after filing a real recorded session: in her home library
(a programme installed from her therapist) the programme's rule takes the step; at the clinic it waits.

Simulated healthy sessions, faster than real time, rest near 3 µV: nearly all of the rest lies under 6.0 µV.
"""
from __future__ import annotations

import datetime as dt
import uuid

import pytest

from biofeedback.clinic.library import Library, ProgrammeSchedule
from biofeedback.session.headless import record_headless
from biofeedback.signal.calibration import Bands
from tests.cli.test_target import short_protocol


def her_library(path, home: bool):
    with Library.open(path) as lib:
        ana = lib.add_client("Ana", bands=Bands(24.0, 42.0, 6.0, mvc=60.0).to_dict(),
                             calibration={"noise_floor": 1.0})
        lib.add_target_step(ana, 6.0, day=dt.date.today() - dt.timedelta(days=1), rule="below_rest")
        if home:
            lib.add_programme(ana, ProgrammeSchedule(str(uuid.uuid4()), "2026-11-01T09:00:00+00:00",
                                                     dt.date.today() - dt.timedelta(days=7), 4, {"relaxation": 7},
                                                     installed=True))
    return path


@pytest.mark.timeout(300)
@pytest.mark.parametrize("home", [False, True], ids=["clinic", "home"])
def test_the_third_good_session_proposes_at_the_clinic_and_steps_down_at_home(tmp_path, home):
    lib = her_library(tmp_path / "lib.sqlite", home)
    proto = short_protocol(tmp_path)
    outcomes = []
    for seed in (1, 2, 3):
        result = record_headless(f"sim:healthy?rate=500&seed={seed}", tmp_path / f"s{seed}.bfr", None, speed=None,
                                 client="Ana", protocol=str(proto), library=lib, file_in_library=True)
        assert result.filed.session.summary["time_under_target_pct"] >= 70.0
        assert result.filed.session.summary["release_target_uv"] == 6.0       # she trained against her 6.0
        outcomes.append(result.filed.shaping)
    assert outcomes[:2] == [None, None]
    last = outcomes[2]
    assert last.proposal.current == 6.0 and last.proposal.proposed == pytest.approx(5.4)
    with Library.open(lib) as library:
        ana = library.client("Ana")
        steps = library.target_steps(ana)
        if home:
            assert not last.waiting and last.applied["rule"] == "shaping (programme)"
            assert [t["target"] for t in steps] == [6.0, pytest.approx(5.4)]
            assert ana.bands["release_high"] == pytest.approx(5.4)
        else:
            assert last.waiting and [t["target"] for t in steps] == [6.0]
            assert ana.bands["release_high"] == 6.0
    if home:      # her next session trains against the new target
        nxt = record_headless("sim:healthy?rate=500&seed=4", tmp_path / "s4.bfr", None, speed=None, client="Ana",
                              protocol=str(proto), library=lib, file_in_library=True)
        assert nxt.filed.session.summary["release_target_uv"] == pytest.approx(5.4)
        assert nxt.filed.shaping is None
