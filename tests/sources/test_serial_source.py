"""SerialSource over real pseudo-terminals: exact samples, gaps, garbage, unplug/reconnect, errors, quick stop."""
from __future__ import annotations

import math
import time

import numpy as np
import pytest
import serial
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.errors import SourceError
from biofeedback.sources import open_source
from biofeedback.sources.emulate import DeviceEmulator
from biofeedback.sources.serial import SerialSource
from devices.profiles import LIMITS, find_profile
from tests.sources.serial_helpers import (
    ALL_DEVICES,
    align,
    drain,
    forbidden_port,
    noise_signal,
    run_as_ordinary_user,
    stack,
    wait_until,
)


@pytest.fixture
def emulators():
    made = []

    def make(device, **kw):
        profile = find_profile(device)
        kw.setdefault("signal", noise_signal(len(profile.channels)))
        em = DeviceEmulator(profile, **kw).start()
        made.append(em)
        return em

    yield make
    for em in made:
        em.stop()
    assert [em.error for em in made] == [""] * len(made)  # no emulator died along the way


@pytest.fixture
def sources():
    made = []

    def make(text, **kw):
        src = open_source(text) if not kw else SerialSource(text, **kw)
        made.append(src)
        return src

    yield make
    for src in made:
        src.stop()


@pytest.mark.parametrize("device", ALL_DEVICES)
def test_samples_arrive_exactly_as_sent(device, emulators, sources):
    em = emulators(device)
    src = sources(f"serial:{em.path}?device={device}&wait=0")
    src.start()
    assert src.info.device == device and src.info.names == [c.name for c in em.profile.channels]
    want = int(em.rate * 0.6)
    got = stack(drain(src, 5.0, until=lambda b: sum(x.n for x in b) >= want), src.info.n_channels)
    assert len(got) >= want
    sent = em.sent_values()
    offset = align(sent, got)
    # every sample the source delivered is what the device sent, bit for bit after scaling
    np.testing.assert_allclose(got, sent[offset:offset + len(got)], rtol=1e-12, atol=1e-9)
    assert not np.isnan(got).any() and src.status.dropped == 0
    assert src.status.state == "streaming"
    if device == "openbci-cyton":
        assert em.commands[:3] == [b"s", b"v", b"b"]  # stop, reset (reply $$$), start
    if device == "bitalino-emg":
        assert b"".join(em.commands[:4]) == b"\x00\x07\xc3\x05"  # stop, version, 1000 Hz, start A1


def test_stale_input_is_dropped_at_start(emulators, sources):
    """What arrives while the source waits after opening (an Arduino's reset banner, old samples) is dropped."""
    em = emulators("arduino-emg")
    src = sources(f"serial:{em.path}?device=arduino-emg&wait=0.6")
    src.start()
    sent_when_started = len(em.sent_counts())
    got = stack(drain(src, 3.0, until=lambda b: sum(x.n for x in b) > 100), 1)
    # the first sample delivered was sent after the wait (give or take a few written while start() returned),
    # not 600 samples earlier
    assert align(em.sent_values(), got) >= sent_when_started - 100


def test_measured_rate(emulators, sources):
    em = emulators("arduino-emg")
    src = sources(f"serial:{em.path}?device=arduino-emg&wait=0")
    src.start()
    assert wait_until(lambda: src.read() is not None and src.status.measured_rate is not None, 4.0)
    assert src.status.measured_rate == pytest.approx(1000.0, rel=0.05)


def test_a_wrong_rate_in_the_profile_is_noticed(emulators, sources):
    em = emulators("generic-text")  # sends 500 lines a second
    src = sources(f"serial:{em.path}?device=generic-text&rate=400")
    src.start()
    assert wait_until(lambda: src.read() is not None and "add &rate=N" in src.status.message, 6.0)
    assert src.status.measured_rate == pytest.approx(500, rel=0.05)


