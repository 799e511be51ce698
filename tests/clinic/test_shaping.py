"""Shaping after each session: three sessions in a row with >= 70 % of rest under her target propose the next,
lower step; at the clinic the therapist accepts it, in her home library the programme's rule takes it.

Real libraries (a SQLite file, and a PostgreSQL database when ``BIOFEEDBACK_TEST_PG`` is set); sessions are put
in with known summaries (the filing path has its own test below, on recorded simulated sessions).
"""
from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest

from biofeedback.clinic import shaping
from biofeedback.clinic.library import Library, ProgrammeSchedule
from biofeedback.errors import UserError
from biofeedback.signal.calibration import Bands, ReleaseTarget, keep_typed_target, release_target_rule

START = dt.date(2026, 11, 2)
BANDS = Bands(24.0, 42.0, 6.0, mvc=60.0)


def new_client(lib: Library, name: str = "Ana", noise_floor: float | None = 1.0, typed: bool = True):
    """A client trained against 6.0 µV since START (typed by her therapist), bands to match."""
    cal = {"target": {"release_target": 6.0, "rule": "typed" if typed else "below_rest", "reason": "",
                      "patient_text": ""}, "noise_floor": noise_floor}
    client = lib.add_client(name, bands=BANDS.to_dict(), calibration=cal)
    lib.add_target_step(client, 6.0, day=START, rule="typed" if typed else "below_rest")
    return lib.client_by_id(client.id)


def add_sessions(lib: Library, client, pcts: list[float], first_day: int = 1, target: float | None = 6.0,
                 folder: Path = Path("/nonexistent/shaping")):
    """One session a day from START + ``first_day``, each with a known share of rest under ``target``."""
    for i, pct in enumerate(pcts):
        day = START + dt.timedelta(days=first_day + i)
        summary = {"time_under_target_pct": pct, "resting_tone_uv": 4.0}
        if target is not None:
            summary["release_target_uv"] = target
        lib.add_session(client, folder / f"{client.name}-{uuid.uuid4().hex[:8]}.bfr", f"{day.isoformat()}T09:00:00",
                        "relaxation", 450.0, summary)


def install_programme_here(lib: Library, client) -> None:
    """Her own library at home: a programme installed from her therapist's file."""
    lib.add_programme(client, ProgrammeSchedule(str(uuid.uuid4()), "2026-11-01T09:00:00+00:00", START, 8,
                                                {"relaxation": 7}, installed=True))


def test_three_sessions_at_least_70_pct_under_target_propose_the_next_step(library_target, tmp_path):
    with Library.open(library_target) as lib:
        ana = new_client(lib)
        add_sessions(lib, ana, [90.0, 60.0, 75.0, 80.0], folder=tmp_path)      # 60 % breaks the row
        assert shaping.after_session(lib, ana) is None                         # only two in a row so far
        add_sessions(lib, ana, [70.0], first_day=5, folder=tmp_path)           # exactly 70 % counts
        outcome = shaping.after_session(lib, ana)
        assert outcome is not None and outcome.waiting and outcome.by == "therapist"
        assert outcome.proposal.current == 6.0 and outcome.proposal.proposed == pytest.approx(5.4)
        assert shaping.proposal_line(outcome.proposal) == (
            "She spent at least 70 % of rest under 6.0 µV in her last 3 sessions: the next step is 5.4 µV.")
        # at the clinic nothing changes by itself
        assert [t["target"] for t in lib.target_steps(ana)] == [6.0]
        assert lib.client("Ana").bands["release_high"] == 6.0


def test_sessions_trained_against_an_older_higher_target_do_not_count(library_target, tmp_path):
    with Library.open(library_target) as lib:
        ana = new_client(lib)
        add_sessions(lib, ana, [95.0, 95.0], target=7.0, folder=tmp_path)     # still against her old 7.0
        add_sessions(lib, ana, [95.0, 95.0], first_day=3, folder=tmp_path)
        assert shaping.proposal_for(lib, ana) is None
        add_sessions(lib, ana, [95.0], first_day=5, target=None, folder=tmp_path)   # one that does not say
        assert shaping.proposal_for(lib, ana).proposed == pytest.approx(5.4)


def test_accepting_stores_the_step_with_its_date_and_her_bands_and_recalibration_keeps_it(library_target,
                                                                                           tmp_path):
    day = START + dt.timedelta(days=4)
    with Library.open(library_target) as lib:
        ana = new_client(lib)
        add_sessions(lib, ana, [80.0, 85.0, 90.0], folder=tmp_path)
        proposal = shaping.proposal_for(lib, ana)
        step = shaping.accept_step(lib, ana, proposal, day=day)
        assert (step["day"], step["target"], step["rule"]) == (day, pytest.approx(5.4), "shaping (therapist)")
        assert [(t["day"], t["target"]) for t in lib.target_steps(ana)] == [(START, 6.0), (day, pytest.approx(5.4))]
        her = lib.client("Ana")
        assert her.bands["release_high"] == pytest.approx(5.4)                 # her next session starts with it
        assert Bands.from_dict(her.bands).contraction_high == BANDS.contraction_high   # the rest of her bands kept
        stored = ReleaseTarget.from_dict(her.calibration["target"])
        assert stored.rule == "shaping" and stored.value == pytest.approx(5.4)
        assert her.calibration["noise_floor"] == 1.0
        # a re-calibration's own rule never silently undoes the step
        assert keep_typed_target(her.calibration["target"], release_target_rule(11.0, 1.0)).value == pytest.approx(5.4)
        # the same proposal again (a second click, a stale window) is refused, nothing changes
        with pytest.raises(UserError, match="changed since"):
            shaping.accept_step(lib, ana, proposal)
        assert len(lib.target_steps(ana)) == 2
        assert shaping.proposal_for(lib, ana) is None                           # a new run starts at 5.4


