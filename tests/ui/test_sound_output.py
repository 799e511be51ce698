"""The live sound output: a real PortAudio stream on ALSA's null device (PLATFORM.md), else skipped with the reason.

The null device accepts a stream like a sound card but plays nothing, so these tests run on machines
without a sound card; where neither it nor a real device exists they are skipped, saying why.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

from biofeedback.signal.sound import SoundScale
from biofeedback.ui.sound_output import NO_DEVICE, SoundOutput, measure_latency
from tests.ui.audio_helpers import output_device


@pytest.fixture(scope="module")
def audio_device(tmp_path_factory):
    """A PortAudio output device: the machine's own, else ALSA's null device, else skipped with the reason."""
    with output_device(tmp_path_factory.mktemp("alsa")) as name:
        yield name


def test_live_stream_plays_the_synthesiser_and_follows_the_level(audio_device):
    out = SoundOutput("pitch", volume=0.5, scale=SoundScale(0.0, 8.0, 50.0))
    heard: list[tuple[float, float]] = []
    out._probe = lambda now, ahead, level, smoothed, first, frames: heard.append((level, smoothed))
    out.set_level(2.0)
    assert out.start(), out.unavailable
    try:
        deadline = time.monotonic() + 5.0
        while out.blocks_played < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert out.playing and out.blocks_played >= 5
        out.set_level(40.0)
        while not any(s > 35.0 for _, s in heard) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert any(s > 35.0 for _, s in heard)           # the sound followed the new level
        assert 0.0 <= out.output_latency_s < 0.1
    finally:
        out.stop()
    assert not out.playing


def test_latency_is_measured_on_the_device(audio_device):
    figures = measure_latency(trials=3)
    assert figures is not None
    assert figures["sound_trials"] >= 1 and np.isfinite(figures["sound_latency_ms_p50"])


def test_no_device_says_so_once_and_goes_on_silently():
    """A device that is not there (as on a machine without sound): one status line, then silence, no error."""
    said: list[str] = []
    out = SoundOutput("relax", on_status=said.append, device="no such sound card")
    assert out.start() is False
    assert out.start() is False
    out.set_level(30.0)
    out.chime()
    out.stop()
    assert said == [NO_DEVICE] and not out.playing
