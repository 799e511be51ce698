"""Device emulators: a simulated patient spoken in a real device's byte format on a pseudo-terminal.

``biofeedback emulate DEVICE`` lets anyone try the program without hardware, and
the tests use :class:`DeviceEmulator` in-process to drive the real serial path
(pyserial, termios, the reader thread) end to end.

The emulator opens a pseudo-terminal (POSIX only), optionally points a stable
symlink at it, and streams at the device's real rate, paced from elapsed time
(not per-sample sleeps). Devices with a start command (OpenBCI Cyton: ``b``)
stream only after it, stop on their stop command (``s``) and answer their reset
command (``v``) with the device's reply ending in ``$$$``. Devices without
commands (Arduino sketches, the Olimex shield) stream from the start, as the
real boards do once powered. If nobody reads, the emulator keeps at most about
0.1 s of output queued (beyond what the kernel buffers) and, like a real board with a full buffer, drops the
rest (its counter keeps counting).

:meth:`DeviceEmulator.sent_values` returns exactly the samples that went out in
full, in physical units as the profile's scale turns them (that is what a
faithful receiver must record), for round-trip comparisons.
"""
from __future__ import annotations

import fcntl
import hashlib
import math
import os
import re
import select
import signal
import tempfile
import threading
import time
import tty
from collections.abc import Callable

import numpy as np

from biofeedback.errors import UserError
from biofeedback.sources.patient import SimulatedPatient
from devices import bitalino, cyton, openeeg, text
from devices.profiles import DeviceProfile, ProfileError, find_profile

CYTON_REPLY = (b"OpenBCI V3 8-16 channel\nOn Board ADS1299 Device ID: 0x3E\n"
               b"LIS3DH Device ID: 0x33\nFirmware: v3.1.2\n$$$")
REPLIES = {"cyton": CYTON_REPLY, "bitalino": b"BITalino_v5.1\n"}
TICK_S = 0.005
MIN_SIM_RATE = 250.0
PTY_PATH = re.compile(r"^/dev/(pts/\d+|ttys\d+)$")  # Linux and the BSDs/macOS


def _link_lock_path(link: str) -> str:
    key = hashlib.sha256(os.path.abspath(link).encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"biofeedback-emulate-{os.getuid()}-{key}.lock")


