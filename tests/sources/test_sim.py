import numpy as np
import pytest

from biofeedback.errors import SourceError
from biofeedback.signal.chain import envelope_offline
from biofeedback.sources.patient import PROFILES, SimulatedPatient


def _envelope(p, n):
    return envelope_offline(p.generate(n), p.info)[1]


@pytest.mark.parametrize("name,lo,hi", [("healthy", 2.0, 4.0), ("hypertonic", 8.0, 15.0), ("weak", 1.5, 4.0)])
def test_resting_tone_sits_in_the_profile_range(name, lo, hi):
    p = SimulatedPatient(name, rate=2000, seed=2)
    env = _envelope(p, 2000 * 30)[2000:, 0]
    assert lo <= np.median(env) <= hi


def test_same_seed_same_signal_in_any_chunking():
    a = SimulatedPatient("hypertonic", seed=7, abdominal=True, pressure=True).generate(9000)
    q = SimulatedPatient("hypertonic", seed=7, abdominal=True, pressure=True)
    b = np.concatenate([q.generate(k) for k in (1, 2999, 10, 5990)])
    np.testing.assert_array_equal(a, b)
    c = SimulatedPatient("hypertonic", seed=8, abdominal=True, pressure=True).generate(9000)
    assert not np.allclose(a, c)


def test_effort_raises_the_emg_and_release_follows_profile_speed():
    def release_time(name):
        p = SimulatedPatient(name, rate=2000, seed=1)
        p.script = lambda t: 0.6 if 5.0 <= t < 10.0 else 0.0
        env = _envelope(p, 2000 * 20)[:, 0]
        rest = env[2000:10000]
        thr = rest.mean() + 2 * rest.std()
        assert env[16000:20000].mean() > 5 * rest.mean() or name == "hypertonic"
        after = env[20000:]
        return np.argmax(after <= thr) / 2000.0

    healthy, hyper = release_time("healthy"), release_time("hypertonic")
    assert healthy < 0.8
    assert 1.2 < hyper < 4.5


def test_interactive_effort_is_used_without_a_script():
    p = SimulatedPatient("healthy", seed=0)
    rest = _envelope(p, 4000)[2000:, 0].mean()
    p.effort = 0.7
    q = SimulatedPatient("healthy", seed=0)
    q.effort = 0.7
    busy = _envelope(q, 4000)[2000:, 0].mean()
    assert busy > 8 * rest


def test_abdominal_co_activates_and_pressure_rises():
    p = SimulatedPatient("weak", seed=3, abdominal=True, pressure=True)
    assert p.info.names == ["pfm", "abd", "pressure"]
    p.script = lambda t: 0.8 if t >= 3 else 0.0
    x = p.generate(2000 * 6)
    env = envelope_offline(x, p.info)[1]
    assert env[10000:, 1].mean() > 2 * env[2000:5000, 1].mean()
    assert x[10000:, 2].mean() - x[:5000, 2].mean() > 4.0


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(SourceError, match="unknown simulated patient profile"):
        SimulatedPatient("athletic")
    assert set(PROFILES) >= {"healthy", "hypertonic", "weak"}


def test_a_long_hold_fatigues_the_muscle():
    from biofeedback.signal.metrics import median_frequency
    p = SimulatedPatient("healthy", rate=2000, seed=4)
    p.script = lambda t: 0.6 if 2.0 <= t < 62.0 else 0.0
    x = p.generate(2000 * 62)
    f, env = envelope_offline(x, p.info)
    early, late = slice(2000 * 5, 2000 * 10), slice(2000 * 55, 2000 * 60)
    assert env[late, 0].mean() < 0.95 * env[early, 0].mean()
    assert median_frequency(f[late, 0], 2000) < median_frequency(f[early, 0], 2000) - 10


@pytest.mark.parametrize("rate", [50, 100, 250, 500])
def test_slow_devices_can_be_simulated(rate):
    p = SimulatedPatient("hypertonic", rate=rate, seed=1, pressure=True)
    x = p.generate(rate * 5)
    assert x.shape == (rate * 5, 2) and np.isfinite(x).all()
