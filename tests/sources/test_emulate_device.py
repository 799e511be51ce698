"""The device emulator itself, seen from a plain pyserial client: commands, pacing, exact bytes, links."""
from __future__ import annotations

import os
import time

import numpy as np
import pytest
import serial

from biofeedback.errors import UserError
from biofeedback.sources.emulate import DeviceEmulator
from devices.profiles import find_profile
from tests.sources.serial_helpers import wait_until


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
    with pytest.raises(UserError, match="already exists and is a file"):
        DeviceEmulator("arduino-emg", link=precious).start()
    assert precious.read_text() == "keep me"
    with pytest.raises(UserError, match="already exists and is a folder"):
        DeviceEmulator("arduino-emg", link=tmp_path).start()


def test_link_never_replaces_somebody_elses_symlink(tmp_path):
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    link = tmp_path / "ttyUSB-board"
    link.symlink_to(precious)
    with pytest.raises(UserError) as err:
        DeviceEmulator("arduino-emg", link=link).start()
    assert f"{link} already exists and links to {precious}" in str(err.value) and "\n" not in str(err.value)
    assert os.readlink(link) == str(precious) and precious.read_text() == "keep me"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "gone.txt")  # not a pseudo-terminal: somebody's, even if dangling
    with pytest.raises(UserError, match="links to"):
        DeviceEmulator("arduino-emg", link=dangling).start()
    assert os.readlink(dangling) == str(tmp_path / "gone.txt")


def test_link_of_a_running_emulator_is_not_taken_over(tmp_path):
    link = tmp_path / "ttyEMG"
    with DeviceEmulator("arduino-emg", link=link) as first:
        with pytest.raises(UserError, match="in use"):
            DeviceEmulator("arduino-emg", link=link).start()
        assert os.readlink(link) == first.pty_path
    assert not os.path.lexists(link)


def test_a_leftover_link_to_a_gone_pseudo_terminal_is_replaced(tmp_path):
    """An emulator that was killed (kill -9) leaves its link; starting again on the same --link just works."""
    gone = next(f"/dev/pts/{n}" for n in range(999, 100000) if not os.path.exists(f"/dev/pts/{n}"))
    link = tmp_path / "ttyEMG"
    link.symlink_to(gone)
    em = DeviceEmulator("arduino-emg", link=link).start()
    try:
        assert os.readlink(link) == em.pty_path
    finally:
        em.stop()
    assert not os.path.lexists(link)


def test_link_is_left_alone_on_exit_once_it_is_not_ours(tmp_path):
    link = tmp_path / "ttyEMG"
    other = tmp_path / "other"
    other.write_text("")
    em = DeviceEmulator("arduino-emg", link=link).start()
    os.unlink(link)
    link.symlink_to(other)  # somebody pointed it elsewhere meanwhile
    em.stop()
    assert os.readlink(link) == str(other)


def test_seed_must_be_a_whole_number_0_or_more(capsys):
    with pytest.raises(UserError) as err:
        DeviceEmulator("generic-text", seed=-1)
    assert str(err.value) == "the seed must be a whole number 0 or more, not -1"
    from biofeedback.cli import main
    with pytest.raises(SystemExit) as exit_:
        main(["emulate", "generic-text", "--seed", "-1"])
    assert exit_.value.code == 2
    err_text = capsys.readouterr().err.strip()
    assert err_text.startswith("biofeedback: argument --seed: must be a whole number 0 or more, not -1")
    assert "patient" not in err_text and len(err_text.splitlines()) == 1


def test_emulate_command_refuses_an_existing_link_path(tmp_path, capsys):
    from biofeedback.cli import main
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    assert main(["emulate", "arduino-emg", "--link", str(precious), "--duration", "0.1"]) == 2
    err_text = capsys.readouterr().err.strip()
    assert err_text == f"biofeedback: {precious} already exists and is a file: choose another --link path"
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
