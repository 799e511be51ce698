"""The review that teaches: a recorded Glazer session shows its steps by name, every squeeze's onset and
release times, the session's measures, zooms to a clicked squeeze, and keeps edited markers in the file."""
import shutil
from pathlib import Path

import pytest
from PySide6 import QtCore

from biofeedback.clinic.analysis import analyze
from biofeedback.files.markers import EDIT_KIND, current_events
from biofeedback.files.recording import Recording

REPO = Path(__file__).resolve().parents[2]
GLAZER = REPO / "recordings" / "hypertonic-glazer.bfr"


@pytest.fixture
def glazer(tmp_path):
    """A recorded Glazer assessment (the demo made by `biofeedback record --protocol glazer`), copied."""
    path = tmp_path / "glazer.bfr"
    shutil.copyfile(GLAZER, path)
    path.chmod(0o600)
    return path


@pytest.fixture
def review(qtbot, glazer):
    from biofeedback.ui.review import ReviewWindow
    win = ReviewWindow(glazer)
    qtbot.addWidget(win)
    win.resize(1400, 820)
    win.show()
    qtbot.waitExposed(win)
    return win


def _texts(plot):
    import pyqtgraph as pg
    return [i.textItem.toPlainText() for i in plot.items if isinstance(i, pg.TextItem)]


def test_review_names_the_steps_and_lists_every_squeeze_with_its_times(review, glazer):
    drawn = _texts(review.detail)
    for name in ("Resting baseline", "Quick flicks", "Tonic squeezes", "Endurance hold", "Resting baseline after"):
        assert name in drawn
    truth = analyze(glazer)["trials"]
    assert review.trial_table.rowCount() == len(truth) == 11
    for row, t in enumerate(truth):
        assert review.trial_table.item(row, 1).text() == f"{t['onset_latency_s']:.2f} s"
        released = review.trial_table.item(row, 2).text()
        assert released == (f"{t['release_latency_s']:.2f} s" if t["release_latency_s"] is not None
                            else "did not let go")
    assert review.trial_table.item(5, 0).text() == "Tonic 1"
    assert review.trial_table.item(5, 0).toolTip().startswith("Tonic squeezes 1")
    measures = {review.measures.item(i, 0).text(): review.measures.item(i, 1).text()
                for i in range(review.measures.rowCount())}
    assert measures["Resting tone"].endswith("µV") and "Release time (mean)" in measures


def test_clicking_a_squeeze_row_zooms_to_it_and_writes_its_times_on_the_trace(review, qtbot, glazer):
    truth = analyze(glazer)["trials"][7]                      # tonic squeeze 3
    rect = review.trial_table.visualRect(review.trial_table.model().index(7, 0))
    qtbot.mouseClick(review.trial_table.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center())
    lo, hi = review.detail_range
    assert lo <= truth["start_s"] < truth["start_s"] + 20 <= hi + 1.1 and hi - lo < 30
    assert f"onset {truth['onset_latency_s']:.2f} s" in review.trial_labels
    assert f"release {truth['release_latency_s']:.2f} s" in review.trial_labels
    assert "Tonic squeezes 3" in review.trial_labels


def test_clicking_a_squeeze_on_the_overview_zooms_to_it(review, qtbot, glazer):
    truth = analyze(glazer)["trials"][6]                      # tonic squeeze 2, 140-150 s
    vb = review.overview.getViewBox()
    scene = vb.mapViewToScene(QtCore.QPointF(truth["start_s"] + 5.0, 5.0))
    pos = review.view.mapFromScene(scene)
    qtbot.mouseClick(review.view.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pos)
    lo, hi = review.detail_range
    assert lo <= truth["start_s"] and truth["start_s"] + 10 <= hi and hi - lo < 30


def test_a_marker_added_renamed_and_deleted_in_review_is_in_the_file_with_the_original_events_intact(review, glazer):
    with Recording.open(glazer) as rec:
        before = [(e.time_s, e.kind, e.label, e.data) for e in rec.events]
    key = review.add_marker(150.0, "cough")
    other = review.add_marker(200.0, "probe moved")
    review.rename_marker(next(m for m in review.markers if m.data["id"] == key), "laughed")
    review.delete_marker(next(m for m in review.markers if m.data["id"] == other))
    with Recording.open(glazer) as rec:
        after = [(e.time_s, e.kind, e.label, e.data) for e in rec.events]
        events = list(rec.events)
    assert [e for e in after if e[1] != EDIT_KIND] == before           # nothing recorded was changed or lost
    assert sorted(e.data["action"] for e in events if e.kind == EDIT_KIND) == ["add", "add", "delete", "rename"]
    markers = [e for e in current_events(events) if e.kind == "marker"]
    assert [(m.time_s, m.label) for m in markers] == [(150.0, "laughed")]
    assert review.marker_list.count() == 1 and "laughed" in review.marker_list.item(0).text()
    assert "1 marker" in review.head.text() and "1 markers" not in review.head.text()


def test_edited_markers_are_in_the_edf_export(glazer, tmp_path):
    import edfio

    from biofeedback.files.edf import export_edf
    from biofeedback.files.markers import add_marker
    add_marker(glazer, 42.0, "cough")
    out = export_edf(glazer, tmp_path / "g.edf")
    texts = [a.text for a in edfio.read_edf(out).annotations]
    assert "marker: cough" in texts and not any(t.startswith(EDIT_KIND) for t in texts)


def test_review_draws_the_recorded_bands_and_release_target(qtbot, glazer):
    from biofeedback.files.recording import update_meta
    from biofeedback.signal.calibration import Bands
    from biofeedback.ui.review import ReviewWindow
    update_meta(glazer, {"bands": Bands(20.0, 35.0, 8.5, mvc=50.0).to_dict()})
    win = ReviewWindow(glazer)
    qtbot.addWidget(win)
    measures = {win.measures.item(i, 0).text(): win.measures.item(i, 1).text() for i in range(win.measures.rowCount())}
    assert measures["Release target"] == "under 8.5 µV" and measures["Contraction band"] == "20.0–35.0 µV"
    assert "bands as recorded" in win.head.text()


def test_squeeze_names_fit_their_column_on_a_laptop(qtbot, qapp, glazer):
    """Walkthrough at 1024 x 640: the squeeze table read "Tonic …" five times over; each name now fits."""
    from biofeedback.ui.review import ReviewWindow
    from biofeedback.ui.theme import LIGHT, apply_theme
    apply_theme(qapp, LIGHT)                       # the application's own font, as the program sets it
    win = ReviewWindow(glazer)
    qtbot.addWidget(win)
    win.resize(1024, 640)
    win.show()
    qtbot.waitExposed(win)
    table = win.trial_table
    width = table.columnWidth(0)
    names = [table.item(row, 0).text() for row in range(table.rowCount())]
    assert len(set(names)) == len(names) == 11
    for name in names:
        assert table.fontMetrics().horizontalAdvance(name) + 8 <= width, (name, width)
