"""OpenBCI Cyton: 33-byte packets at 250 Hz, 115200 baud.

Packet: ``0xA0``, sample counter, 8 channels x 24-bit big-endian two's complement,
6 aux bytes, footer ``0xC0``-``0xCF``. ``0xA0`` also occurs inside data, so a
packet is only taken where a header and a footer lie 32 bytes apart and either
its counter is the one expected next or the following packet lines up as well
(so the first packet, and the first after a loss, is emitted one packet late).
Samples are ADC counts; µV = counts x :func:`uv_per_count`.
"""
from __future__ import annotations

import numpy as np

from devices.base import DecodeResult, PacketDecoder, RowCollector

HEADER = 0xA0
FOOTER = 0xC0
PACKET = 33
N_CHANNELS = 8
RATE = 250.0
BAUD = 115200
FULL_SCALE = 2 ** 23 - 1
VREF = 4.5


def uv_per_count(gain: float = 24.0) -> float:
    """µV per ADC count: 4.5 V / gain / (2^23 - 1) x 1e6 (about 0.02235 at gain 24)."""
    return VREF / gain / FULL_SCALE * 1e6


def _is_footer(b: int) -> bool:
    return 0xC0 <= b <= 0xCF


def _channels(packet: bytes | bytearray) -> np.ndarray:
    raw = np.frombuffer(bytes(packet[2:26]), dtype=np.uint8).reshape(N_CHANNELS, 3).astype(np.int32)
    value = (raw[:, 0] << 16) | (raw[:, 1] << 8) | raw[:, 2]
    return np.where(value >= 1 << 23, value - (1 << 24), value).astype(np.float64)


class CytonDecoder(PacketDecoder):
    """Incremental decoder; see :mod:`devices.base` for the result contract."""

    n_columns = N_CHANNELS

    def feed(self, data: bytes) -> DecodeResult:
        buf = self._buf
        buf += data
        out = RowCollector(N_CHANNELS)
        i, n = 0, len(buf)
        while i < n:
            j = buf.find(HEADER, i)
            if j < 0:
                out.skipped_bytes += n - i
                self._in_sync = False
                i = n
                break
            if j > i:
                out.skipped_bytes += j - i
                self._in_sync = False
            i = j
            if n - i < PACKET:
                break
            if not _is_footer(buf[i + PACKET - 1]):
                out.skipped_bytes += 1
                self._in_sync = False
                i += 1
                continue
            counter = buf[i + 1]
            if counter != self._counter.expected:
                # not the packet we expect next: accept only if the next packet lines up as well
                if n - i < 2 * PACKET:
                    break
                if not (buf[i + PACKET] == HEADER and _is_footer(buf[i + 2 * PACKET - 1])):
                    out.skipped_bytes += 1
                    self._in_sync = False
                    i += 1
                    continue
            lost = self._counter.step(counter)
            out.add_gap(lost or 0)
            out.add(_channels(buf[i:i + PACKET]))
            self._in_sync = True
            i += PACKET
        del buf[:i]
        return out.result()


def encode(counts: np.ndarray, counter_start: int = 0, aux: bytes = bytes(6)) -> bytes:
    """Cyton packets for ``counts`` (n, 8) integer ADC counts, counters from ``counter_start`` (mod 256)."""
    counts = np.asarray(counts, dtype=np.int64).reshape(-1, N_CHANNELS)
    counts = np.clip(counts, -(1 << 23), (1 << 23) - 1) & 0xFFFFFF
    n = counts.shape[0]
    out = np.zeros((n, PACKET), dtype=np.uint8)
    out[:, 0] = HEADER
    out[:, 1] = (counter_start + np.arange(n)) % 256
    body = np.stack([(counts >> 16) & 0xFF, (counts >> 8) & 0xFF, counts & 0xFF], axis=-1).reshape(n, 24)
    out[:, 2:26] = body
    out[:, 26:32] = np.frombuffer(bytes(aux[:6]).ljust(6, b"\0"), dtype=np.uint8)
    out[:, 32] = FOOTER
    return out.tobytes()