@pytest.mark.parametrize("device", ["openbci-cyton", "olimex-ekg-emg", "arduino-emg", "bitalino-emg"])
def test_counter_gap_becomes_nan_rows_and_event(device, emulators, sources):
    em = emulators(device)
    src = sources(f"serial:{em.path}?device={device}&wait=0")
    src.start()
    blocks = drain(src, 3.0, until=lambda b: sum(x.n for x in b) > 20)
    em.drop_next(7)
    blocks += drain(src, 5.0, until=lambda b: sum(x.n for x in b) > em.rate * 0.5)
    got = stack(blocks, src.info.n_channels)
    nan_rows = np.flatnonzero(np.isnan(got).all(axis=1))
    assert len(nan_rows) == 7 and np.all(np.diff(nan_rows) == 1)
    gaps = [e for e in src.pop_events() if e.kind == "gap"]
    assert len(gaps) == 1 and gaps[0].data["samples"] == 7
    assert gaps[0].time_s == pytest.approx((blocks[0].start + nan_rows[0]) / src.info.rate)
    assert src.status.dropped == 7
    # samples around the gap are still exactly what was sent
    sent = em.sent_values()
    before, after = got[:nan_rows[0]], got[nan_rows[-1] + 1:]
    tail_before = before[-12:]
    o1, o2 = align(sent, tail_before, window=len(tail_before)), align(sent, after)
    assert o2 == o1 + len(tail_before)  # nothing else missing: the device's lost samples are the NaN rows
    np.testing.assert_allclose(after, sent[o2:o2 + len(after)], rtol=1e-12)


@pytest.mark.parametrize("device", ["openbci-cyton", "olimex-ekg-emg", "arduino-emg"])
def test_garbage_on_the_line_is_skipped(device, emulators, sources):
    em = emulators(device)
    src = sources(f"serial:{em.path}?device={device}&wait=0")
    src.start()
    drain(src, 3.0, until=lambda b: sum(x.n for x in b) > 20)
    junk = b"\x00\xa0\xa5zz\xc0 noise \r\n" * 3
    em.inject(junk)
    # until the junk was read (on a busy machine older samples may still be queued before it) and more after
    blocks = drain(src, 10.0,
                   until=lambda b: src.stats.skipped_bytes >= len(junk) and sum(x.n for x in b) > em.rate * 0.4)
    got = stack(blocks, src.info.n_channels)
    assert not np.isnan(got).any()
    assert src.stats.skipped_bytes == len(junk)
    sent = em.sent_values()
    o = align(sent, got)
    np.testing.assert_allclose(got, sent[o:o + len(got)], rtol=1e-12)


def test_unplug_and_replug_on_the_same_link(tmp_path, emulators, sources):
    link = str(tmp_path / "ttyEMG")
    em = emulators("arduino-emg", link=link)
    src = sources(f"serial:{link}?device=arduino-emg&wait=0")
    src.start()
    before = drain(src, 3.0, until=lambda b: sum(x.n for x in b) > 300)
    em.stop()  # cable pulled
    pulled = time.monotonic()
    assert wait_until(lambda: src.status.state == "disconnected", 3.0)
    assert time.monotonic() - pulled < 2.0 + 0.5  # within the watchdog time
    events = src.pop_events()
    assert [e.kind for e in events] == ["disconnected"]
    disconnected_at = round(events[0].time_s * 1000)
    assert disconnected_at == pytest.approx(sum(b.n for b in before), abs=200)
    during = drain(src, 0.8)
    time.sleep(0.5)
    em2 = emulators("arduino-emg", link=link, signal=noise_signal(1, seed=2))  # plugged back in
    after = drain(src, 5.0, until=lambda b: sum(x.n for x in b) > 1200)
    assert src.status.state == "streaming"
    blocks = before + during + after
    for a, b in zip(blocks, blocks[1:]):
        assert b.start == a.stop
    events = src.pop_events()
    kinds = [e.kind for e in events]
    assert kinds == ["gap", "reconnected"]
    gap = events[0]
    assert gap.data["estimated"] and gap.data["reason"] == "disconnected"
    outage = time.monotonic() - pulled
    # NaN rows for the time the port was gone, estimated from the host clock
    got = stack(blocks, 1)
    nan_rows = np.flatnonzero(np.isnan(got[:, 0]))
    assert len(nan_rows) == gap.data["samples"] and nan_rows[0] == disconnected_at
    assert 0.8 * 1000 < len(nan_rows) < outage * 1000
    assert events[1].data["after_s"] > 1.0
    # what came before is intact, and what comes after is the new device's stream
    sent1, sent2 = em.sent_values(), em2.sent_values()
    b = got[:disconnected_at]
    np.testing.assert_allclose(b, sent1[align(sent1, b):][:len(b)], rtol=1e-12)
    tail = got[nan_rows[-1] + 1:]
    np.testing.assert_allclose(tail, sent2[align(sent2, tail):][:len(tail)], rtol=1e-12)


