"""A sensor on a serial port: ``serial:PORT?device=NAME[&baud=N][&rate=HZ][&wait=S][&watchdog=S]``.

``PORT`` is any path pyserial opens: ``/dev/ttyUSB0``, ``/dev/serial/by-id/...``,
a pseudo-terminal, ``COM3``. ``device`` names a profile (``biofeedback devices``
lists them) or a profile's JSON file. ``baud``, ``rate`` and ``wait`` (seconds to
wait after opening; an Arduino resets when the port opens) override the profile;
``watchdog`` sets the no-data time after which the port counts as lost (2 s).

How it behaves:

* :meth:`SerialSource.start` opens the port and talks to the device before it
  returns, so a wrong, busy or forbidden port, or a device that does not answer,
  raises :class:`SourceError` with one line. It waits ``wait`` seconds, sends
  the profile's stop and reset commands (and waits for the reset reply), drops
  whatever was waiting in the input buffer, and sends the start command.
* A reader thread then reads with a short timeout (never a busy loop, never
  blocked for long), decodes, scales counts to physical units and queues
  consecutive :class:`Block` s for :meth:`read`. It measures the real sample
  rate (``status.measured_rate``, over the last 5 s).
* Samples a device counter proves lost become NaN rows of the right length, and
  an ``Event(kind="gap", data={"samples": n})``.
* No samples for ``watchdog`` seconds, or a read error (cable pulled), makes the
  state ``disconnected`` and emits ``Event("disconnected")``. The thread then
  tries to reopen the same path every 0.5 s; the state stays ``disconnected``
  until samples flow again (an open port alone is not a device). Then it emits
  ``Event("reconnected", data={"after_s": ..., "samples": n})``. The samples lost
  during the outage cannot be counted (the device's counter restarts), so their
  number is **estimated from the host clock** (outage time x rate, to within a
  read interval) and inserted as NaN rows with an ``Event(kind="gap",
  data={"samples": n, "estimated": True})``, so the stream's clock stays in step
  with the room's clock and everything recorded before stays as it was.
* :meth:`stop` sends the stop command, closes the port and joins the thread
  within about 0.1 s (always well under 1 s). It is final: a port the reader
  thread opens after ``stop()`` (it was busy reconnecting) is closed at once,
  never kept, and the status stays ``idle``.
* After ``stop()`` the state is ``idle``; :attr:`SerialSource.last_state` keeps the
  last live state (``"streaming"``, ``"disconnected"``, ``"connecting"`` or
  ``"error"``) and :attr:`SerialSource.last_message` its message, so a caller can
  still tell that the device was gone when the session ended.
* :meth:`start` waits in the calling thread (after-open wait, reset reply);
  a ``KeyboardInterrupt`` raised there by a signal handler comes out of
  ``start()`` at once, with the port closed.
* ``baud``, ``rate``, ``wait`` and ``watchdog`` must be finite and within
  :data:`devices.profiles.LIMITS`; anything else is a one-line :class:`SourceError`.
"""
from __future__ import annotations

import errno
import os
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
import serial

from biofeedback.errors import SourceError
from biofeedback.sources.base import Source, SourceStatus
from biofeedback.stream import Block, Channel, Event, StreamInfo
from devices.profiles import BUILTIN_DIR, DeviceProfile, ProfileError, find_profile, out_of_range

READ_TIMEOUT_S = 0.05
JOIN_TIMEOUT_S = 2.0
REPLY_TIMEOUT_S = 3.0
RATE_WINDOW_S = 5.0
OPTIONS = ("device", "baud", "rate", "wait", "watchdog")
BUILTIN_PROFILE_EXAMPLE = str(BUILTIN_DIR / "generic-text.json")


@dataclass
class SerialStats:
    """Counters for the status bar and for tests."""

    bytes_read: int = 0
    samples: int = 0           # rows delivered, NaN rows included
    lost: int = 0              # NaN rows from counter gaps
    estimated_lost: int = 0    # NaN rows estimated for disconnections
    skipped_bytes: int = 0
    skipped_lines: int = 0
    restarts: int = 0
    disconnects: int = 0
    reconnects: int = 0


