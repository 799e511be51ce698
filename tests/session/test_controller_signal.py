"""Live hum and signal quality in the controller, and the live notch (issue 11, items 4 and 5), headless."""
from __future__ import annotations

import pytest

from biofeedback.files.recording import Recording
from biofeedback.session.controller import SessionController
from biofeedback.signal.calibration import Calibration, typed_target

HUMMING = "sim:healthy?seed=3&rate=1000&hum=1.0&mains=50"


def run_for(ctl: SessionController, seconds: float) -> None:
    """Pump the (unpaced) source by hand until ``seconds`` more of signal came in, then poll as a frame does."""
    engine = ctl.engine
    assert engine is not None
    end = engine.time_s + seconds
    while engine.time_s < end:
        engine.pump()
    ctl.poll()


@pytest.fixture
def ctl(tmp_path):
    c = SessionController(speed=None, library_path=tmp_path / "library.sqlite", file_sessions=False)
    yield c
    c.close()


def test_hum_is_reported_and_the_notch_removes_it(ctl, tmp_path):
    seen = []
    ctl.signal_changed.connect(lambda q, h: seen.append((q, h)))
    ctl.open(HUMMING)
    ctl.start_source()
    run_for(ctl, 6.0)
    assert seen and ctl.quality is not None and ctl.hum is not None
    assert ctl.hum.detected and ctl.hum.mains_hz == 50.0
    assert ctl.hum.total_uv == pytest.approx(1.0, rel=0.3)
    assert ctl.quality.light == "amber" and "hum" in ctl.quality.problems
    assert ctl.hum_warning.startswith("mains hum 1.")
    assert "check the reference electrode and cables" in ctl.hum_warning
    before = ctl.hum.total_uv

    path = tmp_path / "hum.bfr"
    ctl.start_recording(path)
    run_for(ctl, 1.0)
    ctl.set_notch(50)
    assert ctl.notch_hz == 50 and ctl.engine.settings.notch_hz == 50
    run_for(ctl, 6.0)
    assert not ctl.hum.detected and ctl.hum.total_uv < 0.25 * before
    assert ctl.hum_warning is None and "hum" not in ctl.quality.problems
    ctl.stop_recording()

    with Recording.open(path) as rec:
        meta = rec.meta
        kinds = [e.kind for e in rec.events]
    assert meta["chain"]["notch_hz"] == 50 and meta["notch"] == "50" and meta["notch_hz"] == 50
    assert meta["live_quality"]["light"] == "amber"       # the live check seen while recording
    assert "quality" not in meta                          # left to the analysis of the recorded signal
    assert "notch" in kinds


def test_notch_off_again_and_kept_for_the_next_source(ctl):
    ctl.set_notch(60)                        # before any source: kept in the settings
    ctl.open("sim:healthy?seed=3&rate=1000")
    assert ctl.notch_hz == 60 and ctl.recording_meta()["notch"] == "60"
    ctl.set_notch(None)
    assert ctl.notch_hz is None and "notch" not in ctl.recording_meta()


def test_no_check_without_an_emg_channel(ctl):
    ctl.open("sim:healthy?seed=3&rate=1000&emg=0&pressure=1")
    ctl.start_source()
    run_for(ctl, 2.0)
    assert ctl.quality is None and ctl.hum is None


def test_a_typed_target_is_kept_through_a_new_calibration(ctl):
    peaks = [60.0, 58.0, 57.0]
    ctl.apply_calibration(Calibration(rest_mean=3.0, rest_sd=0.4, mvc=60.0, effort_peaks=peaks,
                                      target=typed_target(2.5)))
    ctl.apply_calibration(Calibration(rest_mean=3.4, rest_sd=0.5, mvc=55.0, effort_peaks=peaks))   # the rule's
    assert ctl.calibration.target.rule == "typed" and ctl.bands.release_high == pytest.approx(2.5)
    assert ctl.bands.mvc == pytest.approx(55.0)                        # the new squeezes count
    ctl.apply_calibration(Calibration(rest_mean=3.4, rest_sd=0.5, mvc=55.0, effort_peaks=peaks,
                                      target=typed_target(2.0)))
    assert ctl.bands.release_high == pytest.approx(2.0)                # a newly typed one wins


