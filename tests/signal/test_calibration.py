"""Calibration: rest baseline, MVC from three efforts, default bands, %MVC conversion, guided run."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from biofeedback.signal.calibration import (
    Bands,
    Calibration,
    CalibrationPlan,
    CalibrationRun,
    calibrate,
    effort_peak,
    rest_baseline,
)

RATE = 100.0


def test_rest_baseline_mean_sd_skips_settling_and_nan():
    rng = np.random.default_rng(1)
    settle = np.full(200, 50.0)                      # first 2 s: not yet settled
    rest = 5.0 + 1.5 * rng.standard_normal(6000)
    env = np.concatenate([settle, rest])
    env[3000:3050] = np.nan
    base = rest_baseline(env, RATE, skip_s=2.0)
    good = rest[np.isfinite(env[200:])]
    # 0.5 s windows (the one holding NaN samples still counts when half of it is there)
    assert base.mean == pytest.approx(good.mean(), rel=2e-3)
    assert base.sd == pytest.approx(good.std(ddof=1), rel=0.02)
    assert base.excluded_s == 0.5 and base.noise_floor == pytest.approx(5.0, rel=0.1)   # the lost 0.5 s
    assert base.duration_s == pytest.approx(good.size / RATE)


def test_effort_peak_is_peak_of_half_second_moving_mean():
    env = np.zeros(500)
    env[100:150] = 80.0          # exactly 0.5 s at 80
    env[300] = 1000.0            # a one-sample spike must not count as the peak
    assert effort_peak(env, RATE) == pytest.approx(max(80.0, (1000.0) / 50))
    env2 = np.concatenate([np.zeros(100), np.full(30, 60.0), np.zeros(100)])  # only 0.3 s
    assert effort_peak(env2, RATE) == pytest.approx(60.0 * 30 / 50)


def test_effort_peak_skips_windows_with_nan():
    env = np.full(300, 10.0)
    env[100:160] = 90.0
    env[120] = np.nan
    # every 0.5 s window containing sample 120 is skipped; the best remaining holds 90 from 121..159 (39 samples)
    expected = (39 * 90.0 + 11 * 10.0) / 50
    assert effort_peak(env, RATE) == pytest.approx(expected)


def test_calibrate_takes_best_of_three_and_default_bands():
    rest = np.full(3000, 4.0)
    rest[::2] = 6.0                                  # mean 5, sd ~1
    efforts = [np.full(500, 90.0), np.full(500, 120.0), np.full(500, 100.0)]
    cal = calibrate(rest, efforts, RATE)
    assert cal.mvc == pytest.approx(120.0)
    assert cal.effort_peaks == pytest.approx([90.0, 120.0, 100.0])
    bands = cal.default_bands()
    assert bands.contraction_low == pytest.approx(0.40 * 120)
    assert bands.contraction_high == pytest.approx(0.70 * 120)
    assert bands.release_high == pytest.approx(cal.rest_mean + 2 * cal.rest_sd)
    assert bands.contraction_pct == pytest.approx((40.0, 70.0))


def test_calibrate_rejects_effort_not_above_rest():
    with pytest.raises(ValueError, match="not above resting tone"):
        calibrate(np.full(1000, 10.0) + np.arange(1000) % 2, [np.full(100, 5.0)], RATE)


@given(mvc=st.floats(1.0, 1e4), lo=st.floats(0, 100), hi=st.floats(0, 100), rel=st.floats(0, 100))
def test_percent_round_trip(mvc, lo, hi, rel):
    b = Bands(1.0, 2.0, 0.5, mvc=mvc).with_contraction_pct(lo, hi).with_release_pct(rel)
    plo, phi = b.contraction_pct
    assert plo <= phi
    assert (plo, phi) == pytest.approx((min(lo, hi), max(lo, hi)), abs=1e-9)
    assert b.release_pct == pytest.approx(rel, abs=1e-9)
    assert Bands.from_dict(b.to_dict()) == b


def test_bands_without_mvc_refuse_percent_and_round_trip():
    b = Bands(30.0, 10.0, 4.0, unit="cmH2O")
    assert (b.contraction_low, b.contraction_high) == (10.0, 30.0)
    with pytest.raises(ValueError, match="calibrate first"):
        b.to_percent(5)
    assert Bands.from_dict(b.to_dict()) == b
    assert b.contains("release", 4.0) and not b.contains("release", 4.1)
    assert b.contains("contraction", 20.0) and not b.contains("contraction", 9.0)


def test_calibration_dict_round_trip():
    cal = Calibration(rest_mean=3.0, rest_sd=0.5, mvc=80.0, effort_peaks=[70.0, 80.0, 75.0], rest_duration_s=35.0)
    assert Calibration.from_dict(cal.to_dict()) == cal


def test_guided_run_phases_effort_script_and_result():
    plan = CalibrationPlan(rest_s=10.0, rest_skip_s=2.0, efforts=3, prepare_s=1.0, contract_s=2.0, release_s=3.0)
    run = CalibrationRun(RATE, start_s=5.0, plan=plan)
    assert run.phase_at(4.9) is None
    assert run.phase_at(5.0).kind == "rest"
    assert run.phase_at(15.5).kind == "prepare" and run.phase_at(15.5).effort == 1
    assert run.phase_at(16.5).kind == "contract"
    assert run.effort_at(16.5) == 1.0 and run.effort_at(15.5) == 0.0
    assert [p.kind for p in run.phases].count("contract") == 3
    # a synthetic patient: rest at 5 +- 1, efforts peaking 60, 90, 75
    t = 5.0 + np.arange(int(plan.duration_s * RATE) + 1) / RATE
    env = np.where(np.arange(t.size) % 2 == 0, 4.0, 6.0)
    heights = {1: 60.0, 2: 90.0, 3: 75.0}
    for ph in run.phases:
        if ph.kind == "contract":
            sel = (t - 5.0 >= ph.start_s + 0.3) & (t - 5.0 < ph.end_s + 0.3)
            env = np.where(sel, heights[ph.effort], env)
    for i in range(0, t.size, 37):                   # fed in odd chunks, with overlap repeats
        run.feed(t[max(0, i - 5):i + 37], env[max(0, i - 5):i + 37])
    assert run.done
    cal = run.result()
    assert cal.mvc == pytest.approx(90.0)
    assert cal.effort_peaks == pytest.approx([60.0, 90.0, 75.0])
    assert cal.rest_mean == pytest.approx(5.0, abs=0.01)
    assert cal.rest_duration_s == pytest.approx(8.0, abs=0.02)


def test_unfinished_run_has_no_result():
    run = CalibrationRun(RATE, 0.0)
    run.feed(np.arange(100) / RATE, np.ones(100))
    assert not run.done
    with pytest.raises(ValueError):
        run.result()


def test_effort_script_accepts_arrays():
    plan = CalibrationPlan(rest_s=10.0, efforts=1, prepare_s=1.0, contract_s=2.0, release_s=3.0)
    run = CalibrationRun(RATE, start_s=100.0, plan=plan)
    t = np.array([100.0, 110.5, 111.5, 113.5])
    assert list(run.effort_at(t)) == [0.0, 0.0, 1.0, 0.0]
    assert isinstance(run.effort_at(111.5), float)


def test_pressure_bands_count_the_squeeze_above_resting_pressure():
    cal = Calibration(rest_mean=20.0, rest_sd=0.5, mvc=40.0, effort_peaks=[40.0], unit="cmH2O", channel="pressure")
    b = cal.default_bands()
    assert (b.contraction_low, b.contraction_high) == pytest.approx((28.0, 34.0))   # 20 + 40..70 % of 20
    assert b.release_high == pytest.approx(21.0)
    assert b.contraction_pct == pytest.approx((40.0, 70.0))
    assert b.to_percent(20.0) == pytest.approx(0.0)
    assert Bands.from_dict(b.to_dict()) == b
