"""The ``--source`` text: is it a replay, and how it reads in plain words (one rule each)."""
from __future__ import annotations

import numpy as np
import pytest

from biofeedback.files.recording import RecordingWriter
from biofeedback.sources import describe_source, is_replay, open_source, parse_spec
from biofeedback.stream import Block, Channel, StreamInfo


@pytest.mark.parametrize("text, replay", [
    ("replay:/tmp/a.bfr", True),
    ("REPLAY:C:/sessions/a.bfr?x=1", True),
    (" replay:a.bfr", True),
    ("sim", False),
    ("sim:hypertonic?abd=1", False),
    ("serial:/dev/ttyUSB0?device=replay", False),
    ("", False),
    ("replay:a.bfr?bad&&=", False),          # does not parse: no source at all
    (None, False),
])
def test_is_replay_from_the_text(text, replay):
    assert is_replay(text) is replay
    if text:
        try:
            spec = parse_spec(text)
        except Exception:
            return
        assert is_replay(spec) is replay


def test_is_replay_from_an_opened_source(tmp_path):
    path = tmp_path / "r.bfr"
    with RecordingWriter(path, StreamInfo((Channel("pfm"),), 100.0, source="test")) as w:
        w.append(Block(0, np.zeros((50, 1))))
    replay = open_source(f"replay:{path}")
    sim = open_source("sim", speed=None)
    try:
        assert is_replay(replay) and not is_replay(sim)
    finally:
        replay.close()


@pytest.mark.parametrize("text, words", [
    ("sim", "Simulated patient · healthy"),
    ("sim:hypertonic?abd=1&seed=3", "Simulated patient · hypertonic"),
    ("SIM:weak", "Simulated patient · weak"),
    ("replay:/home/me/sessions/2026-11-30.bfr", "Replay · 2026-11-30.bfr"),
    ("replay:/tmp/with?speed=2", "Replay · with"),
    ("serial:/dev/ttyUSB0?device=openbci-cyton&baud=115200", "Sensor · /dev/ttyUSB0 (openbci-cyton)"),
    ("serial:/dev/ttyACM0?baud=9600&device=arduino-emg", "Sensor · /dev/ttyACM0 (arduino-emg)"),
    ("serial:COM3", "Sensor · COM3"),
    ("lsl:stream", "lsl:stream"),
    ("", ""),
])
def test_describe_source(text, words):
    assert describe_source(text) == words
    if text:
        assert describe_source(parse_spec(text)) == words
