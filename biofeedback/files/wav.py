"""``biofeedback sound``: what she would have heard during a recorded session, as a WAV file.

For the therapist to listen to, and for the tests of the synthesiser: the same
signal chain as live gives the envelope, the recorded bands give the scale and
the release target, the recorded steps give the chimes and the breathing pace.
"""
from __future__ import annotations

import os
import wave
from pathlib import Path

from biofeedback.errors import UserError
from biofeedback.files.offline import recording_envelope
from biofeedback.files.outputs import atomic_output, new_output
from biofeedback.files.recording import Recording
from biofeedback.signal.calibration import Bands, placeholder_bands
from biofeedback.signal.sound import AUDIO_RATE, MODES, StepCue, Synthesiser, render_session, scale_from_bands, to_pcm16
from biofeedback.stream import primary_channel


def _bands(meta: dict, unit: str, channel: str) -> Bands:
    try:
        bands = Bands.from_dict(meta["bands"])
        if bands.unit == unit:
            return bands
    except (KeyError, TypeError, ValueError):
        pass
    return placeholder_bands(unit, channel)


def _steps(rec: Recording) -> list[StepCue]:
    out = []
    for e in rec.events:
        if e.kind != "step":
            continue
        bpm = e.data.get("breathing_bpm") if isinstance(e.data, dict) else None
        out.append(StepCue(float(e.time_s), float(bpm) if isinstance(bpm, (int, float)) and bpm > 0 else None))
    return out


def render_recording(path: str | os.PathLike, out: str | os.PathLike, mode: str = "pitch",
                     volume: float = 0.6, rate: int = AUDIO_RATE) -> Path:
    """Write a mono 16-bit WAV of ``mode``'s sound for the recording at ``path``; never over an existing file."""
    if mode not in MODES:
        raise UserError(f"unknown sound mode {mode!r}; choose {', '.join(MODES)}")
    target = new_output(out, inputs=[path], suffixes=[".wav"], what="sound")
    with Recording.open(path) as rec:                      # a damaged file is one clear line (RecordingError)
        data, info, meta, steps = rec.read(), rec.info, dict(rec.meta or {}), _steps(rec)
        env = recording_envelope(rec, data) if data.shape[0] else data   # the session's own chain settings
    if data.shape[0] == 0:
        raise UserError(f"{path} holds no samples; there is nothing to listen to")
    col = primary_channel(info)
    ch = info.channels[col]
    bands = _bands(meta, ch.unit, ch.name)
    scale = scale_from_bands(bands.contraction_high, bands.release_high, bands.zero, bands.mvc)
    synth = Synthesiser(mode, rate=rate, volume=volume, scale=scale)
    with atomic_output(target) as tmp, wave.open(str(tmp), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        for block in render_session(env[:, col], info.rate, steps, synth):
            wav.writeframes(to_pcm16(block))
    return target