def test_home_programme_rule_takes_the_step_by_itself_the_clinic_does_not(library_target, tmp_path):
    with Library.open(library_target) as lib:
        clinic_ana, home_ana = new_client(lib, "Ana"), new_client(lib, "Bea")
        install_programme_here(lib, home_ana)
        for c in (clinic_ana, home_ana):
            add_sessions(lib, c, [80.0, 85.0, 90.0], folder=tmp_path)
        at_clinic = shaping.after_session(lib, clinic_ana)
        at_home = shaping.after_session(lib, home_ana)
        assert at_clinic.waiting and lib.client("Ana").bands["release_high"] == 6.0
        assert not at_home.waiting and at_home.by == "programme"
        steps = lib.target_steps(home_ana)
        assert steps[-1]["rule"] == "shaping (programme)" and steps[-1]["day"] == dt.date.today()
        assert steps[-1]["target"] == pytest.approx(5.4)
        assert lib.client("Bea").bands["release_high"] == pytest.approx(5.4)    # a typed 6.0 stepped down too
        assert shaping.after_session(lib, home_ana) is None                     # once: the run starts again
        assert "programme's rule lowered her release target to 5.4 µV (from 6.0)" in shaping.applied_line(at_home)


def test_the_step_never_goes_under_the_noise_floor(library_target, tmp_path):
    with Library.open(library_target) as lib:
        ana = new_client(lib, noise_floor=5.8)
        add_sessions(lib, ana, [90.0] * 3, folder=tmp_path)
        assert shaping.proposal_for(lib, ana).proposed == pytest.approx(5.8)
        bea = new_client(lib, "Bea", noise_floor=6.0)
        add_sessions(lib, bea, [90.0] * 3, folder=tmp_path)
        assert shaping.after_session(lib, bea) is None                          # at the floor: no lower step


def test_a_typed_target_is_refused_under_the_noise_floor_or_not_a_number(library_target):
    with Library.open(library_target) as lib:
        ana = new_client(lib, noise_floor=1.5)
        for bad, words in ((1.2, "noise floor"), (float("nan"), "positive number"), (0.0, "positive number"),
                           (-3.0, "positive number")):
            with pytest.raises(UserError, match=words):
                shaping.set_typed_target(lib, ana, bad)
        assert [t["target"] for t in lib.target_steps(ana)] == [6.0]
        shaping.set_typed_target(lib, ana, 4.5)
        assert lib.client("Ana").bands["release_high"] == 4.5 and lib.target_steps(ana)[-1]["rule"] == "typed"


def test_target_figures_are_written_as_the_therapist_reads_them():
    assert [shaping.format_uv(v) for v in (6.0, 5.4, 4.86, 12.0)] == ["6.0", "5.4", "4.86", "12.0"]


def _programme_installed_and_three_good_home_sessions(clinic, home, start, tmp_path, typed_at_the_clinic=None):
    """Ana at the clinic (target 6.0 µV from ``start``), her programme installed at home, then (after the
    therapist may have typed another target at the clinic) three home sessions with 90 % of rest under 6.0
    as real small recordings. Returns her client record at home."""
    from biofeedback.clinic import programme as prog
    from biofeedback.clinic.demo_programme import write_small_recording
    ana = clinic.add_client("Ana", bands=BANDS.to_dict(), calibration={"noise_floor": 1.0})
    clinic.add_target_step(ana, 6.0, day=start, rule="below_rest")
    prog.write_programme(clinic, prog.build_programme(clinic, "Ana", [("relaxation", 7)], 4, "", start),
                         tmp_path / "ana.bfprog")
    prog.install_programme(home, tmp_path / "ana.bfprog")
    if typed_at_the_clinic is not None:
        shaping.set_typed_target(clinic, clinic.client("Ana"), typed_at_the_clinic)
    her = home.client("Ana")
    (tmp_path / "rec").mkdir()
    for i in range(3):
        day = start + dt.timedelta(days=1 + i)
        rec = write_small_recording(tmp_path / "rec" / f"{i}.bfr", f"{day.isoformat()}T09:00:00+00:00",
                                    "relaxation", 3.0)
        home.add_home_session(her, rec, f"{day.isoformat()}T09:00:00+00:00", "relaxation", 4.0,
                              {"time_under_target_pct": 90.0, "release_target_uv": 6.0})
    return her