def explain_open_error(port: str, exc: BaseException) -> str:
    """One line that says what went wrong opening ``port`` and what to do."""
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code is None and exc.args and isinstance(exc.args[0], int):
        code = exc.args[0]
    lowered = text.lower()
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO) or "filenotfound" in lowered or "cannot find" in lowered:
        return (f"serial port {port} not found: plug the device in, or pick a port that "
                f"'biofeedback devices' lists")
    if code in (errno.EBUSY, errno.EAGAIN) or "exclusively lock" in lowered or "busy" in lowered:
        return f"serial port {port} is busy: another program has it open; close that program and try again"
    if code in (errno.EACCES, errno.EPERM) or "permission" in lowered or "access is denied" in lowered:
        if os.name == "nt":  # Windows says "access denied" when another program holds the port
            return f"cannot open {port}: access denied, probably another program has it open; close it and try again"
        return (f"no permission to open serial port {port}: add yourself to the port's group "
                f"(on most Linux systems: sudo usermod -aG dialout $USER, then log in again)")
    if isinstance(exc, OverflowError) or "baud" in lowered:
        return f"serial port {port} cannot be set to this speed ({text}): check baud= and the device's profile"
    if code in (errno.ENOTTY, errno.EINVAL) or "could not configure port" in lowered:
        return f"{port} is not a serial port: pick a port that 'biofeedback devices' lists"
    return f"cannot open serial port {port}: {text}"


