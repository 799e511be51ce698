"""Live sound: a PortAudio callback stream (``sounddevice``) fed by the synthesiser from the envelope.

The window hands over the newest envelope value each frame (:meth:`SoundOutput.set_level`); the
audio callback renders small blocks (256 samples, about 6 ms) from the synthesiser with
``latency='low'``, so from envelope to sound stays well inside 100 ms (``biofeedback bench``
measures it). Without PortAudio or without an output device the program says so once and goes
on in silence: sound is a help, never a reason to stop practising.

No Qt here, so the same object serves the window, home mode and the benchmark.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from biofeedback.signal.sound import MODES, SoundScale, Synthesiser

OUTPUT_RATE = 44100
BLOCKSIZE = 256
NO_DEVICE = "No sound output was found, so practice goes on in silence."


def _sounddevice():
    """The ``sounddevice`` module, or None (not installed, or PortAudio missing: it raises OSError on import)."""
    try:
        import sounddevice
    except (ImportError, OSError):
        return None
    return sounddevice


def output_device_available() -> tuple[bool, str]:
    """(True, name) when PortAudio has a default output device, else (False, why)."""
    sd = _sounddevice()
    if sd is None:
        return False, "the sounddevice module or the PortAudio library (libportaudio2) is not installed"
    try:
        dev = sd.query_devices(kind="output")
    except Exception as exc:  # PortAudio reports "no device" in several ways
        return False, f"PortAudio has no output device ({exc})"
    return True, str(dev.get("name", "default"))


class SoundOutput:
    """The synthesiser on a live output stream; every setter is safe to call from the GUI thread."""

    def __init__(self, mode: str = "relax", volume: float = 0.5, scale: SoundScale | None = None,
                 pacer: bool = False, rate: int = OUTPUT_RATE, blocksize: int = BLOCKSIZE,
                 on_status: Callable[[str], None] | None = None, device: int | str | None = None) -> None:
        self.rate, self.blocksize, self.device = int(rate), int(blocksize), device
        self.synth = Synthesiser(mode, rate=self.rate, volume=volume, scale=scale, pacer=pacer)
        self._lock = threading.Lock()
        self._level = float("nan")
        self._stream = None
        self._on_status = on_status or (lambda text: None)
        self.unavailable: str | None = None       # why there is no sound (said once)
        self.blocks_played = 0
        self.samples_played = 0
        self._probe: Callable[..., None] | None = None   # the benchmark's listener

    # ------------------------------------------------------------------ life
    def start(self) -> bool:
        """Open the output stream; False (and one status line) when there is no sound output."""
        if self._stream is not None:
            return True
        if self.unavailable is not None:
            return False
        sd = _sounddevice()
        if sd is None:
            return self._no_sound()
        try:
            stream = sd.OutputStream(device=self.device, samplerate=self.rate, blocksize=self.blocksize, channels=1,
                                     dtype="float32", latency="low", callback=self._callback)
            stream.start()
        except Exception:  # no device, busy device, unsupported rate: all mean silence
            return self._no_sound()
        self._stream = stream
        return True

    def _no_sound(self) -> bool:
        self.unavailable = NO_DEVICE
        self._on_status(NO_DEVICE)
        return False

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except Exception:  # a device unplugged while playing: nothing left to stop
                pass

    @property
    def playing(self) -> bool:
        return self._stream is not None and bool(self._stream.active)

    @property
    def output_latency_s(self) -> float:
        """PortAudio's reported output latency (device and its buffers), 0 when not playing."""
        return float(self._stream.latency) if self._stream is not None else 0.0

    # ------------------------------------------------------------------ control (GUI thread)
    def set_level(self, value: float) -> None:
        """The newest envelope value; the next audio block follows it."""
        self._level = float(value)

    def set_scale(self, scale: SoundScale) -> None:
        with self._lock:
            self.synth.scale = scale

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown sound mode {mode!r}")
        with self._lock:
            self.synth.mode = mode
            if mode == "pacer":
                self.synth.pacer_on = True

    def set_pacer(self, on: bool) -> None:
        with self._lock:
            self.synth.pacer_on = bool(on) or self.synth.mode == "pacer"

    def set_volume(self, volume: float) -> None:
        with self._lock:
            self.synth.volume = float(np.clip(volume, 0.0, 1.0))

    def set_muted(self, muted: bool) -> None:
        with self._lock:
            self.synth.muted = bool(muted)

    def set_breathing(self, bpm: float | None, phase: float | None = None) -> None:
        with self._lock:
            self.synth.set_breathing(bpm, phase)

    def chime(self) -> None:
        with self._lock:
            self.synth.chime()

    # ------------------------------------------------------------------ audio thread
    def _callback(self, outdata, frames, time_info, status) -> None:  # PortAudio's signature
        level = self._level
        with self._lock:
            block = self.synth.render(level, frames)
            smoothed = self.synth.level_now
        outdata[:, 0] = block
        self.blocks_played += 1
        first_sample, self.samples_played = self.samples_played, self.samples_played + frames
        probe = self._probe
        if probe is not None:
            try:
                ahead = float(time_info.outputBufferDacTime - time_info.currentTime)
            except AttributeError:
                ahead = 0.0
            probe(time.perf_counter(), max(0.0, ahead), level, smoothed, first_sample, frames)