def test_a_step_taken_at_home_comes_back_to_the_clinic_with_her_practice(library_target, tmp_path):
    """Programme written at the clinic, installed at home; her programme's rule steps down at home; her practice
    file brings the step back: the clinic's history has it and her bands there follow (importing again: no change)."""
    from biofeedback.clinic.practice import export_practice, import_practice
    start = dt.date.today() - dt.timedelta(days=10)
    with Library.open(library_target) as clinic, Library.open(tmp_path / "home.sqlite") as home:
        her = _programme_installed_and_three_good_home_sessions(clinic, home, start, tmp_path)
        taken = shaping.after_session(home, her)
        assert taken.applied["rule"] == shaping.PROGRAMME_STEP_RULE
        export_practice(home, "Ana", tmp_path / "ana.bfpack")
        import_practice(clinic, tmp_path / "ana.bfpack")
        at_clinic = clinic.client("Ana")
        assert [(t["target"], t["rule"]) for t in clinic.target_steps(at_clinic)] == [
            (6.0, "below_rest"), (pytest.approx(5.4), "shaping (programme)")]
        assert at_clinic.bands["release_high"] == pytest.approx(5.4)
        assert at_clinic.calibration["target"]["rule"] == "shaping"
        import_practice(clinic, tmp_path / "ana.bfpack")
        assert len(clinic.target_steps(at_clinic)) == 2


def test_pressure_sessions_do_not_step_down_her_emg_target(library_target, tmp_path):
    """Three probe sessions with 90 % of rest under their cmH2O target say nothing about her µV resting tone:
    they must not propose lowering the 6.0 µV target (sessions without a unit, written by an older version,
    still count)."""
    with Library.open(library_target) as lib:
        ana = new_client(lib)
        for i in range(3):
            day = START + dt.timedelta(days=1 + i)
            lib.add_session(ana, tmp_path / f"probe-{i}.bfr", f"{day.isoformat()}T09:00:00", "relaxation", 450.0,
                            {"unit": "cmH2O", "channel": "pressure", "time_under_target_pct": 90.0,
                             "release_target_cmh2o": 26.0, "resting_tone_cmh2o": 24.0})
        assert shaping.after_session(lib, ana) is None
        add_sessions(lib, ana, [80.0, 85.0, 90.0], first_day=4, folder=tmp_path)   # EMG sessions do
        outcome = shaping.after_session(lib, ana)
        assert outcome is not None and outcome.proposal.proposed == pytest.approx(5.4)


def test_a_home_step_from_an_old_target_does_not_lower_the_one_typed_at_the_clinic_since(library_target, tmp_path):
    """Her programme said 6.0 µV; since then her therapist typed 8.0 µV at the clinic (she was struggling).
    At home, not knowing it, her programme's rule stepped 6.0 down to 5.4 the same day. Importing her
    practice file keeps that step in her history but must not lower the therapist's 8.0."""
    from biofeedback.clinic.practice import export_practice, import_practice
    start = dt.date.today() - dt.timedelta(days=10)
    with Library.open(library_target) as clinic, Library.open(tmp_path / "home.sqlite") as home:
        her = _programme_installed_and_three_good_home_sessions(clinic, home, start, tmp_path,
                                                                typed_at_the_clinic=8.0)
        assert shaping.after_session(home, her).applied["target"] == pytest.approx(5.4)
        export_practice(home, "Ana", tmp_path / "ana.bfpack")
        import_practice(clinic, tmp_path / "ana.bfpack")
        at_clinic = clinic.client("Ana")
        assert at_clinic.bands["release_high"] == 8.0 and at_clinic.calibration["target"]["rule"] == "typed"
        assert shaping.current_target(clinic, at_clinic) == 8.0                 # what `target` shows
        assert pytest.approx(5.4) in [t["target"] for t in clinic.target_steps(at_clinic)]   # her history
        import_practice(clinic, tmp_path / "ana.bfpack")                        # again: nothing changes
        assert shaping.current_target(clinic, at_clinic) == 8.0


def test_a_step_of_her_emg_target_leaves_her_pressure_bands_alone(library_target, tmp_path):
    """Her saved bands are for the pressure probe (cmH2O) while her shaping history is EMG (µV): lowering
    the µV target must not put 5.4 into the probe's release band (she rests near 25 cmH2O there)."""
    probe = Bands(37.0, 46.0, 25.9, unit="cmH2O", channel="pressure")
    with Library.open(library_target) as lib:
        ana = new_client(lib)
        probe_cal = {"unit": "cmH2O", "noise_floor": 0.2, "target": {"release_target": 25.9, "rule": "rest_band"}}
        lib.update_client(ana, bands=probe.to_dict(), calibration=probe_cal)
        add_sessions(lib, ana, [90.0, 85.0, 80.0], folder=tmp_path)
        outcome = shaping.after_session(lib, ana)
        assert outcome is not None and outcome.waiting
        shaping.accept_step(lib, ana, outcome.proposal)
        ana = lib.client("Ana")
        assert shaping.current_target(lib, ana) == pytest.approx(5.4)
        assert Bands.from_dict(ana.bands) == probe
        assert ana.calibration == probe_cal                # a later probe calibration must not keep 5.4 "cmH2O"
