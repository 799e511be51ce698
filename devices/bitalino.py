"""BITalino (r)evolution frames (API mode "BITalino"): 1 to 6 analog channels, 1/10/100/1000 Hz.

A frame has no header. Read as one little-endian integer (its last byte most
significant), its bits from the top are: sequence number (4), CRC-4 (4), the four
digital inputs (4), A1-A4 (10 bits each), A5-A6 (6 bits each), then padding; only
the active channels are present, so a frame is 3 to 8 bytes. The CRC-4
(x^4 + x + 1) runs over the whole frame with its own nibble zeroed.

With no header, a frame is believed only when the next frame follows with a valid
CRC and the next sequence number, or the next two frames are valid and consecutive
(frames lost in between); after lost sync, when the next two frames follow it. A frame
directly followed by garbage therefore cannot be confirmed and counts as one lost
sample (a NaN row), like a frame the link dropped. Samples are ADC counts.
"""
from __future__ import annotations

import math

import numpy as np

from devices.base import DecodeResult, PacketDecoder, RowCollector

RATES = (1.0, 10.0, 100.0, 1000.0)
_WIDTHS = (10, 10, 10, 10, 6, 6)


def frame_size(channels: int) -> int:
    """Bytes per frame for ``channels`` active analog channels (1-6)."""
    if channels <= 4:
        return math.ceil((12 + 10 * channels) / 8)
    return math.ceil((52 + 6 * (channels - 4)) / 8)


def crc4(frame: bytes | bytearray) -> int:
    """CRC-4 (x^4 + x + 1) of a frame whose last byte's low nibble is taken as zero."""
    x = 0
    last = len(frame) - 1
    for k, byte in enumerate(frame):
        if k == last:
            byte &= 0xF0
        for bit in range(7, -1, -1):
            x <<= 1
            if x & 0x10:
                x ^= 0x03
            x ^= (byte >> bit) & 1
    return x & 0x0F


def start_command(rate: float, channels: int) -> bytes:
    """Set-rate command then live-mode start for analog channels A1..A<channels>."""
    code = RATES.index(float(rate))
    mask = (1 << channels) - 1
    return bytes([(code << 6) | 0x03, (mask << 2) | 0x01])


class BitalinoDecoder(PacketDecoder):
    """Incremental decoder; see :mod:`devices.base` for the result contract."""

    counter_modulo = 16  # a 4-bit sequence number

    def __init__(self, channels: int = 1) -> None:
        if not 1 <= int(channels) <= 6:
            raise ValueError(f"BITalino has 1 to 6 analog channels, not {channels}")
        self.n_columns = int(channels)
        self.frame = frame_size(self.n_columns)
        super().__init__()

    def _valid(self, i: int) -> bool:
        frame = self._buf[i:i + self.frame]
        return crc4(frame) == frame[-1] & 0x0F

    def _seq(self, i: int) -> int:
        return self._buf[i + self.frame - 1] >> 4

    def _values(self, i: int) -> list[float]:
        value = int.from_bytes(self._buf[i:i + self.frame], "little")
        shift = 8 * self.frame - 12
        out = []
        for width in _WIDTHS[:self.n_columns]:
            shift -= width
            out.append(float((value >> shift) & ((1 << width) - 1)))
        return out

    def _confirmed(self, i: int, n: int) -> bool | None:
        """Is the CRC-valid frame at ``i`` real? None: not enough bytes yet to say."""
        size, seq = self.frame, self._seq(i)

        def follows(k: int, after: int) -> bool:
            j = i + k * size
            return self._valid(j) and self._seq(j) == (after + 1) % 16

        if self._in_sync and seq == self._counter.expected:
            # in step: the next frame confirms it, or (frames were lost right after it) the next two agree
            if n - i < 2 * size:
                return None
            if follows(1, seq):
                return True
            if n - i < 3 * size:
                return None
            return self._valid(i + size) and follows(2, self._seq(i + size))
        if n - i < 3 * size:
            return None
        return follows(1, seq) and follows(2, (seq + 1) % 16)

    def feed(self, data: bytes) -> DecodeResult:
        buf = self._buf
        buf += data
        out = RowCollector(self.n_columns)
        size = self.frame
        i, n = 0, len(buf)
        while n - i >= size:
            if self._valid(i):
                verdict = self._confirmed(i, n)
                if verdict is None:
                    break  # wait for the frames that confirm this one
                if verdict:
                    seq = self._seq(i)
                    out.add_gap(self._counter.step(seq) or 0)
                    out.add(self._values(i))
                    self._in_sync = True
                    i += size
                    continue
            out.skipped_bytes += 1
            self._in_sync = False
            i += 1
        del buf[:i]
        return out.result()


def encode(counts: np.ndarray, counter_start: int = 0, digital: int = 0) -> bytes:
    """BITalino frames for ``counts`` (n, channels): A1-A4 in 0..1023, A5-A6 in 0..63; seq from ``counter_start``."""
    counts = np.asarray(counts, dtype=np.int64)
    channels = counts.shape[1]
    size = frame_size(channels)
    frames = bytearray()
    for k, row in enumerate(counts):
        value = (((counter_start + k) % 16) << 4 | 0) << 4 | (digital & 0x0F)
        bits = 12
        for width, count in zip(_WIDTHS, row):
            value = (value << width) | (int(min(max(count, 0), (1 << width) - 1)))
            bits += width
        value <<= 8 * size - bits
        frame = bytearray(value.to_bytes(size, "little"))
        frame[-1] |= crc4(frame)
        frames += frame
    return bytes(frames)
