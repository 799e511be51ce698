import numpy as np
import pytest

from biofeedback.errors import SourceError
from biofeedback.files.recording import Recording, RecordingWriter
from biofeedback.sources import open_source
from biofeedback.sources.replay import ReplaySource
from biofeedback.stream import Block, Channel, Event, StreamInfo

RATE = 1000.0


class ManualClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


@pytest.fixture
def recording(tmp_path):
    path = tmp_path / "r.bfr"
    info = StreamInfo((Channel("pfm"),), RATE, source="test")
    with RecordingWriter(path, info) as w:
        w.append(Block(0, np.arange(20000, dtype=float)[:, None]))
        for t, label in ((0.75, "a"), (5.0, "b"), (12.25, "c")):
            w.add_event(Event(t, "marker", label))
    return path


def _drain(src):
    blocks = src.read()
    return np.concatenate([b.data for b in blocks]) if blocks else np.empty((0, 1)), blocks


def test_replay_is_paced_by_the_recorded_timeline(recording):
    clock = ManualClock()
    src = ReplaySource(Recording.open(recording), speed=2.0, clock=clock)
    src.start()
    clock.t += 0.5
    data, blocks = _drain(src)
    assert data.shape[0] == 1000  # 0.5 s wall at 2x = 1 s of recording
    np.testing.assert_array_equal(data[:, 0], np.arange(1000))
    assert [e.label for e in src.pop_events()] == ["a"]
    src.set_speed(0.25)
    clock.t += 2.0
    data, _ = _drain(src)
    assert data.shape[0] == 500 and data[0, 0] == 1000
    assert src.position_s == pytest.approx(1.5)


def test_pause_seek_and_events_after_seek(recording):
    clock = ManualClock()
    src = ReplaySource(Recording.open(recording), speed=1.0, clock=clock)
    src.start()
    src.pause()
    clock.t += 3.0
    assert _drain(src)[0].shape[0] == 0
    src.seek(10.0)
    src.resume()
    clock.t += 0.5
    data, blocks = _drain(src)
    assert blocks[0].start == 10000 and data[0, 0] == 10000 and data.shape[0] == 500
    clock.t += 2.0
    _drain(src)
    assert [e.label for e in src.pop_events()] == ["c"]
    assert src.next_event_time(5.0) == 12.25
    assert src.previous_event_time(12.0) == 5.0


def test_max_speed_plays_to_the_end_and_finishes(recording):
    src = open_source(f"replay:{recording}", speed=None)
    src.start()
    got = []
    while not src.finished:
        got.extend(src.read())
    data = np.concatenate([b.data for b in got])
    np.testing.assert_array_equal(data[:, 0], np.arange(20000))
    assert [e.label for e in src.pop_events()] == ["a", "b", "c"]
    assert src.read() == [] and src.status.state == "ended"


@pytest.mark.parametrize("speed", [0.1, 32.0])
def test_replay_speed_limits(recording, speed):
    with pytest.raises(SourceError, match="between 0.25x and 16x"):
        open_source(f"replay:{recording}", speed=speed)
