import os
import shutil
import sqlite3
import stat

import numpy as np
import pytest

from biofeedback.errors import RecordingError, UserError
from biofeedback.files.recording import Recording, RecordingWriter, describe
from biofeedback.stream import Block, Channel, Event, StreamInfo

INFO = StreamInfo((Channel("pfm"), Channel("pressure", "pressure", "cmH2O")), 500.0, source="test", device="unit")


def _write(path, blocks, events=(), meta=None, close=True):
    w = RecordingWriter(path, INFO, meta or {"client": "A.B."})
    for b in blocks:
        w.append(b)
    for e in events:
        w.add_event(e)
    if close:
        w.close()
    return w


def test_round_trip_of_samples_events_and_meta(tmp_path):
    x = np.random.default_rng(0).standard_normal((1733, 2)) * 30
    path = tmp_path / "s.bfr"
    _write(path, [Block(0, x[:700]), Block(700, x[700:])],
           [Event(1.0, "marker", "pain 3/10"), Event(2.5, "step", "Let go", {"band": "release"})],
           meta={"client": "A.B.", "protocol": "glazer"})
    with Recording.open(path) as rec:
        assert rec.info == INFO
        assert rec.n_samples == 1733 and rec.duration_s == pytest.approx(1733 / 500)
        np.testing.assert_allclose(rec.read(), x.astype(np.float32))
        np.testing.assert_allclose(rec.read(100, 1200), x[100:1200].astype(np.float32))
        assert [(e.kind, e.label) for e in rec.events] == [("marker", "pain 3/10"), ("step", "Let go")]
        assert rec.events[1].data == {"band": "release"}
        assert rec.meta["client"] == "A.B." and rec.meta["protocol"] == "glazer"
        assert rec.closed_cleanly
        assert "closed cleanly" in describe(rec)
    assert not os.path.exists(str(path) + "-wal"), "a closed recording is one self-contained file"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_index_jumps_are_recorded_as_nan_gaps(tmp_path):
    path = tmp_path / "g.bfr"
    _write(path, [Block(0, np.ones((100, 2))), Block(150, np.ones((100, 2)))])
    with Recording.open(path) as rec:
        data = rec.read()
    assert data.shape == (250, 2)
    assert np.isnan(data[100:150]).all() and not np.isnan(data[150:]).any()


def test_an_unclosed_file_opens_and_says_so(tmp_path):
    path = tmp_path / "open.bfr"
    w = _write(path, [Block(0, np.zeros((1200, 2)))], close=False)  # 2.4 s: two rows committed
    with Recording.open(path) as rec:
        assert not rec.closed_cleanly
        assert rec.n_samples >= 1000
        assert "NOT closed cleanly" in describe(rec)
    w.close()


def test_closed_recording_opens_from_a_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    _write(folder / "r.bfr", [Block(0, np.zeros((10, 2)))])
    folder.chmod(0o500)
    try:
        with Recording.open(folder / "r.bfr") as rec:
            assert rec.n_samples == 10
    finally:
        folder.chmod(0o700)


def test_never_overwrites(tmp_path):
    path = tmp_path / "x.bfr"
    path.write_bytes(b"precious")
    with pytest.raises(UserError, match="already exists"):
        RecordingWriter(path, INFO)
    assert path.read_bytes() == b"precious"


@pytest.mark.parametrize("content,match", [
    (b"", "not a biofeedback recording"),
    (b"hello, this is a text file" * 10, "not a biofeedback recording"),
])
def test_not_a_recording(tmp_path, content, match):
    path = tmp_path / "bad.bfr"
    path.write_bytes(content)
    with pytest.raises(RecordingError, match=match):
        Recording.open(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(RecordingError, match="no such recording"):
        Recording.open(tmp_path / "nope.bfr")
    with pytest.raises(RecordingError, match="folder"):
        Recording.open(tmp_path)


def test_truncated_and_corrupted_files_give_a_clear_error(tmp_path):
    good = tmp_path / "good.bfr"
    _write(good, [Block(0, np.random.default_rng(1).standard_normal((20000, 2)))])
    size = good.stat().st_size
    truncated = tmp_path / "t.bfr"
    truncated.write_bytes(good.read_bytes()[: size // 3])
    with pytest.raises(RecordingError):
        with Recording.open(truncated) as rec:
            rec.read()
    corrupted = tmp_path / "c.bfr"
    data = bytearray(good.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    corrupted.write_bytes(bytes(data))
    with pytest.raises(RecordingError):
        with Recording.open(corrupted) as rec:
            rec.read()


def test_other_sqlite_files_and_newer_formats_are_refused(tmp_path):
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(RecordingError, match="damaged|not a biofeedback"):
        Recording.open(other)
    newer = tmp_path / "newer.bfr"
    _write(newer, [Block(0, np.zeros((5, 2)))])
    db = sqlite3.connect(newer)
    db.execute("UPDATE meta SET value='99' WHERE key='format_version'")
    db.commit()
    db.close()
    with pytest.raises(RecordingError, match="newer version"):
        Recording.open(newer)


def test_full_disk_keeps_what_was_recorded(tmp_path):
    path = tmp_path / "full.bfr"
    w = RecordingWriter(path, INFO)
    w.append(Block(0, np.ones((1000, 2))))
    db = w._db
    db.execute(f"PRAGMA max_page_count={db.execute('PRAGMA page_count').fetchone()[0]}")  # no room to grow
    with pytest.raises(UserError, match="full"):
        w.append(Block(1000, np.ones((50000, 2))))
    shutil.copy(path, tmp_path / "copy.bfr")
    with Recording.open(path) as rec:
        assert rec.n_samples >= 1000
        np.testing.assert_array_equal(rec.read(0, 1000), np.ones((1000, 2)))


def test_a_failed_start_leaves_no_file_behind(tmp_path, monkeypatch):
    import biofeedback.files.recording as recording

    def broken_connect(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(recording.sqlite3, "connect", broken_connect)
    with pytest.raises(UserError, match="full"):
        RecordingWriter(tmp_path / "x.bfr", INFO)
    assert list(tmp_path.iterdir()) == []
