"""The Qt-free session controller, headless: the same object the window and ``record`` drive."""
from __future__ import annotations

import datetime as dt

import pytest

from biofeedback.clinic.library import Library
from biofeedback.errors import UserError
from biofeedback.files.recording import Recording
from biofeedback.protocols import parse_protocol
from biofeedback.session.controller import SessionController
from biofeedback.signal.calibration import Bands, Calibration

SPEC = "sim:healthy?seed=4&rate=500"
#: a short guided exercise: rest, two squeezes with releases (about 14 s)
SHORT = parse_protocol({"name": "short", "title": "Short", "steps": [
    {"kind": "rest", "duration_s": 4, "cue": "Rest"},
    {"kind": "contract", "duration_s": 2, "cue": "Squeeze", "effort": 0.6},
    {"kind": "release", "duration_s": 3, "cue": "Let go"},
    {"kind": "contract", "duration_s": 2, "cue": "Squeeze", "effort": 0.6},
    {"kind": "release", "duration_s": 3, "cue": "Let go"}]})


class Log:
    """Records every notification of the controller, in order."""

    def __init__(self, ctl: SessionController) -> None:
        self.calls: list[tuple] = []
        for name in ("connected", "disconnected", "recording_started", "recording_stopped", "protocol_started",
                     "protocol_stopped", "calibrated", "client_changed", "summary_ready", "filed", "problem"):
            getattr(ctl, name).connect(lambda *args, n=name: self.calls.append((n, *args)))
        ctl.bands_model.changed.connect(lambda bands, origin: self.calls.append(("bands", bands, origin)))

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]

    def of(self, name: str) -> list[tuple]:
        return [c[1:] for c in self.calls if c[0] == name]


def run_to_end(ctl: SessionController, timeout_s: float = 60.0) -> None:
    """Let the engine finish the planned recording, then let the controller notice (as a frame would)."""
    assert ctl.engine is not None
    assert ctl.engine.recording_finished.wait(timeout_s)
    ctl.poll()


@pytest.fixture
def ctl(tmp_path):
    c = SessionController(speed=None, library_path=tmp_path / "library.sqlite")
    yield c
    c.close()


def test_recording_starts_stops_and_tells_its_views(ctl, tmp_path):
    log = Log(ctl)
    ctl.open(SPEC)
    assert ctl.is_connected and not ctl.is_recording and log.of("connected") == [(SPEC,)]
    path = tmp_path / "r" / "a.bfr"
    ctl.start_recording(path, duration_s=2.0)
    assert ctl.is_recording and ctl.recording_path == path and log.of("recording_started") == [(path,)]
    ctl.start()
    run_to_end(ctl)
    assert not ctl.is_recording and ctl.recording_elapsed_s == 0.0
    assert log.of("recording_stopped") == [(path,)]
    with Recording.open(path) as rec:
        assert rec.duration_s == pytest.approx(2.0)
        assert rec.meta["source"] == SPEC and rec.meta["bands"] == ctl.bands.to_dict()
    ctl.close()
    assert not ctl.is_connected and log.names()[-1] == "disconnected"


def test_a_recording_that_got_no_sample_is_not_kept(ctl, tmp_path):
    log = Log(ctl)
    ctl.open(SPEC)                               # not started: nothing arrives
    path = tmp_path / "empty.bfr"
    ctl.start_recording(path)
    assert ctl.stop_recording() is None and not path.exists()
    assert log.of("recording_stopped") == [(None,)]


def test_markers_go_into_the_recording(ctl, tmp_path):
    ctl.open(SPEC)
    path = tmp_path / "m.bfr"
    ctl.start_recording(path, duration_s=3.0)
    ctl.start_source()
    ctl.engine.pump()
    event = ctl.add_marker("cough")
    assert event is not None and ctl.markers_added == 1
    ctl.start()
    run_to_end(ctl)
    with Recording.open(path) as rec:
        markers = [e for e in rec.events if e.kind == "marker"]
    assert [m.label for m in markers] == ["cough"]