def measure_latency(trials: int = 20, settle_s: float = 0.15, timeout_s: float = 1.0) -> dict[str, float] | None:
    """Envelope-to-sound latency on the default output device, or None without one.

    Each trial hands over a step of the level (rest -> squeeze) and adds up: the wait until the audio
    callback picks the new value up, the audio (in samples, so a device that is not paced in real
    time, such as ALSA's null device, counts as a real one would) until the smoothed level is half-way,
    rounded up to the end of that block, and how far ahead of the loudspeaker the first block was
    (PortAudio's DAC time). The window hands the level over once per frame, so up to one frame
    (16 ms) comes on top of these figures in the live window.
    """
    ok, _ = output_device_available()
    if not ok:
        return None
    out = SoundOutput("pitch", volume=0.0, scale=SoundScale(0.0, 8.0, 50.0))
    done = threading.Event()
    seen: dict[str, float] = {}

    def probe(now: float, ahead: float, level: float, smoothed: float, first: int, frames: int) -> None:
        if "t_pick" not in seen and level >= 50.0:
            seen.update(t_pick=now, ahead=ahead, s_pick=first)
        if "t_pick" in seen and smoothed >= 25.0:
            seen["s_half"] = first + frames
            done.set()

    latencies, ahead_s, waits = [], [], []
    out.set_level(0.0)
    if not out.start():
        return None
    try:
        for _ in range(trials):
            out._probe = None
            out.set_level(0.0)
            time.sleep(settle_s)
            seen.clear()
            done.clear()
            out._probe = probe
            t_set = time.perf_counter()
            out.set_level(50.0)
            if not done.wait(timeout_s):
                continue
            wait = seen["t_pick"] - t_set
            latencies.append(wait + (seen["s_half"] - seen["s_pick"]) / out.rate + seen["ahead"])
            ahead_s.append(seen["ahead"])
            waits.append(wait)
    finally:
        out._probe = None
        out.stop()
    if not latencies:
        return None
    ms = 1000.0 * np.asarray(latencies)
    return {"sound_latency_ms_p50": float(np.percentile(ms, 50)), "sound_latency_ms_p99": float(np.percentile(ms, 99)),
            "sound_device_latency_ms": 1000.0 * float(np.median(ahead_s)),
            "sound_pickup_ms_p50": 1000.0 * float(np.median(waits)),
            "sound_block_ms": 1000.0 * out.blocksize / out.rate, "sound_trials": float(len(latencies))}
