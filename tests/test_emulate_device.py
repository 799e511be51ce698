"""The device emulator itself, seen from a plain pyserial client: commands, pacing, exact bytes, links."""
from __future__ import annotations

import os
import time

import numpy as np
import pytest
import serial

from biofeedback.emulate import DeviceEmulator
from biofeedback.errors import UserError
from devices.profiles import find_profile
from tests.serial_helpers import wait_until


def read_for(port: serial.Serial, seconds: float) -> bytes:
    data = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        data += port.read(max(1, port.in_waiting))
    return data


def test_cyton_answers_its_commands():
    with DeviceEmulator("openbci-cyton", patient="healthy") as em:
        port = serial.Serial(em.path, 115200, timeout=0.05)
        try:
            assert read_for(port, 0.3) == b""            # idle until told to start
            port.write(b"v")
            reply = read_for(port, 0.3)
            assert reply.startswith(b"OpenBCI") and reply.endswith(b"$$$")
            port.write(b"b")
            streamed = read_for(port, 0.4)
            assert len(streamed) >= 33 * 50 and streamed[0] == 0xA0 and streamed[32] == 0xC0
            port.write(b"s")
            time.sleep(0.1)
            port.reset_input_buffer()
            assert read_for(port, 0.3) == b""            # stopped
        finally:
            port.close()
        assert em.commands == [b"v", b"b", b"s"]


def test_streams_at_the_real_rate_and_bytes_decode_to_what_it_reports():
    with DeviceEmulator("arduino-emg", patient="hypertonic", seed=1) as em:
        port = serial.Serial(em.path, 230400, timeout=0.05)
        t0 = time.monotonic()
        received = read_for(port, 1.0)
        elapsed = time.monotonic() - t0
        port.close()
        n = em.samples_generated
    assert n == pytest.approx(1000 * elapsed, rel=0.1)
    sent = em.sent_bytes()
    assert received and received[-200:] in sent and received[:200] in sent
    decoded = find_profile("arduino-emg").make_decoder().feed(sent)
    np.testing.assert_array_equal(decoded.samples, em.sent_counts())
    assert decoded.lost == 0 and em.samples_dropped == 0


def test_link_is_made_and_removed(tmp_path):
    link = tmp_path / "ttyBoard"
    em = DeviceEmulator("olimex-ekg-emg", link=link).start()
    assert os.path.islink(link) and os.readlink(link) == em.pty_path and em.path == str(link)
    em.stop()
    assert not os.path.lexists(link)


def test_link_never_replaces_a_file(tmp_path):
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    with pytest.raises(UserError, match="not a link"):
        DeviceEmulator("arduino-emg", link=precious).start()
    assert precious.read_text() == "keep me"


def test_nobody_reading_drops_like_a_full_buffer():
    with DeviceEmulator("arduino-emg") as em:
        assert wait_until(lambda: em.samples_dropped > 0, 10.0)  # the pty fills up, then the board drops
        assert em.samples_generated > len(em.sent_counts())


def test_unknown_device_and_patient():
    with pytest.raises(UserError, match="unknown device"):
        DeviceEmulator("toaster")
    with pytest.raises(UserError, match="unknown simulated patient profile"):
        DeviceEmulator("arduino-emg", patient="grumpy")
