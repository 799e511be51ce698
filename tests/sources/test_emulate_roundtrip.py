"""End to end through the real command: emulator on a pseudo-terminal -> `biofeedback record --source serial:...`
-> recording file, compared with exactly what the emulator sent."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import serial

# loaded here, before the no-permission test drops privileges and could no longer read them
import biofeedback.files.recording
import biofeedback.session.engine
import biofeedback.session.headless  # noqa: F401 - only loaded, as the comment above says
from biofeedback.cli import main
from biofeedback.files.recording import Recording
from biofeedback.sources.emulate import DeviceEmulator
from biofeedback.sources.serial import SerialSource
from devices.profiles import find_profile
from tests.helpers import assert_one_line_error, cli_env, run_cli
from tests.sources.serial_helpers import ALL_DEVICES, align, drain, forbidden_port, run_as_ordinary_user, stack


@pytest.fixture
def emulators():
    made = []

    def make(device, **kw):
        kw.setdefault("patient", "hypertonic")
        kw.setdefault("seed", 3)
        em = DeviceEmulator(device, **kw).start()
        made.append(em)
        return em

    yield make
    for em in made:
        em.stop()
    assert [em.error for em in made] == [""] * len(made)  # no emulator died along the way


def as_stored(values: np.ndarray) -> np.ndarray:
    """Recordings store float32 samples: what the emulator sent, as the file keeps it."""
    return values.astype(np.float32).astype(np.float64)


def record(spec: str, out: Path, duration: float) -> int:
    return main(["record", "--source", spec, "--duration", str(duration), "--out", str(out)])


@pytest.mark.parametrize("device", ALL_DEVICES)
def test_record_equals_what_the_device_sent(device, emulators, tmp_path):
    em = emulators(device)
    out = tmp_path / f"{device}.bfr"
    assert record(f"serial:{em.path}?device={device}&wait=0", out, 0.6) == 0
    profile = em.profile
    with Recording.open(out) as rec:
        data = rec.read()
        assert rec.closed_cleanly
        assert rec.info.names == [c.name for c in profile.channels]
        assert [c.unit for c in rec.info.channels] == [c.unit for c in profile.channels]
        assert rec.info.rate == profile.rate and rec.info.device == device
    assert data.shape == (round(profile.rate * 0.6), len(profile.channels))
    assert not np.isnan(data).any()
    sent = as_stored(em.sent_values())
    offset = align(sent, data, window=len(data))  # the whole recording appears, in order, in what was sent
    np.testing.assert_array_equal(data, sent[offset:offset + len(data)])
    # and it is the simulated patient within the device's quantisation (half a count; text: half a last digit)
    intended = em.intended_values()[offset:offset + len(data)]
    for k, ch in enumerate(profile.channels):
        step = abs(ch.scale) * (10.0 ** -profile.decimals if profile.decoder == "text" else 1.0)
        lo, hi = profile.counts if profile.counts else (-np.inf, np.inf)
        inside = ((intended[:, k] - ch.offset) / ch.scale > lo) & ((intended[:, k] - ch.offset) / ch.scale < hi)
        assert inside.mean() > 0.9
        error = np.abs(data[inside, k] - intended[inside, k])
        assert np.all(error <= step / 2 + 1e-6 * np.abs(intended[inside, k]) + 1e-9)


@pytest.mark.parametrize("device", ["openbci-cyton", "arduino-emg"])
def test_record_with_garbage_on_the_line(device, emulators, tmp_path):
    em = emulators(device)
    stop = threading.Event()

    def spray():
        rng = np.random.default_rng(5)
        while not stop.wait(0.1):
            junk = bytes(rng.integers(0, 256, 30, dtype=np.uint8))
            em.inject(junk + b"\r\n" if device == "arduino-emg" else junk)

    sprayer = threading.Thread(target=spray, daemon=True)
    sprayer.start()
    out = tmp_path / "junk.bfr"
    try:
        assert record(f"serial:{em.path}?device={device}&wait=0", out, 0.6) == 0
    finally:
        stop.set()
        sprayer.join()
    with Recording.open(out) as rec:
        data = rec.read()
        events = rec.events
    assert not np.isnan(data).any() and not [e for e in events if e.kind == "gap"]
    sent = as_stored(em.sent_values())
    offset = align(sent, data, window=len(data))
    np.testing.assert_array_equal(data, sent[offset:offset + len(data)])


def test_unplug_and_replug_while_recording(emulators, tmp_path):
    link = str(tmp_path / "ttyEMG")
    em1 = emulators("arduino-emg", link=link)
    out = tmp_path / "unplug.bfr"
    result = {}
    recorder = threading.Thread(target=lambda: result.setdefault(
        "rc", record(f"serial:{link}?device=arduino-emg&wait=0", out, 3.5)))
    recorder.start()
    time.sleep(1.0)
    em1.stop()                                   # cable pulled mid-recording
    pulled = time.monotonic()
    time.sleep(1.5)                              # the source notices and retries the path every 0.5 s
    em2 = emulators("arduino-emg", link=link, seed=4)  # plugged back in on the same path
    replugged = time.monotonic()
    recorder.join(timeout=15)
    assert not recorder.is_alive() and result["rc"] == 0
    with Recording.open(out) as rec:
        assert rec.closed_cleanly
        data = rec.read()[:, 0]
        events = rec.events
    kinds = [e.kind for e in events]
    assert kinds == ["disconnected", "gap", "reconnected"], kinds
    disconnected, gap, reconnected = events
    nan_rows = np.flatnonzero(np.isnan(data))
    start = int(round(gap.time_s * 1000))
    assert disconnected.time_s == gap.time_s
    assert len(nan_rows) == gap.data["samples"] and gap.data["estimated"]
    assert nan_rows[0] == start and np.all(np.diff(nan_rows) == 1)
    outage_ms = (replugged - pulled) * 1000
    assert outage_ms - 100 < len(nan_rows) < outage_ms + 700  # the outage, from the host clock (+ a retry period)
    assert reconnected.time_s == pytest.approx((start + len(nan_rows)) / 1000)
    # before the outage: exactly what the first device sent; after: what the second one sent
    before, after = data[:start, None], data[nan_rows[-1] + 1:, None]
    assert len(before) > 700 and len(after) > 300
    s1, s2 = as_stored(em1.sent_values()), as_stored(em2.sent_values())
    np.testing.assert_allclose(before, s1[align(s1, before, len(before)):][:len(before)], rtol=1e-12)
    np.testing.assert_allclose(after, s2[align(s2, after, len(after)):][:len(after)], rtol=1e-12)


# ---------------------------------------------------------------- user errors: one line, exit 2

def test_wrong_port_exit_2(tmp_path):
    r = run_cli("record", "--source", f"serial:{tmp_path}/ttyUSB9?device=arduino-emg", "--duration", "1",
                "--out", tmp_path / "x.bfr")
    assert "not found" in assert_one_line_error(r)
    assert not (tmp_path / "x.bfr").exists()


def in_process_error(capsys, rc: int) -> str:
    """The same checks as assert_one_line_error, for main() called in this process."""
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert rc == 2 and "Traceback" not in captured.err and len(err.splitlines()) == 1, (rc, captured)
    assert err.startswith("biofeedback: ")
    return err


def test_busy_port_exit_2(emulators, tmp_path, capsys):
    em = emulators("arduino-emg")
    holder = serial.Serial(em.path, exclusive=True)  # another program holds the port
    try:
        rc = record(f"serial:{em.path}?device=arduino-emg&wait=0", tmp_path / "x.bfr", 1.0)
    finally:
        holder.close()
    assert "is busy" in in_process_error(capsys, rc)
    assert not (tmp_path / "x.bfr").exists()


def test_unknown_device_exit_2(tmp_path, capsys):
    rc = record("serial:/dev/ttyUSB0?device=toaster", tmp_path / "x.bfr", 1.0)
    assert "unknown device 'toaster'" in in_process_error(capsys, rc)


def test_no_permission_exit_2(emulators):
    """The real command, run as an ordinary user on a port that user may not open. Root may open anything,
    so as root the test forks and drops to 'nobody' before calling the command's main(); the kernel refuses."""
    port = forbidden_port(emulators("arduino-emg"))
    workdir = tempfile.mkdtemp(prefix="bf-perm-", dir="/tmp")
    os.chmod(workdir, 0o777)
    out = os.path.join(workdir, "x.bfr")
    try:
        status, text = run_as_ordinary_user(lambda: record(f"serial:{port}?device=arduino-emg&wait=0", Path(out), 1.0))
        assert status == 2, text
        assert len(text.strip().splitlines()) == 1 and text.startswith("biofeedback: no permission to open serial port")
        assert not os.path.exists(out)  # no empty recording left behind
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------- the two subcommands

