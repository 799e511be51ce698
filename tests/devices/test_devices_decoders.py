"""Decoders: exact round trips, resynchronisation after garbage, loss counts, chunking, no exceptions."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices import bitalino, cyton, openeeg, text
from devices.base import join_results
from devices.bitalino import BitalinoDecoder
from devices.cyton import CytonDecoder
from devices.openeeg import P2Decoder
from devices.text import TextLineDecoder

RNG = np.random.default_rng(7)


def cyton_counts(n, rng=RNG):
    return rng.integers(-(1 << 23), 1 << 23, size=(n, 8))


def p2_counts(n, rng=RNG):
    return rng.integers(0, 1024, size=(n, 6))


def feed_in_chunks(decoder, data: bytes, cuts: list[int]):
    cuts = sorted({c for c in cuts if 0 < c < len(data)})
    bounds = [0, *cuts, len(data)]
    return join_results([decoder.feed(data[a:b]) for a, b in zip(bounds, bounds[1:])],
                        decoder.n_columns or 0)


# ---------------------------------------------------------------- exact round trips

def test_cyton_round_trip_exact_and_scale():
    counts = cyton_counts(500)
    counts[0] = [-(1 << 23), (1 << 23) - 1, 0, -1, 1, 0xA0A0A0 - (1 << 24), 0xC0, 0xA0]
    r = CytonDecoder().feed(cyton.encode(counts, counter_start=250))
    # the first packet waits for the second to confirm it; all arrive, none lost
    np.testing.assert_array_equal(r.samples, counts)
    assert (r.lost, r.skipped_bytes) == (0, 0)
    assert cyton.uv_per_count(24) == pytest.approx(0.022351744455, rel=1e-9)


def test_p2_round_trip_exact():
    counts = p2_counts(600)
    r = P2Decoder().feed(openeeg.encode(counts, counter_start=3))
    np.testing.assert_array_equal(r.samples, counts)
    assert (r.lost, r.skipped_bytes) == (0, 0)


def test_text_round_trip_with_counter_header_labels_and_banner():
    data = (b"MyoWare EMG v1.2 ready\r\n"            # banner
            b"n:,pfm:,abd:\r\n"                      # header
            + text.encode([[500, 512], [501, 499.5]], counter_start=65534, labels=["pfm", "abd"], decimals=1)
            + b"1,1,2\n")                             # counter wraps 65535 -> 0, and line 0 was lost
    dec = TextLineDecoder(columns=2, counter=True)
    r = dec.feed(data)
    assert dec.labels == ["n", "pfm", "abd"]
    np.testing.assert_array_equal(r.samples[[0, 1, 3]], [[500, 512], [501, 499.5], [1, 2]])
    assert np.isnan(r.samples[2]).all() and r.gaps == [(2, 1)] and r.lost == 1
    assert r.skipped_lines == 1 and r.skipped_bytes == len(b"MyoWare EMG v1.2 ready\r\n")


def test_text_separators_and_line_endings():
    dec = TextLineDecoder()
    r = dec.feed(b"1.5 2\t-3\n4,5e1,+6\r\n  7 ,8,\t9  \r\n.5,-0.25,1E-3\n")
    np.testing.assert_array_equal(r.samples, [[1.5, 2, -3], [4, 50, 6], [7, 8, 9], [0.5, -0.25, 0.001]])
    assert r.skipped_lines == 0


@pytest.mark.parametrize("bad", [b"1,2,x\n", b"1,2\n", b"1,2,3,4\n", b"nan,1,2\n", b"1,inf,2\n", b"\xff\xfe,1,2\n",
                                 b"a:1,b:,c:3\n", b"\n", b"1:2,3,4\n", b"7" * 300 + b"\n"])
def test_text_bad_lines_skipped_and_counted(bad):
    dec = TextLineDecoder(columns=3)
    r = dec.feed(b"1,2,3\n" + bad + b"4,5,6\n")
    np.testing.assert_array_equal(r.samples, [[1, 2, 3], [4, 5, 6]])
    assert r.skipped_lines == 1 and r.skipped_bytes == len(bad)


def test_text_counter_restart_is_not_a_loss():
    r = TextLineDecoder(columns=1, counter=True).feed(b"40000,1\n40001,2\n0,3\n1,4\n")  # Arduino reset
    assert r.lost == 0 and r.restarts == 1 and r.n == 4


def test_text_partial_lines_are_buffered():
    dec = TextLineDecoder(columns=1)
    assert dec.feed(b"12").n == 0
    assert dec.feed(b"3\r").n == 0
    r = dec.feed(b"\n4")
    np.testing.assert_array_equal(r.samples, [[123]])


# ---------------------------------------------------------------- losses and garbage

@pytest.mark.parametrize("kind", ["cyton", "p2", "text"])
def test_garbage_between_packets_and_dropped_packets(kind):
    rng = np.random.default_rng(3)
    n = 300
    if kind == "cyton":
        counts, enc, dec = cyton_counts(n, rng), cyton.encode, CytonDecoder()
    elif kind == "p2":
        counts, enc, dec = p2_counts(n, rng), openeeg.encode, P2Decoder()
    else:
        counts = rng.integers(0, 1024, size=(n, 1))
        enc = lambda c, counter_start: text.encode(c, counter_start=counter_start)
        dec = TextLineDecoder(columns=1, counter=True)
    packets = [enc(counts[k:k + 1], counter_start=k) for k in range(n)]
    dropped = {40, 41, 42, 100, 200}
    garbage_after = {10: bytes(rng.integers(0, 256, 50, dtype=np.uint8)),
                     60: b"\xa0" * 40 + b"\xc0" * 3 + b"\xa5\x5a\x02",
                     150: b"\x00\xff" * 20 + b"\n",
                     250: b"garbage line\r\n"}
    if kind == "text":  # in text, garbage without a line end would spoil the line it runs into
        garbage_after = {k: v if v.endswith(b"\n") else v + b"\r\n" for k, v in garbage_after.items()}
    stream, expected_skipped = b"", 0
    for k, p in enumerate(packets):
        if k not in dropped:
            stream += p
        if k in garbage_after:
            stream += garbage_after[k]
            expected_skipped += len(garbage_after[k])
    r = dec.feed(stream)
    kept = [k for k in range(n) if k not in dropped]
    assert r.lost == len(dropped)
    assert r.skipped_bytes == expected_skipped
    # every kept sample is back, in place; each dropped one is a NaN row at its own place
    np.testing.assert_array_equal(r.samples[kept], counts[kept])
    assert np.isnan(r.samples[sorted(dropped)]).all()
    assert r.gaps == [(40, 3), (100, 1), (200, 1)]


@pytest.mark.parametrize("kind", ["cyton", "p2"])
def test_torn_packet_costs_exactly_that_packet(kind):
    enc, dec, counts = ((cyton.encode, CytonDecoder(), cyton_counts(20)) if kind == "cyton"
                        else (openeeg.encode, P2Decoder(), p2_counts(20)))
    data = enc(counts)
    size = len(data) // 20
    torn = data[:5 * size] + data[5 * size:5 * size + size // 2] + data[6 * size:]  # half of packet 5 arrives
    r = dec.feed(torn)
    assert r.lost == 1 and r.gaps == [(5, 1)]
    np.testing.assert_array_equal(np.delete(r.samples, 5, axis=0), np.delete(counts, 5, axis=0))
    assert r.skipped_bytes == size // 2


def test_cyton_reply_text_before_packets_is_skipped():
    reply = b"OpenBCI V3 8-16 channel\nOn Board ADS1299 Device ID: 0x3E\nFirmware: v3.1.2\n$$$"
    counts = cyton_counts(5)
    r = CytonDecoder().feed(reply + cyton.encode(counts))
    np.testing.assert_array_equal(r.samples, counts)
    assert r.skipped_bytes == len(reply)


# ---------------------------------------------------------------- properties

DECODERS = {
    "bitalino": lambda: BitalinoDecoder(channels=2),
    "cyton": lambda: CytonDecoder(),
    "p2": lambda: P2Decoder(),
    "text": lambda: TextLineDecoder(),
    "text-counter": lambda: TextLineDecoder(columns=2, counter=True),
}


def _sample_stream(kind: str, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    if kind == "cyton":
        return cyton.encode(cyton_counts(30, rng), counter_start=int(rng.integers(256)))
    if kind == "p2":
        return openeeg.encode(p2_counts(30, rng), counter_start=int(rng.integers(256)))
    if kind == "bitalino":
        return bitalino.encode(rng.integers(0, 1024, (30, 2)), counter_start=int(rng.integers(16)))
    return b"hello\r\n" + text.encode(rng.integers(0, 1024, (30, 2)), counter_start=int(rng.integers(65536)))


def _same(a, b):
    np.testing.assert_array_equal(a.samples, b.samples)
    assert (a.gaps, a.lost, a.skipped_bytes, a.skipped_lines, a.restarts) == \
           (b.gaps, b.lost, b.skipped_bytes, b.skipped_lines, b.restarts)


@pytest.mark.parametrize("kind", sorted(DECODERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400), cuts=st.lists(st.integers(0, 400), max_size=12))
def test_arbitrary_bytes_never_raise_and_chunking_does_not_matter(kind, data, cuts):
    whole = DECODERS[kind]().feed(data)
    _same(whole, feed_in_chunks(DECODERS[kind](), data, cuts))


@pytest.mark.parametrize("kind", sorted(DECODERS))
@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2 ** 16), garbage=st.lists(st.tuples(st.integers(0, 2000), st.binary(max_size=40)),
                                                     max_size=4),
       cuts=st.lists(st.integers(0, 2000), max_size=20))
def test_valid_stream_with_garbage_any_chunking_identical(kind, seed, garbage, cuts):
    data = _sample_stream(kind, seed)
    for pos, junk in sorted(garbage, reverse=True):
        pos = min(pos, len(data))
        data = data[:pos] + junk + data[pos:]
    whole = DECODERS[kind]().feed(data)
    _same(whole, feed_in_chunks(DECODERS[kind](), data, cuts))
    assert whole.lost + whole.n >= 0  # decoded, no exception


@pytest.mark.parametrize("kind", ["cyton", "p2"])
@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2 ** 16), junk=st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=3),
       where=st.lists(st.integers(1, 27), min_size=3, max_size=3, unique=True))
def test_binary_garbage_between_packets_loses_nothing(kind, seed, junk, where):
    """Garbage between whole packets: every packet decoded, nothing counted lost, skipped = garbage length.

    (The very first packet of a stream needs the second one, or its counter, to be believed: garbage goes
    after packet 1 or later.)"""
    rng = np.random.default_rng(seed)
    counts = cyton_counts(30, rng) if kind == "cyton" else p2_counts(30, rng)
    enc = cyton.encode if kind == "cyton" else openeeg.encode
    size = cyton.PACKET if kind == "cyton" else openeeg.PACKET
    data = enc(counts, counter_start=int(rng.integers(256)))
    for k, j in sorted(zip(where, junk), reverse=True):
        data = data[:(k + 1) * size] + j + data[(k + 1) * size:]
    r = (CytonDecoder() if kind == "cyton" else P2Decoder()).feed(data)
    np.testing.assert_array_equal(r.samples, counts)
    assert r.lost == 0 and r.skipped_bytes == sum(len(j) for j in junk[:len(where)])


# ---------------------------------------------------------------- BITalino

def bitalino_reference_decode(frame: bytes, channels: int) -> tuple[int, int, list[int], bool]:
    """Independent decoding of one frame from the published bit layout and the table-driven CRC-4."""
    d = frame
    table = [0, 3, 6, 5, 12, 15, 10, 9, 11, 8, 13, 14, 7, 4, 1, 2]
    crc = 0
    for x in d[:-1]:
        crc = table[crc] ^ (x >> 4)
        crc = table[crc] ^ (x & 15)
    crc = table[table[crc] ^ (d[-1] >> 4)]
    a = [((d[-2] & 0x0F) << 6) | (d[-3] >> 2)]
    if channels > 1:
        a.append(((d[-3] & 0x03) << 8) | d[-4])
    if channels > 2:
        a.append((d[-5] << 2) | (d[-6] >> 6))
    if channels > 3:
        a.append(((d[-6] & 0x3F) << 4) | (d[-7] >> 4))
    if channels > 4:
        a.append(((d[-7] & 0x0F) << 2) | (d[-8] >> 6))
    if channels > 5:
        a.append(d[-8] & 0x3F)
    return d[-1] >> 4, d[-2] >> 4, a, crc == (d[-1] & 0x0F)


@pytest.mark.parametrize("channels", [1, 2, 3, 4, 5, 6])
def test_bitalino_frames_match_the_published_layout_and_round_trip(channels):
    rng = np.random.default_rng(channels)
    top = [1023] * 4 + [63] * 2
    counts = np.stack([rng.integers(0, top[j] + 1, 100) for j in range(channels)], axis=1)
    data = bitalino.encode(counts, counter_start=9, digital=0b1010)
    size = bitalino.frame_size(channels)
    assert size == [3, 4, 6, 7, 8, 8][channels - 1] and len(data) == 100 * size
    for k in range(100):
        seq, digital, values, crc_ok = bitalino_reference_decode(data[k * size:(k + 1) * size], channels)
        assert (seq, digital, values, crc_ok) == ((9 + k) % 16, 0b1010, list(counts[k]), True)
    r = BitalinoDecoder(channels).feed(data)
    # the last frame waits for the next one to confirm it
    np.testing.assert_array_equal(r.samples, counts[:-1])
    assert r.lost == 0 and r.skipped_bytes == 0


def test_bitalino_start_command():
    assert bitalino.start_command(1000, 1) == b"\xc3\x05"
    assert bitalino.start_command(100, 2) == b"\x83\x0d"


def test_bitalino_garbage_and_losses():
    rng = np.random.default_rng(11)
    counts = rng.integers(0, 1024, (200, 1))
    frames = [bitalino.encode(counts[k:k + 1], counter_start=k) for k in range(200)]
    dropped = {50, 51, 120}
    garbage_after = {20: b"\x00" * 5, 80: bytes(rng.integers(0, 256, 17, dtype=np.uint8)), 150: b"\xff\x13\x77"}
    stream = b"".join(f + garbage_after.get(k, b"") for k, f in enumerate(frames) if k not in dropped)
    r = BitalinoDecoder(1).feed(stream)
    # a frame followed directly by garbage cannot be confirmed: it is lost too (a NaN row), nothing else
    lost = dropped | set(garbage_after)
    kept = [k for k in range(199) if k not in lost]
    assert r.lost == len(lost) and r.n == 199
    np.testing.assert_array_equal(r.samples[kept], counts[kept])
    assert np.isnan(r.samples[sorted(lost)]).all()
    assert r.skipped_bytes == sum(len(g) for g in garbage_after.values()) + 3 * len(garbage_after)