class SerialSource(Source):
    """A device profile spoken over a serial port, with a reader thread that survives unplugging."""

    def __init__(self, port: str, profile: DeviceProfile, *, baud: int | None = None, rate: float | None = None,
                 wait_s: float | None = None, watchdog_s: float = 2.0, retry_s: float = 0.5,
                 reply_timeout_s: float = REPLY_TIMEOUT_S,
                 spec_text: str = "") -> None:
        super().__init__()
        self.port = port
        self.profile = profile
        baud = profile.baud if baud is None else baud
        rate = profile.rate if rate is None else rate
        wait_s = profile.wait_s if wait_s is None else wait_s
        for key, value in (("baud", baud), ("rate", rate), ("wait", wait_s), ("watchdog", watchdog_s)):
            problem = out_of_range(key, value)
            if problem:
                raise SourceError(f"serial source {port}: {problem}")
        if int(baud) != baud:
            raise SourceError(f"serial source {port}: baud must be a whole number, not {baud!r}")
        self.baud = int(baud)
        self.wait_s = float(wait_s)
        self.watchdog_s = float(watchdog_s)
        self.retry_s = float(retry_s)
        self.reply_timeout_s = float(reply_timeout_s)
        rate = float(rate)
        self.info = StreamInfo(channels=tuple(Channel(c.name, c.kind, c.unit) for c in profile.channels),
                               rate=rate, source=spec_text or f"serial:{port}?device={profile.name}",
                               device=profile.name)
        self.stats = SerialStats()
        self._status = SourceStatus(state="idle")
        #: the last live state and its message, kept when stop() makes the state "idle" ("" before stop())
        self.last_state = ""
        self.last_message = ""
        self._blocks: list[Block] = []
        self._lock = threading.Lock()
        self._port_lock = threading.Lock()  # guards _serial and _closing
        self._closing = False               # set by stop(): no port may be kept after that
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._serial: serial.Serial | None = None
        self._next_index = 0
        self._rate_points: deque[tuple[float, int]] = deque()
        self._last_sample_at: float | None = None   # host time of the last delivered sample
        self._outage_started: float | None = None
        self._outage_reason = ""

    # ------------------------------------------------------------------ Source interface
    def start(self) -> None:
        if self._thread is not None:
            return
        with self._port_lock:
            self._closing = False
        self._stop_event.clear()
        self.last_state = self.last_message = ""
        self._status.state = "connecting"
        self._status.message = f"opening {self.port}"
        try:
            ser = self._open()
        except SourceError as exc:
            self._status.state, self._status.message = "error", str(exc)
            raise
        try:
            self._handshake(ser)
        except BaseException as exc:  # SourceError, or Ctrl-C while waiting for the device: never keep the port
            _quiet_close(ser)
            self._status.state = "error" if isinstance(exc, SourceError) else "idle"
            self._status.message = str(exc) if isinstance(exc, SourceError) else "interrupted while opening"
            raise
        if not self._keep(ser):  # stop() was called (from another thread) while the port was opening
            return
        self._status.state = "streaming"
        self._status.message = f"{self.profile.name} on {self.port}"
        self._thread = threading.Thread(target=self._run, name=f"serial {self.port}", daemon=True)
        self._thread.start()

    def read(self) -> list[Block]:
        with self._lock:
            blocks, self._blocks = self._blocks, []
        return blocks

    def stop(self) -> None:
        with self._port_lock:
            self._closing = True
            self._stop_event.set()
            if self._status.state not in ("idle", ""):
                self.last_state, self.last_message = self._status.state, self._status.message
        if self._thread is not None:
            self._thread.join(timeout=JOIN_TIMEOUT_S)
            self._thread = None
        self._close(send_stop=True)
        if self._status.state != "error":
            self._status.state = "idle"
            self._status.message = "stopped" + (f" (was {self.last_state}: {self.last_message})"
                                                if self.last_state not in ("", "streaming") else "")

    # ------------------------------------------------------------------ opening and talking
    def _open(self) -> serial.Serial:
        ser = serial.Serial()
        try:
            ser.port = self.port
            ser.baudrate = self.baud
            ser.timeout = READ_TIMEOUT_S
            ser.write_timeout = 1.0
            if os.name == "posix":
                ser.exclusive = True  # a second program on the same port is an error, not a silent tug of war
            ser.open()
        except (serial.SerialException, OSError, ValueError, OverflowError, TypeError) as exc:
            # OverflowError/ValueError: pyserial or termios refusing the speed
            _quiet_close(ser)
            raise SourceError(explain_open_error(self.port, exc)) from None
        except BaseException:  # Ctrl-C right while opening: never leave the port held
            _quiet_close(ser)
            raise
        return ser

    def _keep(self, ser: serial.Serial) -> bool:
        """Make ``ser`` the open port unless stop() came first; then close it and say no."""
        with self._port_lock:
            if not self._closing:
                self._serial = ser
                return True
        _quiet_close(ser)
        return False

    def _write(self, ser: serial.Serial, command: str) -> None:
        if command:
            ser.write(command.encode("latin-1"))
            ser.flush()

    def _handshake(self, ser: serial.Serial) -> None:
        """Wait for the device, stop it, reset it (waiting for its reply), drop stale input, start it."""
        p = self.profile
        try:
            if self.wait_s > 0 and self._stop_event.wait(self.wait_s):
                return
            self._write(ser, p.stop)
            if p.reset:
                ser.reset_input_buffer()
                self._write(ser, p.reset)
                if p.reset_reply and not self._wait_for(ser, p.reset_reply.encode("latin-1")):
                    raise SourceError(f"no reply from {self.port} to the {p.reset!r} command within "
                                      f"{self.reply_timeout_s:g} s: is it a {p.title or p.name}, switched on?")
            ser.reset_input_buffer()
            self._write(ser, p.start)
        except (serial.SerialException, OSError, ValueError, TypeError) as exc:
            # ValueError/TypeError: pyserial using a port that stop() closed under it
            raise SourceError(f"lost serial port {self.port} while starting the device: {exc}") from None

    def _wait_for(self, ser: serial.Serial, reply: bytes) -> bool:
        deadline = time.monotonic() + self.reply_timeout_s
        seen = b""
        while time.monotonic() < deadline and not self._stop_event.is_set():
            seen = (seen + ser.read(max(1, ser.in_waiting)))[-4096:]
            if reply in seen:
                return True
        return False

    def _close(self, send_stop: bool = False) -> None:
        with self._port_lock:
            ser, self._serial = self._serial, None
        if ser is None:
            return
        try:
            if send_stop and ser.is_open:
                self._write(ser, self.profile.stop)
        except (serial.SerialException, OSError, ValueError, TypeError):
            pass
        _quiet_close(ser)

    # ------------------------------------------------------------------ reader thread
    def _run(self) -> None:
        decoder = self.profile.make_decoder()
        last_samples = time.monotonic()
        bytes_since_samples = 0
        while not self._stop_event.is_set():
            ser = self._serial
            if ser is None:
                if self._stop_event.wait(self.retry_s):
                    break
                if self._reopen():
                    decoder = self.profile.make_decoder()
                    last_samples = time.monotonic()
                    bytes_since_samples = 0
                continue
            try:
                waiting = ser.in_waiting
                data = ser.read(waiting or 1)
                if data and not waiting and ser.in_waiting:
                    data += ser.read(ser.in_waiting)
            except (serial.SerialException, OSError, TypeError) as exc:
                # TypeError: pyserial reading a port that was closed under it
                self._lost_port(f"read failed: {exc}")
                continue
            now = time.monotonic()
            if data:
                self.stats.bytes_read += len(data)
                bytes_since_samples += len(data)
                result = decoder.feed(data)
                self.stats.skipped_bytes += result.skipped_bytes
                self.stats.skipped_lines += result.skipped_lines
                self.stats.restarts += result.restarts
                if result.n:
                    self._deliver(result, now)
                    last_samples = now
                    bytes_since_samples = 0
            if now - last_samples > self.watchdog_s:
                if bytes_since_samples:
                    self._lost_port(f"{bytes_since_samples} bytes in {self.watchdog_s:g} s but no {self.profile.name} "
                                    f"samples: check device= and baud=")
                else:
                    self._lost_port(f"no data for {self.watchdog_s:g} s")
        self._close(send_stop=True)

    def _reopen(self) -> bool:
        try:
            ser = self._open()
        except SourceError:
            return False
        if self._stop_event.is_set():  # stop() came while the port was opening: do not even talk to the device
            _quiet_close(ser)
            return False
        try:
            self._handshake(ser)
        except SourceError:
            _quiet_close(ser)
            return False
        with self._port_lock:
            if self._closing:
                kept = False
            else:
                kept = True
                self._serial = ser
                # still "disconnected" until samples flow again: an open port is not yet a device
                self._status.message = (f"{self.port} disconnected ({self._outage_reason}); "
                                        f"port open again, waiting for data")
        if not kept:
            _quiet_close(ser)
        return kept

    def _lost_port(self, reason: str) -> None:
        self._close()
        if self._stop_event.is_set():  # stop() closed the port under the reader: not a disconnection
            return
        self._outage_reason = reason
        self._status.state = "disconnected"
        self._status.message = f"{self.port} disconnected ({reason}); reconnecting"
        if self._outage_started is None:
            self._outage_started = time.monotonic()
            self.stats.disconnects += 1
            self._rate_points.clear()
            self.emit(Event(time_s=self._next_index / self.info.rate, kind="disconnected",
                            label=f"{self.port} disconnected", data={"reason": reason, "port": self.port}))

    def _deliver(self, result, now: float) -> None:
        rate = self.info.rate
        raw = result.samples
        if raw.shape[1] < self.profile.n_columns:  # a text device printing fewer columns than the profile uses
            raw = np.hstack([raw, np.full((raw.shape[0], self.profile.n_columns - raw.shape[1]), np.nan)])
        values = self.profile.to_physical(raw)
        blocks: list[Block] = []
        if self._outage_started is not None:
            blocks.append(self._bridge_outage(now, result.n))
        start = self._next_index
        blocks.append(Block(start=start, data=values, arrival=now))
        for row, count in result.gaps:
            self.emit(Event(time_s=(start + row) / rate, kind="gap", label=f"{count} samples lost",
                            data={"samples": int(count)}))
        self.stats.lost += result.lost
        self._status.dropped += result.lost
        self._next_index = start + result.n
        self.stats.samples += result.n
        self._last_sample_at = now
        self._measure_rate(now)
        with self._lock:
            self._blocks.extend(blocks)

    def _bridge_outage(self, now: float, n_new: int) -> Block:
        """NaN rows for the time the port was gone (estimated from the host clock), and the events."""
        rate = self.info.rate
        first_new_at = now - n_new / rate
        started = self._outage_started if self._outage_started is not None else now
        since = self._last_sample_at if self._last_sample_at is not None else started
        missing = max(0, int(round((first_new_at - since) * rate)))
        after_s = now - started
        start = self._next_index
        self.emit(Event(time_s=start / rate, kind="gap", label=f"about {missing / rate:.1f} s lost while disconnected",
                        data={"samples": missing, "estimated": True, "reason": "disconnected"}))
        self.emit(Event(time_s=(start + missing) / rate, kind="reconnected", label=f"{self.port} reconnected",
                        data={"after_s": round(after_s, 3), "samples": missing, "port": self.port}))
        self._outage_started = None
        self.stats.reconnects += 1
        self.stats.estimated_lost += missing
        self.stats.samples += missing
        self._status.dropped += missing
        self._status.state = "streaming"
        self._status.message = f"{self.profile.name} on {self.port} (reconnected)"
        self._next_index = start + missing
        return Block(start=start, data=np.full((missing, self.info.n_channels), np.nan), arrival=now)

    def _measure_rate(self, now: float) -> None:
        points = self._rate_points
        points.append((now, self.stats.samples))
        while len(points) > 2 and now - points[0][0] > RATE_WINDOW_S:
            points.popleft()
        t0, s0 = points[0]
        if now - t0 >= 1.0:
            measured = (self.stats.samples - s0) / (now - t0)
            self._status.measured_rate = measured
            if now - t0 >= 3.0 and abs(measured / self.info.rate - 1.0) > 0.05:
                self._status.message = (f"{self.port} sends about {measured:.0f} samples/s but the profile says "
                                        f"{self.info.rate:g}: times will be off; add &rate=N to the source")
            elif self._status.message.endswith("add &rate=N to the source"):
                self._status.message = f"{self.profile.name} on {self.port}"


