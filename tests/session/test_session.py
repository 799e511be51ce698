"""Headless guided sessions: protocol steps recorded, the simulated patient following, summary stored."""
import pytest

from biofeedback.files.recording import Recording
from biofeedback.session.headless import record_headless
from tests.helpers import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def glazer_pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp("glazer")
    out = {}
    for profile in ("healthy", "hypertonic"):
        path = folder / f"{profile}.bfr"
        result = record_headless(f"sim:{profile}?seed=5", path, None, speed=None, protocol="glazer", client="Sim")
        assert result.error is None
        out[profile] = path
    return out


def test_a_guided_recording_holds_its_steps_and_summary(glazer_pair):
    with Recording.open(glazer_pair["healthy"]) as rec:
        assert rec.meta["protocol"] == "glazer" and rec.meta["client"] == "Sim"
        assert rec.duration_s == pytest.approx(340.0)
        steps = [e for e in rec.events if e.kind == "step"]
        assert len(steps) == 23
        assert steps[0].time_s == pytest.approx(0.0) and steps[1].time_s == pytest.approx(60.0)
        summary = rec.meta["summary"]
        assert summary["protocol"] == "glazer"
        for key in ("resting_tone_uv", "release_latency_s", "contraction_peak_uv", "time_in_band_pct"):
            assert summary[key] is not None


def test_hypertonic_assessment_shows_higher_tone_and_slower_release(glazer_pair):
    with Recording.open(glazer_pair["healthy"]) as h, Recording.open(glazer_pair["hypertonic"]) as x:
        hs, xs = h.meta["summary"], x.meta["summary"]
    assert xs["resting_tone_uv"] > 2 * hs["resting_tone_uv"]
    assert xs["release_latency_s"] > hs["release_latency_s"] + 0.5


def test_unknown_protocol_is_one_line(tmp_path):
    r = run_cli("record", "--protocol", "yoga", "--speed", "max", "--out", "y.bfr", cwd=tmp_path)
    assert "yoga" in assert_one_line_error(r)
    assert not (tmp_path / "y.bfr").exists()


def test_record_with_a_client_files_the_session_in_her_history(tmp_path):
    lib = tmp_path / "lib.sqlite"
    assert run_cli("clients", "Maria", "--add", "--library", lib).returncode == 0
    r = run_cli("record", "--source", "sim:hypertonic?seed=2", "--protocol", "quick-flicks", "--speed", "max",
                "--client", "Maria", "--library", lib, "--out", "m.bfr", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "filed in Maria's history" in r.stdout
    h = run_cli("history", "Maria", "--json", "--library", lib)
    assert h.returncode == 0, h.stderr
    import json
    history = json.loads(h.stdout)
    assert len(history["sessions"]) == 1
    assert history["sessions"][0]["protocol"] == "quick-flicks"


def test_replay_records_the_whole_file_by_default_and_says_where_it_came_from(tmp_path):
    record_headless("sim:healthy?seed=1", tmp_path / "a.bfr", 3.0, speed=None)
    r = run_cli("record", "--source", f"replay:{tmp_path / 'a.bfr'}", "--speed", "max", "--out", "b.bfr", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    with Recording.open(tmp_path / "a.bfr") as a, Recording.open(tmp_path / "b.bfr") as b:
        assert b.n_samples == a.n_samples == 6000
        assert b.meta["replayed_from"].endswith("a.bfr")
