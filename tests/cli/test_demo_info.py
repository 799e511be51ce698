"""Each demo recording was made with a calibration: `biofeedback info` shows it and the bands it gave,
and the review opens with those bands and release target, not the defaults."""
import pytest

from biofeedback.files.recording import Recording
from tests.helpers import REPO

DEMOS = sorted((REPO / "recordings").glob("*.bfr"))


@pytest.mark.parametrize("path", DEMOS, ids=lambda p: p.name)
def test_info_shows_the_demo_calibration_and_bands(path, cli):
    done = cli("info", path)
    assert done.returncode == 0, done.stderr
    with Recording.open(path) as rec:
        cal, bands = rec.meta["calibration"], rec.meta["bands"]
    assert f"calibration: rest {cal['rest_mean']:.1f} ± {cal['rest_sd']:.1f} uV, maximum {cal['mvc']:.1f} uV" \
        in done.stdout
    assert (f"contraction {bands['contraction_low']:.1f}-{bands['contraction_high']:.1f} uV, release target "
            f"at or below {bands['release_high']:.1f} uV") in done.stdout
    assert bands["contraction_high"] > bands["contraction_low"] > bands["release_high"] > 0