def _quiet_close(ser: serial.Serial) -> None:
    try:
        ser.close()
    except (serial.SerialException, OSError, ValueError, TypeError):
        pass


def list_serial_ports() -> list[tuple[str, str, str]]:
    """Serial ports the system reports: (device path, description, hardware id)."""
    from serial.tools import list_ports
    try:
        ports = list_ports.comports()
    except OSError:
        return []
    return sorted((p.device, p.description or "", p.hwid or "") for p in ports)


def describe_devices(as_json: bool = False) -> str:
    """The ``biofeedback devices`` listing: ports found, known device profiles, where to add one."""
    from devices.profiles import list_profiles, user_profile_dirs
    ports = list_serial_ports()
    profiles, problems = list_profiles()
    folders = [str(p) for p in user_profile_dirs()]
    if as_json:
        import json
        return json.dumps({
            "ports": [{"device": d, "description": desc, "hwid": hw} for d, desc, hw in ports],
            "profiles": [{"name": p.name, "title": p.title, "decoder": p.decoder, "rate": p.rate, "baud": p.baud,
                          "channels": [{"name": c.name, "kind": c.kind, "unit": c.unit} for c in p.channels],
                          "path": p.path} for p in profiles.values()],
            "user_folders": folders, "problems": problems}, indent=2)
    lines = ["Serial ports:"]
    if ports:
        width = max(len(d) for d, _, _ in ports)
        lines += [f"  {d:<{width}}  {desc if desc != 'n/a' else ''}" + (f"  [{hw}]" if hw and hw != "n/a" else "")
                  for d, desc, hw in ports]
    else:
        lines.append("  none found (plug the device in; on Linux check that you are in the 'dialout' group)")
    lines += ["", "Devices (use as --source 'serial:PORT?device=NAME'):"]
    width = max((len(n) for n in profiles), default=4)
    for name in sorted(profiles):
        p = profiles[name]
        channels = ", ".join(f"{c.name} {c.unit}" for c in p.channels)
        lines.append(f"  {name:<{width}}  {p.rate:>6g} Hz {p.baud:>7} baud  {channels:<22} {p.title}")
    lines += ["", f"Add a device: copy a profile JSON (e.g. {BUILTIN_PROFILE_EXAMPLE}) into "
              f"{os.pathsep.join(folders)} (or set BIOFEEDBACK_DEVICES) and edit it."]
    lines += [f"warning: {problem}" for problem in problems]
    return "\n".join(lines)