def test_bands_have_one_change_notification(ctl, tmp_path):
    log = Log(ctl)
    ctl.open(SPEC)
    ctl.start_recording(tmp_path / "b.bfr", duration_s=2.0)
    view = object()
    new = Bands(12.0, 30.0, 5.0, mvc=60.0)
    ctl.set_bands(new, origin=view)
    ctl.set_bands(new, origin=view)              # the same bands again: nobody is bothered
    assert log.of("bands") == [(new, view)] and ctl.bands == new
    cal = Calibration(rest_mean=3.0, rest_sd=0.5, mvc=70.0, effort_peaks=[68.0, 70.0, 66.0])
    ctl.apply_calibration(cal)
    assert ctl.is_calibrated and log.of("calibrated") == [(cal,)]
    assert log.of("bands")[-1] == (cal.default_bands(), None) and len(log.of("bands")) == 2
    ctl.start()
    run_to_end(ctl)
    with Recording.open(tmp_path / "b.bfr") as rec:
        assert rec.meta["bands"] == cal.default_bands().to_dict()
        assert rec.meta["calibration"]["mvc"] == pytest.approx(70.0)
        assert [e.kind for e in rec.events if e.kind == "calibration"] == ["calibration"]


def test_a_protocol_runs_to_its_end_and_the_summary_is_stored(ctl, tmp_path):
    log = Log(ctl)
    ctl.open(SPEC)
    path = tmp_path / "guided.bfr"
    ctl.start_recording(path, duration_s=SHORT.total_s)
    runner = ctl.start_protocol(SHORT)
    assert ctl.runner is runner and ctl.patient.script is not None and log.of("protocol_started") == [(runner,)]
    assert ctl.protocol_state(1.0).step.cue == "Rest"
    ctl.start()
    run_to_end(ctl)
    assert ctl.runner is None and ctl.patient.script is None and log.of("protocol_stopped") == [()]
    assert ctl.last_summary and ctl.last_summary.get("trials")
    assert log.of("summary_ready") == [(ctl.last_summary,)]
    with Recording.open(path) as rec:
        assert rec.meta["protocol"] == "short" and rec.meta["summary"] == ctl.last_summary
        assert sum(e.kind == "step" for e in rec.events) == len(SHORT.steps)


def test_a_clients_session_is_filed_with_her_milestones(ctl, tmp_path):
    with Library.open(ctl.library_path) as lib:
        ana = lib.add_client("Ana", bands=Bands(15.0, 35.0, 6.0, mvc=55.0).to_dict())
        goal = lib.add_goal(ana, "resting_tone_uv", "<", 1000.0, "a calm rest")
    log = Log(ctl)
    ctl.open(SPEC)
    ctl.set_client("ana")                         # by name, case-insensitive; her stored bands apply
    assert ctl.client_name == "Ana" and ctl.bands.contraction_high == pytest.approx(35.0)
    path = tmp_path / "ana.bfr"
    ctl.start_recording(path, duration_s=SHORT.total_s)
    ctl.start_protocol(SHORT)
    ctl.start()
    run_to_end(ctl)
    (filed,) = log.of("filed")
    filed = filed[0]
    assert filed is ctl.last_filed and [g.goal.id for g in filed.newly_met] == [goal.id]
    with Library.open(ctl.library_path) as lib:
        (session,) = lib.sessions(lib.client("Ana"))
        assert session.protocol == "short" and session.summary == filed.session.summary
        assert lib.goals(lib.client("Ana"))[0].met_on == dt.date.today()
    with Recording.open(path) as rec:
        assert rec.meta["client"] == "Ana"


def test_an_unknown_client_is_refused_before_anything_is_recorded(ctl):
    Library.open(ctl.library_path).close()
    with pytest.raises(UserError, match="no client called"):
        ctl.set_client("Nobody")
    assert ctl.client is None


def test_without_filing_a_clients_recording_stays_out_of_the_library(tmp_path):
    lib_path = tmp_path / "library.sqlite"
    with Library.open(lib_path) as lib:
        lib.add_client("Bo")
    ctl = SessionController(speed=None, library_path=lib_path, file_sessions=False)
    try:
        ctl.set_client("Bo")
        ctl.open(SPEC)
        ctl.start_recording(tmp_path / "bo.bfr", duration_s=1.0)
        ctl.start()
        run_to_end(ctl)
    finally:
        ctl.close()
    with Library.open(lib_path) as lib:
        assert lib.sessions(lib.client("Bo")) == []