def test_stop_is_quick_while_streaming_and_while_reconnecting(tmp_path, emulators):
    link = str(tmp_path / "ttyX")
    em = emulators("openbci-cyton", link=link)
    src = open_source(f"serial:{link}?device=openbci-cyton")
    src.start()
    drain(src, 1.0, until=lambda b: len(b) > 2)
    t = time.monotonic()
    src.stop()
    assert time.monotonic() - t < 1.0
    assert wait_until(lambda: em.commands[-1:] == [b"s"], 1.0)  # the device was told to stop
    src = open_source(f"serial:{link}?device=openbci-cyton")
    src.start()
    em.stop()
    assert wait_until(lambda: src.status.state == "disconnected", 3.0)
    time.sleep(0.7)  # inside the retry loop
    t = time.monotonic()
    src.stop()
    assert time.monotonic() - t < 1.0


def test_silence_trips_the_watchdog(emulators, sources):
    em = emulators("openbci-cyton")
    src = sources(f"serial:{em.path}?device=openbci-cyton&watchdog=0.5")
    src.start()
    drain(src, 2.0, until=lambda b: len(b) > 2)
    em.streaming = False  # the board stops sending but the port stays
    assert wait_until(lambda: src.status.state == "disconnected", 2.0)
    # the source reopens the port, sends its start command again, and the board streams again
    assert wait_until(lambda: src.status.state == "streaming", 4.0)
    kinds = [e.kind for e in src.pop_events()]
    assert kinds[0] == "disconnected" and "reconnected" in kinds


def test_bytes_that_never_decode_say_so(emulators, sources):
    em = emulators("olimex-ekg-emg")  # binary packets, but the user said it is a text device
    src = sources(f"serial:{em.path}?device=arduino-emg&wait=0&watchdog=0.5")
    src.start()
    assert wait_until(lambda: src.status.state == "disconnected", 3.0)
    assert "check device= and baud=" in src.status.message
    assert src.pop_events()[0].data["reason"].endswith("check device= and baud=")


# ---------------------------------------------------------------- errors a user can cause

def _one_line(exc: SourceError) -> str:
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_missing_port(tmp_path):
    with pytest.raises(SourceError) as err:
        open_source(f"serial:{tmp_path}/ttyNOPE?device=arduino-emg").start()
    assert "not found" in _one_line(err.value)


def test_not_a_serial_port(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("hello")
    with pytest.raises(SourceError) as err:
        open_source(f"serial:{plain}?device=arduino-emg").start()
    assert "not a serial port" in _one_line(err.value)


def test_busy_port(emulators):
    em = emulators("arduino-emg")
    holder = serial.Serial(em.path, exclusive=True)  # another program has it
    try:
        with pytest.raises(SourceError) as err:
            open_source(f"serial:{em.path}?device=arduino-emg&wait=0").start()
        assert "busy" in _one_line(err.value)
    finally:
        holder.close()


def test_wrong_device_does_not_answer(emulators):
    em = emulators("arduino-emg")  # an Arduino on the port, but the user said Cyton
    src = SerialSource(em.path, find_profile("openbci-cyton"), reply_timeout_s=0.5)
    with pytest.raises(SourceError) as err:
        src.start()
    assert "no reply" in _one_line(err.value)


@pytest.mark.parametrize("spec, words", [
    ("serial:?device=arduino-emg", "needs a port"),
    ("serial:/dev/ttyUSB0", "device=NAME"),
    ("serial:/dev/ttyUSB0?device=no-such-thing", "unknown device"),
    ("serial:/dev/ttyUSB0?device=arduino-emg&baud=fast", "not a whole number"),
    ("serial:/dev/ttyUSB0?device=arduino-emg&colour=red", "unknown option"),
    ("serial:/dev/ttyUSB0?device=generic-text&rate=nan", "rate must be from 1 to 20000 samples per second"),
    ("serial:/dev/ttyUSB0?device=generic-text&rate=inf", "rate must be from 1 to 20000"),
    ("serial:/dev/ttyUSB0?device=generic-text&rate=-inf", "rate must be from 1 to 20000"),
    ("serial:/dev/ttyUSB0?device=generic-text&rate=0", "rate must be from 1 to 20000"),
    ("serial:/dev/ttyUSB0?device=generic-text&rate=20001", "rate must be from 1 to 20000"),
    ("serial:/dev/ttyUSB0?device=generic-text&baud=99999999999", "baud must be from 300 to 12000000 baud"),
    ("serial:/dev/ttyUSB0?device=generic-text&baud=0", "baud must be from 300"),
    ("serial:/dev/ttyUSB0?device=generic-text&baud=nan", "not a whole number"),
    ("serial:/dev/ttyUSB0?device=generic-text&wait=1e9", "wait must be from 0 to 30 seconds"),
    ("serial:/dev/ttyUSB0?device=generic-text&wait=nan", "wait must be from 0 to 30 seconds"),
    ("serial:/dev/ttyUSB0?device=generic-text&wait=-1", "wait must be from 0 to 30 seconds"),
    ("serial:/dev/ttyUSB0?device=generic-text&watchdog=0", "watchdog must be from 0.2 to 60 seconds"),
    ("serial:/dev/ttyUSB0?device=generic-text&watchdog=inf", "watchdog must be from 0.2 to 60 seconds"),
    ("serial:/dev/ttyUSB0?device=generic-text&watchdog=1e400", "watchdog must be from 0.2 to 60 seconds"),
])
def test_bad_specs(spec, words):
    with pytest.raises(SourceError) as err:
        open_source(spec)
    assert words in _one_line(err.value)


@pytest.mark.parametrize("spec", [
    "serial:/dev/ttyUSB0?device=generic-text&rate=20000&baud=300&wait=30&watchdog=60",
    "serial:/dev/ttyUSB0?device=generic-text&rate=1&baud=12000000&wait=0&watchdog=0.2",
])
def test_specs_at_the_limits_are_accepted(spec):
    src = open_source(spec)
    assert src.info.rate in (1.0, 20000.0) and src.baud in (300, 12_000_000)


@settings(max_examples=150, deadline=None)
@given(key=st.sampled_from(["rate", "wait", "watchdog"]),
       value=st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(["nan", "inf", "-inf", "1e400", "-0"]))
def test_any_number_in_a_spec_is_a_source_or_one_line(key, value):
    """Whatever number the user types, the source either holds a finite value in range or refuses in one line."""
    text = value if isinstance(value, str) else repr(value)
    try:
        src = open_source(f"serial:/dev/ttyUSB0?device=generic-text&{key}={text}")
    except SourceError as exc:
        assert f"{key} must be from" in _one_line(exc)
        return
    got = {"rate": src.info.rate, "wait": src.wait_s, "watchdog": src.watchdog_s}[key]
    low, high = LIMITS[key]
    assert math.isfinite(got) and low <= got <= high


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=-10 ** 20, max_value=10 ** 20))
def test_any_baud_in_a_spec_is_a_source_or_one_line(baud):
    try:
        src = open_source(f"serial:/dev/ttyUSB0?device=generic-text&baud={baud}")
    except SourceError as exc:
        assert "baud must be from 300 to 12000000 baud" in _one_line(exc)
        assert not 300 <= baud <= 12_000_000
        return
    assert src.baud == baud and 300 <= baud <= 12_000_000