def open_serial(spec, speed: float | None = None) -> SerialSource:
    """Build a :class:`SerialSource` from a parsed ``serial:PORT?device=NAME&...`` spec (speed is ignored)."""
    example = "serial:/dev/ttyUSB0?device=arduino-emg"
    if not spec.name:
        raise SourceError(f"the serial source needs a port, e.g. {example!r}")
    unknown = sorted(set(spec.options) - set(OPTIONS))
    if unknown:
        raise SourceError(f"unknown option {unknown[0]!r} in --source {spec.text!r}; "
                          f"serial options are {', '.join(OPTIONS)}")
    device = spec.options.get("device", "")
    if not device:
        raise SourceError(f"say which device is on {spec.name}: add ?device=NAME, e.g. {example!r} "
                          f"('biofeedback devices' lists the known devices)")
    try:
        profile = find_profile(device)
    except ProfileError as exc:
        raise SourceError(str(exc)) from None

    def number(key: str, cast):
        if key not in spec.options:
            return None
        text = spec.options[key]
        try:
            value = cast(text.strip().replace(" ", "+"))  # a "+" in a query string arrives as a space
        except ValueError:
            kind = "a whole number" if cast is int else "a number"
            raise SourceError(f"option {key}={text!r} in --source is not {kind}") from None
        problem = out_of_range(key, value)
        if problem:
            raise SourceError(f"option {key}={text!r} in --source is out of range: {problem.split(', not ')[0]}")
        return value

    watchdog = number("watchdog", float)
    return SerialSource(spec.name, profile, baud=number("baud", int), rate=number("rate", float),
                        wait_s=number("wait", float), watchdog_s=watchdog if watchdog is not None else 2.0,
                        spec_text=spec.text)
