"""The shipped demo recordings stay readable and analysable as the code changes."""
import pytest

from biofeedback.clinic.analysis import summarize
from biofeedback.files.recording import Recording
from tests.helpers import REPO

DEMOS = sorted((REPO / "recordings").glob("*.bfr"))


def test_there_are_demo_recordings():
    assert len(DEMOS) >= 2
    assert all(p.stat().st_size < 5_000_000 for p in DEMOS)


@pytest.mark.parametrize("path", DEMOS, ids=lambda p: p.name)
def test_demo_opens_cleanly_and_its_stored_summary_matches_the_analysis(path):
    with Recording.open(path) as rec:
        assert rec.closed_cleanly and rec.duration_s > 120
        assert rec.meta["protocol"] and any(e.kind == "step" for e in rec.events)
        stored = rec.meta["summary"]
        fresh = summarize(rec)
    for key in ("resting_tone_uv", "release_latency_s", "contraction_peak_uv"):
        assert fresh[key] == pytest.approx(stored[key], rel=1e-6)