def test_a_typed_emg_target_is_not_kept_for_a_pressure_calibration(ctl):
    peaks = [60.0, 58.0, 57.0]
    ctl.apply_calibration(Calibration(rest_mean=3.0, rest_sd=0.4, mvc=60.0, effort_peaks=peaks,
                                      target=typed_target(2.5)))
    ctl.open("sim:healthy?seed=3&rate=1000&emg=0&pressure=1")          # a pressure probe now
    assert ctl.previous_target is None
    ctl.apply_calibration(Calibration(rest_mean=25.0, rest_sd=0.5, mvc=55.0, effort_peaks=[55.0, 54.0, 53.0],
                                      unit="cmH2O", channel="pressure"))
    assert ctl.calibration.target.rule == "rest_band" and ctl.bands.release_high == pytest.approx(26.0)


def test_record_keeps_the_live_check_with_the_hum_it_saw(tmp_path):
    """``biofeedback record`` (no window, nobody polling, faster than real time) fills ``live_quality`` too."""
    from tests.helpers import run_cli
    out = tmp_path / "hum.bfr"
    r = run_cli("record", "--source", HUMMING, "--duration", "8", "--speed", "max", "--out", out)
    assert r.returncode == 0, r.stderr
    with Recording.open(out) as rec:
        live = rec.meta["live_quality"]
    assert live["light"] == "amber" and "hum" in live["problems"]
    assert live["hum_detected"] and live["mains_hz"] == 50.0
    assert live["hum_uv"] == pytest.approx(1.0, rel=0.3)


def test_a_clean_signal_keeps_a_green_live_check(tmp_path):
    from tests.helpers import run_cli
    out = tmp_path / "clean.bfr"
    r = run_cli("record", "--source", "sim:healthy?seed=3&rate=1000", "--duration", "4", "--speed", "max",
                "--out", out)
    assert r.returncode == 0, r.stderr
    with Recording.open(out) as rec:
        assert rec.meta["live_quality"]["light"] == "green"


def test_the_worst_check_survives_the_engine_seeing_it_before_the_controller_starts_the_check(tmp_path):
    """The engine thread runs on as soon as ``engine.start_recording`` returns: its one-second verdict (red)
    can be stored before the controller's ``WorstCheck.start`` runs with the older check it showed (green).
    A later amber must not then replace the red that the recording really saw."""
    from biofeedback.session.controller import WorstCheck
    from biofeedback.session.engine import SessionEngine
    from biofeedback.signal.quality import Quality
    from biofeedback.sources import open_source

    engine = SessionEngine(open_source("sim:healthy?seed=3&rate=1000", speed=None))
    worst = WorstCheck()
    green, amber, red = (Quality(light, light) for light in ("green", "amber", "red"))
    writer = engine.start_recording(tmp_path / "race.bfr", {"live_quality": green.to_dict()})
    worst.see(engine, red)              # engine thread: first verdict of the new recording
    worst.start(writer, green, engine)  # controller thread, a moment later: the check its meta began with
    worst.see(engine, amber)            # engine thread: the next second
    path = engine.stop_recording()
    with Recording.open(path) as rec:
        assert rec.meta["live_quality"]["light"] == "red"

    # the other way round: the recording began under a red check, the engine's first verdict is green
    writer = engine.start_recording(tmp_path / "race2.bfr", {"live_quality": red.to_dict()})
    worst.see(engine, green)
    worst.start(writer, red, engine)
    worst.see(engine, amber)
    path = engine.stop_recording()
    with Recording.open(path) as rec:
        assert rec.meta["live_quality"]["light"] == "red"
