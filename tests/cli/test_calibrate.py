"""``biofeedback calibrate``: the release target rule on simulated patients, stored with a client (issue 11)."""
from __future__ import annotations

import json

import pytest

from biofeedback.cli import main
from biofeedback.clinic import shaping
from biofeedback.clinic.library import Library

KEYS = {"rest_uv", "max_uv", "release_target_uv", "contraction_band_uv", "quality"}


def calibrate(capsys, *args: str) -> dict:
    assert main(["calibrate", "--speed", "max", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_hypertonic_target_sits_below_her_resting_tone(capsys):
    out = calibrate(capsys, "--source", "sim:hypertonic?rate=500&seed=2")
    assert KEYS <= set(out)
    assert out["release_target_uv"] < out["rest_uv"]
    assert out["release_target_rule"] == "below_rest"
    assert out["release_target_uv"] >= out["noise_floor_uv"]
    lo, hi = out["contraction_band_uv"]
    assert lo == pytest.approx(0.4 * out["max_uv"], rel=1e-3) and hi == pytest.approx(0.7 * out["max_uv"], rel=1e-3)
    assert out["quality"]["light"] in ("green", "amber") and out["quality"]["sentence"]
    assert "µV" not in out["patient_text"]                     # her words: no jargon


def test_healthy_target_is_not_pushed_under_the_noise_floor(capsys):
    out = calibrate(capsys, "--source", "sim:healthy?rate=500&seed=1")
    assert out["noise_floor_uv"] is not None
    assert out["release_target_uv"] >= out["noise_floor_uv"]
    assert out["release_target_uv"] >= out["rest_uv"]           # a calm rest: green is her resting level


def test_typed_target_survives_recalibration(capsys, tmp_path):
    lib_path = tmp_path / "lib.sqlite"
    first = calibrate(capsys, "--source", "sim:hypertonic?rate=500", "--client", "Ann", "--library", str(lib_path))
    assert first["client"] == "Ann"
    with Library.open(lib_path) as lib:
        ann = lib.client("Ann")
        assert ann.calibration["target"]["rule"] == "below_rest"
        assert ann.bands["release_high"] == pytest.approx(first["release_target_uv"], rel=1e-3)
        shaping.set_typed_target(lib, ann, 8.5)     # above her noise floor (a target under it is refused)
    again = calibrate(capsys, "--source", "sim:hypertonic?rate=500&seed=4", "--client", "Ann",
                      "--library", str(lib_path))
    assert again["release_target_uv"] == pytest.approx(8.5) and again["release_target_rule"] == "typed"
    with Library.open(lib_path) as lib:
        ann = lib.client("Ann")
        assert ann.bands["release_high"] == pytest.approx(8.5)
        steps = lib.target_steps(ann)
        assert [s["rule"] for s in steps] == ["below_rest", "typed"]     # every step with its day
        assert steps[-1]["target"] == 8.5 and steps[-1]["day"] is not None


def test_a_chosen_emg_target_is_not_kept_for_a_pressure_probe(capsys, tmp_path):
    """Her shaping step of 4.5 µV (EMG sensor) must not become 4.5 cmH2O when she is calibrated on a
    pressure probe that reads about 25 cmH2O at rest: green would be out of her reach."""
    lib_path = tmp_path / "lib.sqlite"
    calibrate(capsys, "--source", "sim:hypertonic?rate=500", "--client", "Ann", "--library", str(lib_path))
    with Library.open(lib_path) as lib:
        ann = lib.client("Ann")
        shaping.store_target(lib, ann, shaping.shaped_target(4.5, 5.0), step_rule=shaping.step_rule("therapist"))
    probe = calibrate(capsys, "--source", "sim:healthy?pressure=1&emg=0&seed=1", "--client", "Ann",
                      "--library", str(lib_path))
    assert probe["release_target_rule"] == "rest_band" and probe["release_target_uv"] > 20.0
    with Library.open(lib_path) as lib:
        ann = lib.client("Ann")
        assert ann.bands["unit"] == "cmH2O" and ann.bands["release_high"] > 20.0
        assert lib.target_steps(ann)[-1]["unit"] == "cmH2O" and lib.target_steps(ann)[-1]["target"] > 20.0
    again = calibrate(capsys, "--source", "sim:healthy?pressure=1&emg=0&seed=2", "--client", "Ann",
                      "--library", str(lib_path))
    assert again["release_target_rule"] == "rest_band"          # not a kept target either


def test_text_output_and_bad_source(capsys):
    assert main(["calibrate", "--source", "sim:healthy?rate=500", "--speed", "max"]) == 0
    text = capsys.readouterr().out
    assert "Release target" in text and "Noise floor" in text and "Signal quality" in text
    assert main(["calibrate", "--source", "sim:nobody", "--speed", "max"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("biofeedback:") and "\n" not in err


def test_shaping_proposes_a_step_after_three_sessions_in_a_row():
    assert shaping.propose_step(8.0, [75.0, 80.0]) is None                     # only two
    assert shaping.propose_step(8.0, [75.0, 60.0, 80.0]) is None               # not in a row
    step = shaping.propose_step(8.0, [50.0, 72.0, 70.0, 90.0])
    assert step is not None and step.proposed == pytest.approx(7.2) and "in a row" in step.reason
    assert shaping.propose_step(8.0, [90.0] * 3, noise_floor=7.9).proposed == pytest.approx(7.9)
    assert shaping.propose_step(8.0, [90.0] * 3, noise_floor=8.0) is None     # never under the floor
