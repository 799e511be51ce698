"""A recording's chain settings read from its meta, and its envelope computed offline as live."""
from __future__ import annotations

import numpy as np
import pytest

from biofeedback.files.offline import chain_settings_from_meta, recording_envelope
from biofeedback.files.recording import Recording, RecordingWriter
from biofeedback.signal.chain import ChainSettings, envelope_offline
from biofeedback.stream import Block, Channel, StreamInfo

NARROW = {"bandpass_hz": [30.0, 300.0], "rms_window_s": 0.1, "notch_hz": 50}


@pytest.mark.parametrize("meta, expected", [
    ({}, ChainSettings()),
    (None, ChainSettings()),
    ({"chain": NARROW}, ChainSettings.from_dict(NARROW)),
    ({"chain_settings": NARROW}, ChainSettings.from_dict(NARROW)),     # an older spelling
    ({"settings": NARROW}, ChainSettings.from_dict(NARROW)),
    ({"chain": NARROW, "settings": {"rms_window_s": 0.5}}, ChainSettings.from_dict(NARROW)),  # chain first
    ({"chain": {"bandpass_hz": [300, 30]}, "chain_settings": NARROW}, ChainSettings.from_dict(NARROW)),
    ({"chain": {"rms_window_s": 99}}, ChainSettings()),          # impossible: the defaults, not a refusal
    ({"chain": {"bandpass_hz": "wide"}}, ChainSettings()),
    ({"chain": "20-450"}, ChainSettings()),
    ({"chain": {"tare": {"pressure": 12.5}}}, ChainSettings(tare={"pressure": 12.5})),
])
def test_chain_settings_from_meta(meta, expected):
    assert chain_settings_from_meta(meta) == expected


def test_recording_envelope_uses_the_recorded_settings(tmp_path):
    rate = 1000.0
    info = StreamInfo((Channel("pfm"),), rate, source="test")
    rng = np.random.default_rng(1)
    data = rng.normal(0.0, 10.0, (4000, 1))
    path = tmp_path / "r.bfr"
    with RecordingWriter(path, info, {"chain": NARROW}) as w:
        w.append(Block(0, data))
    with Recording.open(path) as rec:
        env = recording_envelope(rec)
        stored = rec.read()
        assert np.array_equal(recording_envelope(rec, stored), env)
    _f, expected = envelope_offline(stored, info, ChainSettings.from_dict(NARROW))
    _f, default = envelope_offline(stored, info, ChainSettings())
    assert env.shape == (4000, 1)
    np.testing.assert_allclose(env, expected)
    assert not np.allclose(env, default)      # the recorded settings, not the defaults
