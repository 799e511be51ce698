"""First versus latest: two Glazer assessments of one client laid over each other, their five tonic squeezes
aligned at the squeeze cues, in the window (from the history view) and in the progress report."""
import shutil

import numpy as np
import pytest

from biofeedback.clinic.analysis import analyze
from biofeedback.clinic.library import Library
from biofeedback.reports.overlay import BEFORE_S, align_sessions
from tests.helpers import REPO
from tests.reports.test_reports import pdf_text


@pytest.fixture
def two_assessments(tmp_path):
    """Her first assessment (overactive) and her latest (let go well), filed in a library."""
    first, latest = tmp_path / "first.bfr", tmp_path / "latest.bfr"
    shutil.copyfile(REPO / "recordings" / "hypertonic-glazer.bfr", first)
    shutil.copyfile(REPO / "recordings" / "healthy-glazer.bfr", latest)
    lib = Library.open(tmp_path / "lib.sqlite")
    c = lib.add_client("Cleo")
    lib.add_session(c, first, "2026-09-01T10:00:00", "glazer", 340, analyze(first)["summary"])
    lib.add_session(c, latest, "2026-12-01T10:00:00", "glazer", 340, analyze(latest)["summary"])
    yield lib, first, latest
    lib.close()


def _rise_time(t, y):
    """Seconds from the cue until the curve first passes half its squeeze level."""
    level = 0.5 * np.nanmean(y[(t > 3) & (t < 9)])
    return float(t[np.flatnonzero((t >= 0) & (y >= level))[0]])


def test_overlay_aligns_the_tonic_squeezes_of_two_sessions_at_their_cues(two_assessments):
    _lib, first, latest = two_assessments
    overlay = align_sessions(first, latest)
    assert overlay.phase == "tonic" and len(overlay.pairs) == 5
    truth = {p: [t for t in analyze(p)["trials"] if t["phase"] == "tonic"] for p in (first, latest)}
    for side, path in ((overlay.first, first), (overlay.latest, latest)):
        assert side.t[0] == pytest.approx(-BEFORE_S) and side.squeeze_s == 10.0
        for curve, trial in zip(side.trials, truth[path]):
            # every squeeze rises just after 0 s, at its own onset time: the cues are aligned
            assert _rise_time(side.t, curve) == pytest.approx(trial["onset_latency_s"], abs=0.6)
    # the picture shows what changed: the latest comes back down far sooner after the rest cue
    def after_rest_cue(side):
        return np.nanmean(side.mean[(side.t > 12) & (side.t < 18)])
    assert after_rest_cue(overlay.latest) < 0.5 * after_rest_cue(overlay.first)


def test_history_view_opens_the_overlay_window(qtbot, two_assessments):
    from biofeedback.ui.history import HistoryView
    lib, _first, _latest = two_assessments
    view = HistoryView(lib, "Cleo")
    qtbot.addWidget(view)
    assert view.overlay_button.isEnabled() and view.overlay_button.toolTip()
    win = view.open_overlay()
    qtbot.addWidget(win)
    curves = win.plot.listDataItems()
    assert len(curves) == 12                       # 5 + 5 squeezes and two means
    assert win.overlay.first.label.startswith("first, ") and win.overlay.latest.label.startswith("latest, ")


def test_progress_report_carries_the_first_versus_latest_figure(two_assessments, tmp_path, qapp):
    from biofeedback.reports import progress_report
    lib, _first, _latest = two_assessments
    out = progress_report(lib, "Cleo", tmp_path / "cleo.pdf")
    text = " ".join(pdf_text(out).split())
    assert "First session and latest" in text and "tonic squeeze aligned at its cue" in text