def test_the_source_checks_its_own_settings():
    """Code that builds a SerialSource directly gets the same one-line check as --source."""
    profile = find_profile("generic-text")
    for kw, words in [({"rate": float("nan")}, "rate must be"), ({"baud": 10 ** 11}, "baud must be"),
                      ({"wait_s": float("inf")}, "wait must be"), ({"watchdog_s": 0.0}, "watchdog must be"),
                      ({"baud": 9600.5}, "whole number")]:
        with pytest.raises(SourceError) as err:
            SerialSource("/dev/ttyUSB0", profile, **kw)
        assert words in _one_line(err.value)


def test_a_speed_the_port_refuses_is_one_line(emulators):
    """A speed inside the accepted range that the port itself cannot be set to: SourceError, not a traceback."""
    em = emulators("generic-text")
    src = SerialSource(em.path, find_profile("generic-text"), baud=12_000_000, wait_s=0)
    try:
        src.start()  # some systems accept any speed on a pseudo-terminal; then it simply streams
    except SourceError as exc:
        assert "speed" in _one_line(exc) or "not a serial port" in _one_line(exc)
    finally:
        src.stop()
    # pyserial itself raises OverflowError for a speed termios cannot hold; the open path turns it into one line
    src = SerialSource(em.path, find_profile("generic-text"), wait_s=0)
    src.baud = 99_999_999_999  # bypasses the range check on purpose: what pyserial does with it must not escape
    with pytest.raises(SourceError) as err:
        src.start()
    assert "cannot be set to this speed" in _one_line(err.value)
    assert src.status.state == "error"
    holder = serial.Serial(em.path, exclusive=True)  # the failed open left nothing holding the port
    holder.close()


def test_no_permission(emulators):
    """A port the user may not open: one line that says how to get access."""
    port = forbidden_port(emulators("arduino-emg"))

    def attempt() -> int:
        try:
            SerialSource(port, find_profile("arduino-emg"), wait_s=0).start()
        except SourceError as exc:
            print(exc)
            return 2
        return 0

    status, text = run_as_ordinary_user(attempt)
    assert status == 2, text
    assert text.startswith("no permission to open serial port") and "dialout" in text
    assert len(text.strip().splitlines()) == 1
