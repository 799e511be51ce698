import threading
import time

import numpy as np
import pytest

from biofeedback.files.recording import Recording
from biofeedback.session.engine import RingBuffer, SessionEngine
from biofeedback.sources import open_source
from biofeedback.stream import Event


def _wait(cond, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_ring_buffer_keeps_the_newest_rows_in_order():
    ring = RingBuffer(5, 1)
    ring.write(np.arange(3.0)[:, None])
    np.testing.assert_array_equal(ring.last(10)[:, 0], [0, 1, 2])
    ring.write(np.arange(3.0, 9.0)[:, None])
    np.testing.assert_array_equal(ring.last(5)[:, 0], [4, 5, 6, 7, 8])
    np.testing.assert_array_equal(ring.last(2)[:, 0], [7, 8])
    ring.write(np.arange(100.0)[:, None])
    np.testing.assert_array_equal(ring.last(5)[:, 0], [95, 96, 97, 98, 99])


def test_engine_records_exact_duration_with_markers_and_snapshots(tmp_path):
    src = open_source("sim:healthy?seed=3&abd=1", speed=None)
    engine = SessionEngine(src, buffer_s=10.0)
    writer = engine.start_recording(tmp_path / "e.bfr", {"client": "test"}, duration_s=12.0)
    engine.start()
    _wait(lambda: engine.time_s > 2.0)
    engine.add_marker("first")
    engine.add_event(Event(engine.time_s, "step", "Contract gently", {"band": "contraction"}))
    assert engine.recording_finished.wait(20.0)
    snap = engine.snapshot(5.0, raw=True)
    assert snap.envelope.shape[1] == 2 and snap.envelope.shape[0] >= 900
    assert np.all(np.diff(snap.t) > 0) and snap.t[-1] <= snap.time_s
    assert snap.filtered.shape == (10000, 2)
    assert np.isfinite(snap.current()).all()
    engine.stop()
    assert writer.closed
    with Recording.open(tmp_path / "e.bfr") as rec:
        assert rec.n_samples == 24000
        assert rec.closed_cleanly and rec.meta["client"] == "test" and "chain" in rec.meta
        assert [e.kind for e in rec.events] == ["marker", "step"]
        assert rec.events[0].label == "first"


def test_snapshots_from_another_thread_never_block_recording(tmp_path):
    src = open_source("sim:hypertonic?seed=1", speed=None)
    engine = SessionEngine(src)
    engine.start_recording(tmp_path / "busy.bfr", duration_s=30.0)
    engine.start()
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            engine.snapshot(10.0, raw=True)

    t = threading.Thread(target=reader)
    t.start()
    try:
        assert engine.recording_finished.wait(30.0)
    finally:
        stop.set()
        t.join()
        engine.stop()
    with Recording.open(tmp_path / "busy.bfr") as rec:
        assert rec.n_samples == 60000 and not np.isnan(rec.read()).any()


def test_replay_seek_restarts_the_view_buffers(tmp_path):
    from biofeedback.session.headless import record_headless
    record_headless("sim:healthy?seed=2", tmp_path / "r.bfr", 20.0, speed=None)
    src = open_source(f"replay:{tmp_path / 'r.bfr'}", speed=None)
    engine = SessionEngine(src)
    engine.start()
    _wait(lambda: src.finished)
    src.seek(5.0)
    _wait(lambda: engine.time_s < 20.0 or src.finished)
    _wait(lambda: src.finished and engine.time_s == 20.0)
    snap = engine.snapshot(60.0)
    assert snap.t[0] >= 5.0 - 1e-9
    engine.stop()


def test_a_failing_disk_stops_recording_but_not_the_session(tmp_path):
    src = open_source("sim", speed=None)
    engine = SessionEngine(src)
    w = engine.start_recording(tmp_path / "d.bfr", duration_s=600)
    engine.start()
    _wait(lambda: w.n_samples > 4000)
    w._db.execute(f"PRAGMA max_page_count={w._db.execute('PRAGMA page_count').fetchone()[0]}")
    _wait(lambda: engine.error is not None)
    assert "full" in engine.error and engine.recording is None
    t = engine.time_s
    _wait(lambda: engine.time_s > t + 1.0)  # the live view goes on
    engine.stop()
    with Recording.open(tmp_path / "d.bfr") as rec:
        assert rec.n_samples >= 4000


def test_recording_started_mid_session_has_its_own_timeline(tmp_path):
    src = open_source("sim:healthy?seed=4", speed=8.0)
    engine = SessionEngine(src)
    engine.start()
    _wait(lambda: engine.time_s > 3.0)
    engine.start_recording(tmp_path / "mid.bfr", duration_s=4.0)
    t0 = engine.recording_start_s
    _wait(lambda: engine.time_s > t0 + 1.0)
    mark = engine.add_marker("one second in")
    assert engine.recording_finished.wait(20.0)
    engine.stop()
    with Recording.open(tmp_path / "mid.bfr") as rec:
        assert rec.n_samples == 8000
        assert not np.isnan(rec.read()).any()
        assert rec.events[0].time_s == pytest.approx(mark.time_s - t0)
        assert 1.0 <= rec.events[0].time_s < 4.0


def test_a_snapshot_pulls_in_what_has_arrived_without_waiting_for_the_thread(tmp_path):
    from biofeedback.sources.patient import SimulatedPatient
    from biofeedback.sources.sim import SimSource

    class Clock:
        t = 0.0

        def __call__(self):
            return self.t

    clock = Clock()
    src = SimSource(SimulatedPatient("healthy", rate=1000), speed=1.0, clock=clock)
    engine = SessionEngine(src, poll_s=3600.0)  # the thread itself will not poll again
    engine.start()
    _wait(lambda: engine.time_s == 0.0)
    clock.t = 0.5
    snap = engine.snapshot(1.0)
    assert snap.end_index == 500 and snap.time_s == pytest.approx(0.5)
    assert snap.arrival == pytest.approx(0.5)  # when the newest sample became due
    engine.stop()


def test_zeroing_a_pressure_channel_applies_to_the_display_and_is_recorded(tmp_path):
    src = open_source("sim:healthy?pressure=1&emg=0&seed=1", speed=8.0)
    engine = SessionEngine(src)
    engine.start_recording(tmp_path / "p.bfr", duration_s=10.0)
    engine.start()
    _wait(lambda: engine.time_s > 2.0)
    before = float(np.nanmean(engine.snapshot(0.5).envelope[:, 0]))
    assert 20.0 < before < 30.0  # resting pressure of the healthy profile, un-zeroed
    offset = engine.zero_pressure("pressure")
    assert offset == pytest.approx(before, abs=1.5)
    t0 = engine.time_s
    _wait(lambda: engine.time_s > t0 + 1.0)
    after = float(np.nanmean(engine.snapshot(0.3).envelope[:, 0]))
    assert abs(after) < 1.5
    assert engine.recording_finished.wait(20)
    engine.stop()
    with Recording.open(tmp_path / "p.bfr") as rec:
        assert float(np.nanmean(rec.read()[-1000:, 0])) > 15.0  # the file keeps the raw pressure
        tare = [e for e in rec.events if e.kind == "tare"]
        assert tare and tare[0].data["offset"] == pytest.approx(offset)
    with pytest.raises(Exception, match="only a pressure channel"):
        SessionEngine(open_source("sim", speed=None)).chain.set_tare("pfm", 1.0)
