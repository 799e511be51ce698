"""The simulated patient shows what the clinic sees (issue 11): incomplete release, hum and artefacts on request."""
from __future__ import annotations

import numpy as np
import pytest

from biofeedback.clinic.analysis import analyze_arrays, spans_from_protocol
from biofeedback.errors import SourceError
from biofeedback.protocols import effort_script, load_protocol
from biofeedback.signal import hum, quality
from biofeedback.signal.chain import ChainSettings, envelope_offline
from biofeedback.sources import open_source
from biofeedback.sources.patient import PROFILES, SimulatedPatient


def glazer(profile: str, seed: int = 0, rate: float = 1000.0) -> dict:
    p = load_protocol("glazer")
    patient = SimulatedPatient(profile, rate=rate, seed=seed)
    patient.script = effort_script(p, seed=seed)
    data = patient.generate(int(p.total_s * rate))
    return analyze_arrays(data, patient.info, spans_from_protocol(p, p.total_s), protocol_name="glazer")["summary"]


def test_hypertonic_does_not_let_go_completely():
    s = glazer("hypertonic")
    assert s["post_resting_tone_uv"] > s["resting_tone_uv"]
    assert s["trials_not_released"] >= 1
    healthy = glazer("healthy")
    assert healthy["trials_not_released"] == 0
    assert healthy["post_resting_tone_uv"] == pytest.approx(healthy["resting_tone_uv"], rel=0.1)
    # a smaller squeeze above her raised baseline than the healthy squeeze above hers
    rise = s["contraction_peak_uv"] - s["resting_tone_uv"]
    assert rise < healthy["contraction_peak_uv"] - healthy["resting_tone_uv"]


def test_fatigue_is_profile_specific():
    build = {name: prof.fatigue_build_s for name, prof in PROFILES.items()}
    assert build["weak"] < build["hypertonic"] < build["healthy"]
    weak, healthy = glazer("weak", seed=1), glazer("healthy", seed=1)
    assert weak["endurance_median_freq_slope_hz_per_s"] < healthy["endurance_median_freq_slope_hz_per_s"] < 0


@pytest.mark.parametrize("mains", [50, 60])
def test_hum_option(mains):
    src = open_source(f"sim:healthy?rate=1000&hum=1.0&mains={mains}", None)
    data = src.patient.generate(20000)
    e = hum.estimate(data[:, 0], 1000.0)
    assert e.detected and e.mains_hz == mains and e.fundamental_uv == pytest.approx(1.0, rel=0.15)
    with pytest.raises(SourceError):
        open_source("sim:healthy?mains=55", None)


def test_artefacts_survive_the_high_pass_and_do_not_depend_on_chunking():
    rate = 1000.0
    a = SimulatedPatient("healthy", rate=rate, seed=3, artefacts_per_min=12.0)
    b = SimulatedPatient("healthy", rate=rate, seed=3, artefacts_per_min=12.0)
    whole = a.generate(60000)
    parts = np.concatenate([b.generate(n) for n in (1, 999, 17000, 3, 41997)])
    assert np.allclose(whole, parts)
    info = a.info
    filtered, _ = envelope_offline(whole, info, ChainSettings())
    q = quality.assess(whole[:, 0], filtered[:, 0], rate)
    assert q.artefacts_per_min >= 4 and "motion" in q.problems
    plain = SimulatedPatient("healthy", rate=rate, seed=3).generate(60000)
    f2, _ = envelope_offline(plain, info, ChainSettings())
    assert quality.assess(plain[:, 0], f2[:, 0], rate).artefacts_per_min < 2
