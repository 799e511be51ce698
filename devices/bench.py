"""Decoder throughput: how many samples per second each decoder turns out, in realistic read sizes.

``bench_decoders()`` returns figures for ``biofeedback bench`` (or any caller); it is not a test.
A device needs its own rate (250-1000 samples/s); the margin is the ratio of the two.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from devices import bitalino, cyton, openeeg, text
from devices.bitalino import BitalinoDecoder
from devices.cyton import CytonDecoder
from devices.decoders import Decoder
from devices.openeeg import P2Decoder
from devices.text import TextLineDecoder


def _streams(seconds: float, rng: np.random.Generator) -> dict[str, tuple[bytes, Callable[[], Decoder], float]]:
    n_cyton, n_p2, n_text, n_bit = int(250 * seconds), int(256 * seconds), int(1000 * seconds), int(1000 * seconds)
    return {
        "cyton (250 Hz)": (cyton.encode(rng.integers(-2 ** 23, 2 ** 23, (n_cyton, 8))), CytonDecoder, 250.0),
        "openeeg-p2 (256 Hz)": (openeeg.encode(rng.integers(0, 1024, (n_p2, 6))), P2Decoder, 256.0),
        "text with counter (1000 Hz)": (text.encode(rng.integers(0, 1024, (n_text, 1)), counter_start=0),
                                        lambda: TextLineDecoder(columns=1, counter=True), 1000.0),
        "bitalino 1 channel (1000 Hz)": (bitalino.encode(rng.integers(0, 1024, (n_bit, 1))),
                                         lambda: BitalinoDecoder(1), 1000.0),
    }


def bench_decoders(seconds: float = 20.0, read_size: int = 256) -> dict[str, dict[str, float]]:
    """Decode ``seconds`` of each device's stream in ``read_size``-byte reads; samples per second and margin."""
    figures = {}
    for name, (data, make, rate) in _streams(seconds, np.random.default_rng(0)).items():
        decoder = make()
        t0 = time.perf_counter()
        n = 0
        for i in range(0, len(data), read_size):
            n += decoder.feed(data[i:i + read_size]).n
        elapsed = time.perf_counter() - t0
        figures[name] = {"samples_per_s": n / elapsed, "real_time_margin": n / elapsed / rate,
                         "cpu_share_at_device_rate": rate * elapsed / max(n, 1)}
    return figures


if __name__ == "__main__":  # python -m devices.bench
    for name, f in bench_decoders().items():
        print(f"{name:30s} {f['samples_per_s']:>10.0f} samples/s  x{f['real_time_margin']:.0f} real time  "
              f"{100 * f['cpu_share_at_device_rate']:.2f} % of a core at the device's rate")
