"""``biofeedback target`` and ``record --client`` through the real command line: the proposal after the third
session in a row under her target, ``--accept``, ``--set`` and the one-line errors.

The third session is a real simulated recording filed by ``record`` (the healthy patient rests near 3 µV,
so nearly all of her rest lies under a 6.0 µV target); the two before it are put in with known summaries.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest

from biofeedback.clinic.library import Library
from biofeedback.signal.calibration import Bands
from tests.helpers import assert_one_line_error, run_cli

SHORT = {"name": "short-rest", "title": "Short rest", "description": "a short guided session for the tests",
         "steps": [{"kind": "rest", "duration_s": 8, "cue": "Rest and let go", "phase": "pre_baseline"},
                   {"kind": "contract", "duration_s": 3, "cue": "Squeeze"},
                   {"kind": "rest", "duration_s": 6, "cue": "Let go"},
                   {"kind": "rest", "duration_s": 8, "cue": "Rest and let go", "phase": "post_baseline"}]}


def short_protocol(tmp_path):
    path = tmp_path / "short-rest.json"
    path.write_text(json.dumps(SHORT))
    return path


def library_with_two_good_sessions(target: str, tmp_path) -> str:
    """Ana, trained against 6.0 µV (typed) since yesterday, with two sessions of 85 % rest under it."""
    yesterday = dt.date.today() - dt.timedelta(days=1)
    with Library.open(target) as lib:
        ana = lib.add_client("Ana", bands=Bands(24.0, 42.0, 6.0, mvc=60.0).to_dict(),
                             calibration={"noise_floor": 1.0, "target": {"release_target": 6.0, "rule": "typed"}})
        lib.add_target_step(ana, 6.0, day=yesterday, rule="typed")
        for i in range(2):
            lib.add_session(ana, tmp_path / f"earlier-{i}.bfr", f"{yesterday.isoformat()}T0{8 + i}:00:00",
                            "short-rest", 25.0, {"time_under_target_pct": 85.0, "release_target_uv": 6.0})
    return target


@pytest.mark.timeout(300)
def test_record_proposes_then_target_accepts_sets_and_refuses_in_one_line(library_target, tmp_path):
    lib = library_with_two_good_sessions(library_target, tmp_path)
    proto = short_protocol(tmp_path)
    target = run_cli("target", "Ana", "--library", lib)
    assert target.returncode == 0, target.stderr
    assert "No step proposed yet" in target.stdout and "6.0 µV" in target.stdout
    done = run_cli("record", "--client", "Ana", "--protocol", proto, "--source", "sim:healthy?rate=500&seed=3",
                   "--speed", "max", "--out", tmp_path / "third.bfr", "--library", lib)
    assert done.returncode == 0, done.stderr
    assert ("She spent at least 70 % of rest under 6.0 µV in her last 3 sessions: the next step is 5.4 µV. "
            "Accept with: biofeedback target Ana --accept") in done.stdout

    shown = run_cli("target", "Ana", "--library", lib)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0] == f"Ana's release target: 6.0 µV, since {dt.date.today() - dt.timedelta(1)}"
    assert shown.stdout.strip().endswith("the next step is 5.4 µV. Accept with --accept.")
    as_json = json.loads(run_cli("target", "Ana", "--json", "--library", lib).stdout)
    assert as_json["release_target_uv"] == 6.0 and as_json["proposal"]["proposed_uv"] == pytest.approx(5.4)
    assert [s["rule"] for s in as_json["steps"]] == ["typed"] and as_json["changed"] is None

    accepted = run_cli("target", "Ana", "--accept", "--library", lib)
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.startswith("Ana's release target is now 5.4 µV (from 6.0)")
    assert f"  {dt.date.today()}     5.4 µV  shaping (therapist)" in accepted.stdout
    with Library.open(lib) as library:
        ana = library.client("Ana")
        assert ana.bands["release_high"] == pytest.approx(5.4)
        assert [(t["day"], t["rule"]) for t in library.target_steps(ana)][-1] == (dt.date.today(),
                                                                                   "shaping (therapist)")

    again = run_cli("target", "Ana", "--accept", "--library", lib)            # nothing left to accept
    assert "no step to accept for Ana" in assert_one_line_error(again)
    for bad in ("nan", "0", "-2", "abc", "inf"):
        assert "--set" in assert_one_line_error(run_cli("target", "Ana", "--set", bad, "--library", lib))
    assert "noise floor" in assert_one_line_error(run_cli("target", "Ana", "--set", "0.5", "--library", lib))
    assert "not allowed with" in assert_one_line_error(run_cli("target", "Ana", "--set", "5", "--accept",
                                                               "--library", lib))
    assert "no client called 'Bob'" in assert_one_line_error(run_cli("target", "Bob", "--library", lib))

    typed = json.loads(run_cli("target", "Ana", "--set", "5", "--json", "--library", lib).stdout)
    assert typed["release_target_uv"] == 5.0 and typed["changed"]["rule"] == "typed"
    with Library.open(lib) as library:
        assert library.client("Ana").bands["release_high"] == 5.0


def test_a_client_without_a_target_is_told_how_to_get_one(tmp_path):
    lib = tmp_path / "lib.sqlite"
    with Library.open(lib) as library:
        library.add_client("Cleo")
    shown = run_cli("target", "Cleo", "--library", lib)
    assert shown.returncode == 0 and "Cleo has no release target yet" in shown.stdout
    assert "she has no release target yet" in assert_one_line_error(run_cli("target", "Cleo", "--accept",
                                                                            "--library", lib))


def test_a_pressure_clients_typed_target_stays_in_cmh2o_and_is_never_shaped(library_target, tmp_path):
    """Pia trains on a pressure probe (bands and calibration in cmH2O, noise floor 24.4 cmH2O = her resting
    pressure's spread measured there): ``--set 20`` is her target in cmH2O, not 20 µV compared with that floor,
    and three good sessions under it propose no µV step."""
    yesterday = dt.date.today() - dt.timedelta(days=1)
    with Library.open(library_target) as lib:
        pia = lib.add_client("Pia", bands=Bands(37.0, 46.0, 25.9, unit="cmH2O", channel="pressure").to_dict(),
                             calibration={"unit": "cmH2O", "noise_floor": 24.4,
                                          "target": {"release_target": 25.9, "rule": "rest_band"}})
        lib.add_target_step(pia, 25.9, day=yesterday, rule="rest_band", unit="cmH2O")
    typed = run_cli("target", "Pia", "--set", "20", "--library", library_target)
    assert typed.returncode == 0, typed.stderr
    assert typed.stdout.startswith("Pia's release target is now 20.0 cmH₂O (from 25.9)")
    assert "µV" not in typed.stdout
    with Library.open(library_target) as lib:
        pia = lib.client("Pia")
        assert pia.bands["release_high"] == 20.0 and pia.bands["unit"] == "cmH2O"
        assert [(t["target"], t["unit"], t["rule"]) for t in lib.target_steps(pia)][-1] == (20.0, "cmH2O", "typed")
        for i in range(3):
            lib.add_session(pia, tmp_path / f"p{i}.bfr", f"{dt.date.today().isoformat()}T0{7 + i}:00:00",
                            "short-rest", 25.0, {"time_under_target_pct": 95.0})
    shown = json.loads(run_cli("target", "Pia", "--json", "--library", library_target).stdout)
    assert shown["unit"] == "cmH2O" and shown["proposal"] is None
    refused = assert_one_line_error(run_cli("target", "Pia", "--accept", "--library", library_target))
    assert "cmH₂O (a pressure probe), which shaping does not lower" in refused and "µV" not in refused