def test_emulate_command_streams_on_its_link_until_interrupted(tmp_path):
    link = tmp_path / "ttyCyton"
    proc = subprocess.Popen([sys.executable, "-m", "biofeedback", "emulate", "openbci-cyton", "--profile",
                             "hypertonic", "--link", str(link), "--seed", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env())
    try:
        first = proc.stdout.readline()
        assert first.startswith("openbci-cyton emulator on /dev/") and str(link) in first
        assert os.path.islink(link)
        src = SerialSource(str(link), find_profile("openbci-cyton"))
        src.start()
        try:
            got = stack(drain(src, 5.0, until=lambda b: sum(x.n for x in b) >= 125), 2)
        finally:
            src.stop()
        assert len(got) >= 125 and np.isfinite(got).all() and np.std(got[:, 0]) > 0
        assert src.status.measured_rate is None or src.status.measured_rate == pytest.approx(250, rel=0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=5)
    assert proc.returncode == 0, err
    assert "emulator stopped" in out and not os.path.lexists(link)


def test_emulate_command_stops_cleanly_on_sigterm(tmp_path):
    link = tmp_path / "ttyP"
    proc = subprocess.Popen([sys.executable, "-m", "biofeedback", "emulate", "arduino-pressure", "--link", str(link)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env())
    assert "arduino-pressure emulator on" in proc.stdout.readline()
    proc.terminate()
    out, err = proc.communicate(timeout=5)
    assert proc.returncode == 0 and "emulator stopped" in out, err
    assert not os.path.lexists(link)


def test_emulate_unknown_device_exit_2(capsys):
    assert "unknown device" in in_process_error(capsys, main(["emulate", "toaster"]))


def test_devices_command_lists_profiles_and_user_folder(tmp_path, monkeypatch):
    folder = tmp_path / "mydevices"
    folder.mkdir()
    (folder / "my-board.json").write_text(
        '{"name": "my-board", "title": "my own board", "decoder": "text", "baud": 9600, "rate": 20,'
        ' "channels": [{"name": "pfm", "kind": "emg_rms", "unit": "uV"}]}')
    (folder / "broken.json").write_text('{"name": "broken", ')
    monkeypatch.setenv("BIOFEEDBACK_DEVICES", str(folder))
    r = subprocess.run([sys.executable, "-m", "biofeedback", "devices"], capture_output=True, text=True,
                       env={**cli_env(), "BIOFEEDBACK_DEVICES": str(folder)}, timeout=30)
    assert r.returncode == 0, r.stderr
    for name in ALL_DEVICES + ["my-board"]:
        assert name in r.stdout
    assert "Serial ports:" in r.stdout and str(folder) in r.stdout
    assert "warning: device profile" in r.stdout and "broken.json is not valid JSON" in r.stdout
    r = subprocess.run([sys.executable, "-m", "biofeedback", "devices", "--json"], capture_output=True, text=True,
                       env={**cli_env(), "BIOFEEDBACK_DEVICES": str(folder)}, timeout=30)
    import json
    listing = json.loads(r.stdout)
    assert {p["name"] for p in listing["profiles"]} >= set(ALL_DEVICES) | {"my-board"}
