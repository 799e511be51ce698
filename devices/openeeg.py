"""OpenEEG ModularEEG packet format P2, also spoken by the Olimex SHIELD-EKG-EMG.

17 bytes: ``A5 5A`` sync, version ``02``, packet counter, six 10-bit samples as
big-endian uint16, one switches byte. 256 Hz, 57600 baud. ``A5 5A`` cannot occur
inside a packet (high bytes are at most ``0x03``); a packet is taken only where
the version byte is 2 and every high byte is at most 3, and, after skipped bytes,
only if its counter is the one expected next or the next packet's sync follows it. Samples are ADC counts
(0-1023).
"""
from __future__ import annotations

import numpy as np

from devices.base import DecodeResult, PacketDecoder, RowCollector

SYNC = b"\xa5\x5a"
VERSION = 2
PACKET = 17
N_CHANNELS = 6
RATE = 256.0
BAUD = 57600


def _valid(buf: bytearray, i: int) -> bool:
    return buf[i + 2] == VERSION and all(buf[i + 4 + 2 * k] <= 0x03 for k in range(N_CHANNELS))


class P2Decoder(PacketDecoder):
    """Incremental decoder; see :mod:`devices.base` for the result contract."""

    n_columns = N_CHANNELS

    def feed(self, data: bytes) -> DecodeResult:
        buf = self._buf
        buf += data
        out = RowCollector(N_CHANNELS)
        i, n = 0, len(buf)
        while i < n:
            j = buf.find(SYNC, i)
            if j < 0:
                keep = 1 if buf[n - 1] == SYNC[0] else 0  # maybe the first half of a sync
                if n - keep > i:
                    out.skipped_bytes += n - keep - i
                    self._in_sync = False
                i = n - keep
                break
            if j > i:
                out.skipped_bytes += j - i
                self._in_sync = False
            i = j
            if n - i < PACKET:
                break
            if not self._in_sync and buf[i + 3] != self._counter.expected and _valid(buf, i):
                if n - i < PACKET + 2:
                    break
                if buf[i + PACKET:i + PACKET + 2] != SYNC:
                    out.skipped_bytes += 1
                    i += 1
                    continue
            elif not _valid(buf, i):
                out.skipped_bytes += 1
                self._in_sync = False
                i += 1
                continue
            lost = self._counter.step(buf[i + 3])
            out.add_gap(lost or 0)
            words = np.frombuffer(bytes(buf[i + 4:i + 16]), dtype=">u2")
            out.add(words.astype(np.float64))
            self._in_sync = True
            i += PACKET
        del buf[:i]
        return out.result()


def encode(counts: np.ndarray, counter_start: int = 0, switches: int = 0) -> bytes:
    """P2 packets for ``counts`` (n, 6) in 0..1023, counters from ``counter_start`` (mod 256)."""
    counts = np.clip(np.asarray(counts, dtype=np.int64).reshape(-1, N_CHANNELS), 0, 1023)
    n = counts.shape[0]
    out = np.zeros((n, PACKET), dtype=np.uint8)
    out[:, 0], out[:, 1], out[:, 2] = 0xA5, 0x5A, VERSION
    out[:, 3] = (counter_start + np.arange(n)) % 256
    out[:, 4:16:2] = counts >> 8
    out[:, 5:16:2] = counts & 0xFF
    out[:, 16] = switches & 0xFF
    return out.tobytes()