def take_link_lock(link: str) -> int | None:
    """Hold the lock that says "an emulator is serving ``link``" (None if no lock can be made here).

    A live emulator already serving ``link`` is refused in one line.

    The kernel drops the lock when its process dies, even by SIGKILL: a link whose lock is free was left
    by an emulator that is gone, whatever its pseudo-terminal's number now belongs to.
    """
    try:
        fd = os.open(_link_lock_path(link), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise UserError(f"{link} is in use: another emulator is running on it; stop that one or choose "
                        f"another --link path") from None
    except OSError:
        os.close(fd)
        return None
    return fd


def link_problem(link: str, stale: bool = False) -> str:
    """Why ``--link`` may not be (re)made at ``link``, or "" if nothing is there or only a stale pty link.

    Only a symlink to a pseudo-terminal may be replaced, and only when it is stale: the pseudo-terminal
    no longer exists, or (``stale``, we hold the link's lock) the emulator that made it is gone, even if a
    program still holds its dead terminal open or the number now belongs to another terminal. Anything
    else there is somebody's: never touched.
    """
    if not os.path.lexists(link):
        return ""
    if not os.path.islink(link):
        kind = "a folder" if os.path.isdir(link) else "a file"
        return f"{link} already exists and is {kind}: choose another --link path"
    target = os.readlink(link)
    full = os.path.join(os.path.dirname(link), target)
    if not PTY_PATH.match(os.path.normpath(full)):
        return f"{link} already exists and links to {target}: choose another --link path"
    if os.path.exists(full) and not stale:
        return (f"{link} already links to the pseudo-terminal {target}, which is in use (is another emulator "
                f"running?): stop that one or choose another --link path")
    return ""


def cycles_script(rest_s: float = 5.0, contract_s: float = 5.0, effort: float = 0.6) -> Callable[[float], float]:
    """Target effort over time: rest, contract gently, release, again and again."""
    period = rest_s + contract_s
    return lambda t: effort if (t % period) >= rest_s else 0.0


class DeviceEmulator:
    """One emulated device on a pseudo-terminal; ``start()`` / ``stop()`` (stop = cable pulled)."""

    def __init__(self, device: str | DeviceProfile, patient: str = "healthy", seed: int = 0,
                 link: str | os.PathLike | None = None,
                 signal: Callable[[int], np.ndarray] | None = None,
                 script: Callable[[float], float] | None = None, keep_sent: bool = True) -> None:
        try:
            self.profile = device if isinstance(device, DeviceProfile) else find_profile(device)
        except ProfileError as exc:
            raise UserError(str(exc)) from None
        if os.name != "posix":
            raise UserError("device emulators need pseudo-terminals, which this system does not have (POSIX only)")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise UserError(f"the seed must be a whole number 0 or more, not {seed!r}")
        self.rate = self.profile.rate
        self.link = os.fspath(link) if link else None
        self.keep_sent = keep_sent
        self._signal = signal or self._patient_signal(patient, seed, script)
        self.pty_path = ""
        self.streaming = not self.profile.start
        self.samples_generated = 0
        self.samples_dropped = 0       # generated but never written (nobody read, buffer full)
        self.commands: list[bytes] = []
        self._command_buf = b""
        self.error = ""
        self._counter = 0
        self._master = self._slave = -1
        self._pending = bytearray()
        self._pending_ends: list[tuple[int, np.ndarray, np.ndarray]] = []  # (end in pending, counts, values)
        self._sent = bytearray()
        self._bytes_written = 0
        self._sent_counts: list[np.ndarray] = []
        self._sent_intended: list[np.ndarray] = []
        self._inject: list[bytes] = []
        self._drop_next = 0
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._anchor: float | None = None
        self._anchor_sample = 0
        self._link_id: tuple[int, int] | None = None  # (device, inode) of the link we made
        self._lock_fd: int | None = None              # the link's lock while we serve it

    # ------------------------------------------------------------------ signal
    def _patient_signal(self, patient: str, seed: int, script) -> Callable[[int], np.ndarray]:
        names = [c.name for c in self.profile.channels]
        # slow devices (pressure at 50 Hz): simulate at a multiple of the rate and keep every k-th sample,
        # since the simulated EMG needs a rate well above its band
        k = max(1, math.ceil(MIN_SIM_RATE / self.rate))
        try:
            sim = SimulatedPatient(profile=patient, rate=self.rate * k, seed=seed, abdominal="abd" in names,
                                   pressure="pressure" in names, emg="pfm" in names)
        except (KeyError, ValueError) as exc:
            raise UserError(f"cannot simulate patient {patient!r}: {exc}") from None
        sim.script = script or cycles_script()
        columns = [sim.info.index_of(n) if n in sim.info.names else None for n in names]

        def signal(n: int) -> np.ndarray:
            data = sim.generate(n * k)[::k]
            out = np.zeros((n, len(names)))
            for j, col in enumerate(columns):
                if col is not None:
                    out[:, j] = data[:, col]
            return out

        return signal

    # ------------------------------------------------------------------ control
    @property
    def path(self) -> str:
        """What a program should open: the link if there is one, else the pseudo-terminal."""
        return self.link or self.pty_path

    def start(self) -> DeviceEmulator:
        if self._thread is not None:
            return self
        if self.link:
            self._lock_fd = take_link_lock(self.link)
            if problem := link_problem(self.link, stale=self._lock_fd is not None):
                self._release_lock()
                raise UserError(problem)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line-end translation, even before a program opens the port
        os.set_blocking(self._master, False)
        self.pty_path = os.ttyname(self._slave)
        if self.link:
            try:
                self._make_link()
            except UserError:
                self._close_pty()
                self._release_lock()
                raise
        if self.profile.decoder == "text" and self.profile.labels:
            self._queue_bytes((",".join(f"{c.name}:" for c in self.profile.channels) + "\r\n").encode())
        self._stop_event.clear()
        if self.streaming:
            self._begin_streaming()
        self._thread = threading.Thread(target=self._run, name=f"emulate {self.profile.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop streaming and close the pseudo-terminal (to a program reading it, the cable was pulled)."""
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        self._remove_link()  # before the pty closes, so its number cannot have been handed to anyone else yet
        self._close_pty()
        self._release_lock()

    def _release_lock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)          # closing drops the lock

    def _make_link(self) -> None:
        """Point the link at our pty: a new link, or atomically over a stale one (checked just before)."""
        link = self.link
        if link is None:
            return
        try:
            if not os.path.lexists(link):
                os.symlink(self.pty_path, link)  # fails if something appeared meanwhile: never replaces
            else:
                tmp = f"{link}.tmp{os.getpid()}"
                if os.path.lexists(tmp):
                    os.unlink(tmp)
                os.symlink(self.pty_path, tmp)
                if problem := link_problem(link, stale=self._lock_fd is not None):
                    os.unlink(tmp)
                    raise UserError(problem)
                os.replace(tmp, link)
            st = os.lstat(link)
        except FileExistsError:
            raise UserError(f"{self.link} already exists: choose another --link path") from None
        except OSError as exc:
            raise UserError(f"cannot make the link {self.link}: {exc.strerror or exc}") from None
        self._link_id = (st.st_dev, st.st_ino)

    def _remove_link(self) -> None:
        """Remove the link only if it is still the one we made, pointing at our pty."""
        if not self.link or self._link_id is None:
            return
        try:
            st = os.lstat(self.link)
            if (st.st_dev, st.st_ino) == self._link_id and os.readlink(self.link) == self.pty_path:
                os.unlink(self.link)
        except OSError:
            pass
        self._link_id = None

    def __enter__(self) -> DeviceEmulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def inject(self, data: bytes) -> None:
        """Send ``data`` (garbage, a banner) between two packets."""
        with self._lock:
            self._inject.append(bytes(data))

    def drop_next(self, n: int) -> None:
        """Do not send the next ``n`` samples (the device's counter still counts them): a loss on the wire."""
        with self._lock:
            self._drop_next += int(n)

    # ------------------------------------------------------------------ what went out
    def sent_bytes(self) -> bytes:
        with self._lock:
            return bytes(self._sent)

    def sent_counts(self) -> np.ndarray:
        """Device values (n, decoder columns) of every sample whose packet went out in full, in order."""
        with self._lock:
            parts = list(self._sent_counts)
        if not parts:
            return np.empty((0, self.profile.device_columns))
        return np.concatenate(parts, axis=0)

    def intended_values(self) -> np.ndarray:
        """The simulated patient's values (n, channels) before the device quantised them, for the same samples."""
        with self._lock:
            parts = list(self._sent_intended)
        if not parts:
            return np.empty((0, len(self.profile.channels)))
        return np.concatenate(parts, axis=0)

    def sent_values(self) -> np.ndarray:
        """Physical values (n, channels) of the samples that went out, as the profile's scale makes them."""
        return self.profile.to_physical(self.sent_counts())

    # ------------------------------------------------------------------ the device's loop
    def _close_pty(self) -> None:
        for fd in (self._master, self._slave):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = -1

    def _begin_streaming(self) -> None:
        self.streaming = True
        self._anchor = time.monotonic()
        self._anchor_sample = self.samples_generated

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # a broken emulator must say why, not vanish
            self.error = f"{type(exc).__name__}: {exc}"
            self._close_pty()

    def _loop(self) -> None:
        while not self._stop_event.is_set():
            try:
                readable, _, _ = select.select([self._master], [], [], TICK_S)
                if readable:
                    self._commands(os.read(self._master, 1024))
            except BlockingIOError:
                pass
            except OSError:
                time.sleep(TICK_S)  # nobody has the port open right now
            if self.streaming and self._anchor is not None:
                due = self._anchor_sample + int((time.monotonic() - self._anchor) * self.rate) - self.samples_generated
                if due > 0:
                    self._produce(min(due, int(self.rate) + 1))
            self._flush()

    def _commands(self, data: bytes) -> None:
        """Act on the profile's commands (they may be several bytes long, e.g. BITalino's set-rate + start)."""
        p = self.profile
        known = sorted(((c.encode("latin-1"), name) for name, c in
                        (("reset", p.reset), ("start", p.start), ("stop", p.stop)) if c), key=lambda x: -len(x[0]))
        for byte in data:
            self.commands.append(bytes([byte]))
            self._command_buf = (self._command_buf + bytes([byte]))[-16:]
            for command, name in known:
                if not self._command_buf.endswith(command):
                    continue
                self._command_buf = b""
                if name == "reset":
                    self.streaming = False
                    self._queue_bytes(REPLIES.get(p.decoder, b"ready\r\n"))
                elif name == "start" and not self.streaming:
                    self._begin_streaming()
                elif name == "stop":
                    self.streaming = False
                break

    def _encode(self, counts: np.ndarray, counter: int) -> bytes:
        p = self.profile
        if p.decoder == "cyton":
            return cyton.encode(counts, counter_start=counter)
        if p.decoder == "openeeg-p2":
            return openeeg.encode(counts, counter_start=counter)
        if p.decoder == "bitalino":
            return bitalino.encode(counts, counter_start=counter)
        options = p.decoder_options
        labels = [c.name for c in p.channels] if p.labels else None
        return text.encode(counts, counter_start=counter if options.get("counter") else None,
                           counter_modulo=int(options.get("counter_modulo", 65536)), decimals=p.decimals,
                           labels=labels)

    def _produce(self, n: int) -> None:
        values = np.asarray(self._signal(n), dtype=np.float64).reshape(n, -1)
        counts = self.profile.to_counts(values)
        self.samples_generated += n
        limit = max(512, int(self.rate * 34 * 0.1))  # about 0.1 s of the largest packets, like a USB chip's buffer
        with self._lock:
            injections, self._inject = self._inject, []
            for k in range(n):
                counter, self._counter = self._counter, self._counter + 1
                if self._drop_next > 0:
                    self._drop_next -= 1
                    continue
                if len(self._pending) > limit:
                    self.samples_dropped += 1
                    continue
                self._pending += self._encode(counts[k:k + 1], counter)
                self._pending_ends.append((len(self._pending), counts[k:k + 1], values[k:k + 1]))
                for junk in injections:
                    self._pending += junk
                injections = []
            for junk in injections:
                self._pending += junk

    def _queue_bytes(self, data: bytes) -> None:
        with self._lock:
            self._pending += data

    def _flush(self) -> None:
        with self._lock:
            if not self._pending or self._master < 0:
                return
            try:
                written = os.write(self._master, self._pending)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if self.keep_sent:
                self._sent += self._pending[:written]
            self._bytes_written += written
            del self._pending[:written]
            done = 0
            for end, rows, values in self._pending_ends:
                if end > written:
                    break
                if self.keep_sent:
                    self._sent_counts.append(rows)
                    self._sent_intended.append(values)
                done += 1
            self._pending_ends = [(end - written, rows, values) for end, rows, values in self._pending_ends[done:]]


def run_emulator(device: str, patient: str = "healthy", seed: int = 0, link: str | None = None,
                 duration_s: float | None = None, out=print) -> int:
    """The ``biofeedback emulate`` command: stream until Ctrl-C (or ``duration_s``), say where."""
    emulator = DeviceEmulator(device, patient=patient, seed=seed, link=link, keep_sent=False)
    emulator.start()
    stop = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():  # a plain kill stops it cleanly too
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    p = emulator.profile
    where = f"{emulator.pty_path}" + (f" (link {emulator.link})" if emulator.link else "")
    out(f"{p.name} emulator on {where}: {p.rate:g} Hz, {p.baud} baud, patient {patient!r}, seed {seed}")
    out(f"try: biofeedback record --source 'serial:{emulator.path}?device={p.name}&wait=0' --duration 60 --out try.bfr")
    try:
        deadline = None if duration_s is None else time.monotonic() + duration_s
        while (deadline is None or time.monotonic() < deadline) and not emulator.error and not stop.is_set():
            stop.wait(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if emulator.error:
        raise UserError(f"the emulator failed: {emulator.error}")
    out(f"emulator stopped after {emulator.samples_generated} samples")
    return 0
