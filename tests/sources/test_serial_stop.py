"""SerialSource: Ctrl-C while opening, stop() that is final even mid-reconnect, the last live state after stop()."""
from __future__ import annotations

import os
import signal
import threading
import time
import tty

import pytest
import serial

import biofeedback.sources.serial as serial_module
from biofeedback.sources import open_source
from biofeedback.sources.serial import SerialSource
from devices.profiles import find_profile
from tests.sources.serial_helpers import drain, wait_until


def port_is_free(path: str) -> bool:
    """True when no program holds ``path`` (the source opens ports exclusively)."""
    try:
        probe = serial.Serial(path, exclusive=True)
    except serial.SerialException:
        return False
    probe.close()
    return True


# ---------------------------------------------------------------- Ctrl-C while the port is opening

@pytest.fixture
def interrupt_after():
    """Raise KeyboardInterrupt in the main thread after ``seconds``, as Python's SIGINT handler does."""
    def boom(*_):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, boom)

    def arm(seconds: float) -> None:
        signal.setitimer(signal.ITIMER_REAL, seconds)

    yield arm
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("case", ["after-open wait", "reset reply wait"])
def test_ctrl_c_during_start_comes_out_at_once_and_frees_the_port(case, emulators, interrupt_after):
    if case == "after-open wait":  # an Arduino profile waits for the board to reset
        em = emulators("arduino-emg")
        src = SerialSource(em.path, find_profile("arduino-emg"), wait_s=20)
    else:  # a Cyton that never answers its reset: an Arduino is on the port
        em = emulators("arduino-emg")
        src = SerialSource(em.path, find_profile("openbci-cyton"), wait_s=0, reply_timeout_s=20)
    interrupt_after(0.3)
    t = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        src.start()
    assert time.monotonic() - t < 1.5
    assert src.status.state != "streaming"
    assert port_is_free(em.path)
    src.stop()  # harmless afterwards
    assert port_is_free(em.path)


# ---------------------------------------------------------------- stop() is final

class SlowToOpen(SerialSource):
    """A source whose reader thread, when it reopens the port, takes as long as the test says (a slow USB hub)."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.reopening = threading.Event()
        self.gate = threading.Event()

    def _open(self):
        if threading.current_thread() is not threading.main_thread():
            self.reopening.set()
            self.gate.wait(10.0)
        return super()._open()


def test_stop_is_final_even_while_the_reader_is_reopening(tmp_path, emulators, monkeypatch):
    monkeypatch.setattr(serial_module, "JOIN_TIMEOUT_S", 0.2)
    link = str(tmp_path / "ttyBoard")
    em = emulators("openbci-cyton", link=link)
    src = SlowToOpen(link, find_profile("openbci-cyton"), retry_s=0.05, watchdog_s=0.5)
    src.start()
    drain(src, 2.0, until=lambda b: len(b) > 2)
    em.stop()  # cable pulled
    assert wait_until(lambda: src.status.state == "disconnected", 3.0)
    assert src.reopening.wait(3.0)  # the reader is inside its reopen, held at the gate
    em2 = emulators("openbci-cyton", link=link)  # plugged back in
    reader = src._thread
    t = time.monotonic()
    src.stop()  # returns although the reader has not finished
    assert time.monotonic() - t < 1.0
    assert reader.is_alive()
    src.gate.set()  # now the reader opens the port that came back
    reader.join(5.0)
    assert not reader.is_alive()
    assert src.status.state == "idle"      # not "connecting": stop() said the last word
    assert em2.commands == []              # the device was not even talked to after stop()
    assert port_is_free(link)              # and nothing holds the port
    assert [e.kind for e in src.pop_events()] == ["disconnected"]


def test_stop_from_another_thread_during_start_keeps_no_port(emulators):
    em = emulators("arduino-emg")
    src = SerialSource(em.path, find_profile("arduino-emg"), wait_s=20)
    stopper = threading.Timer(0.3, src.stop)
    stopper.start()
    t = time.monotonic()
    src.start()  # the wait is cut short by stop(); start() returns without keeping the port
    assert time.monotonic() - t < 1.5
    stopper.join()
    assert src.status.state == "idle" and src._thread is None
    assert port_is_free(em.path)


def test_a_source_can_be_started_again_after_stop(emulators):
    em = emulators("arduino-emg")
    src = SerialSource(em.path, find_profile("arduino-emg"), wait_s=0.3)
    src.start()
    drain(src, 2.0, until=lambda b: sum(x.n for x in b) > 100)
    src.stop()
    t = time.monotonic()
    src.start()  # the after-open wait is really waited again (the earlier stop() does not cut it short)
    assert time.monotonic() - t >= 0.3
    assert sum(b.n for b in drain(src, 3.0, until=lambda b: sum(x.n for x in b) > 100)) > 100
    src.stop()


# ---------------------------------------------------------------- the truth after stop()

def test_a_port_with_no_device_is_reported_as_disconnected_after_stop():
    """Like recording from /dev/ttyS0 with nothing plugged in: the caller must learn nothing came."""
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        src = open_source(f"serial:{os.ttyname(slave)}?device=generic-text&wait=0&watchdog=0.3")
        src.start()
        assert src.last_state == ""
        assert wait_until(lambda: src.status.state == "disconnected", 3.0)
        # the source opens the port again, but an open port with nothing sending is still a lost device
        assert wait_until(lambda: "port open again, waiting for data" in src.status.message, 3.0)
        assert src.status.state == "disconnected"
        src.stop()
        assert src.status.state == "idle"
        assert src.last_state == "disconnected"
        assert "no data for 0.3 s" in src.last_message
        assert src.status.message.startswith("stopped (was disconnected:")
        assert src.stats.samples == 0
    finally:
        os.close(master)
        os.close(slave)


def test_last_state_after_a_good_session_is_streaming(emulators):
    em = emulators("arduino-emg")
    src = open_source(f"serial:{em.path}?device=arduino-emg&wait=0")
    src.start()
    drain(src, 2.0, until=lambda b: sum(x.n for x in b) > 100)
    src.stop()
    assert (src.status.state, src.status.message) == ("idle", "stopped")
    assert src.last_state == "streaming" and src.last_message == "arduino-emg on " + em.path
