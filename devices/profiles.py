"""Device profiles: one small JSON file per device, no code.

Built-in profiles live in ``devices/profiles/*.json``. A user adds a device by
dropping a JSON file (same fields) into a user folder: every folder named in the
environment variable ``BIOFEEDBACK_DEVICES`` (separated by ``os.pathsep``), or
else the platform's config folder: ``$XDG_CONFIG_HOME/biofeedback/devices``
(``~/.config/biofeedback/devices``) on Linux, ``~/Library/Application
Support/biofeedback/devices`` on macOS, ``%APPDATA%\\biofeedback\\devices`` on
Windows. A user profile with the same name as a built-in one replaces it.
``device=`` may also be the path of a JSON file.

Fields (``*`` = required)::

    name*            short name used in --source serial:PORT?device=NAME
    title            one line for people
    decoder*         "text", "cyton", "openeeg-p2" or "bitalino"
    decoder_options  options of the decoder (text: columns, counter, counter_modulo, ...)
    baud*            serial speed
    rate*            samples per second the device sends
    channels*        list of {name, kind (emg|emg_rms|pressure), unit, index (column of the
                     decoded samples), scale, offset}: value = counts x scale + offset
    counts           [lowest, highest] ADC count the device can send (for emulators)
    decimals         digits after the point a text device prints (for emulators)
    labels           true if a text device writes label:value pairs (for emulators)
    reset, reset_reply  command sent after opening and the text that ends its reply
    start, stop      commands that start and stop streaming ("" for none)
    wait_s           seconds to wait after opening (an Arduino resets when the port opens)
    notes            where the scale comes from, wiring, caveats
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biofeedback.paths import user_config_dir
from devices.decoders import DECODERS, Decoder, make_decoder

#: same kinds and units as biofeedback.stream (devices/ imports numpy only)
CHANNEL_KINDS = ("emg", "emg_rms", "pressure")
BUILTIN_DIR = Path(__file__).with_name("profiles")
SKETCH_DIR = Path(__file__).with_name("sketches")

#: accepted ranges (inclusive) of a serial device's settings, in a profile and in ``--source`` options
BAUD_LIMITS = (300, 12_000_000)          # bits per second
RATE_LIMITS = (1.0, 20_000.0)            # samples per second
WAIT_LIMITS = (0.0, 30.0)                # seconds to wait after opening the port
WATCHDOG_LIMITS = (0.2, 60.0)            # seconds without samples before the port counts as lost
LIMITS = {"baud": BAUD_LIMITS, "rate": RATE_LIMITS, "wait": WAIT_LIMITS, "wait_s": WAIT_LIMITS,
          "watchdog": WATCHDOG_LIMITS}
UNITS = {"baud": "baud", "rate": "samples per second", "wait": "seconds", "wait_s": "seconds",
         "watchdog": "seconds"}


def out_of_range(key: str, value: float) -> str:
    """Why ``value`` is not a valid ``key`` (baud, rate, wait, wait_s, watchdog), or "" if it is."""
    low, high = LIMITS[key]
    if not (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high):
        return f"{key} must be from {_plain(low)} to {_plain(high)} {UNITS[key]}, not {value!r}"
    return ""


def _plain(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


class ProfileError(ValueError):
    """A profile is missing, unreadable or wrong; the message is one line."""


@dataclass(frozen=True)
class ProfileChannel:
    name: str
    kind: str
    unit: str
    index: int
    scale: float = 1.0
    offset: float = 0.0


@dataclass(frozen=True)
class DeviceProfile:
    name: str
    decoder: str
    baud: int
    rate: float
    channels: tuple[ProfileChannel, ...]
    title: str = ""
    decoder_options: dict[str, Any] = field(default_factory=dict)
    counts: tuple[float, float] | None = None
    decimals: int = 0
    labels: bool = False
    reset: str = ""
    reset_reply: str = ""
    start: str = ""
    stop: str = ""
    wait_s: float = 0.0
    notes: str = ""
    path: str = ""

    def make_decoder(self) -> Decoder:
        return make_decoder(self.decoder, self.decoder_options)

    @property
    def n_columns(self) -> int:
        """Columns of decoded samples the channels use."""
        return max(c.index for c in self.channels) + 1

    @property
    def device_columns(self) -> int:
        """Columns the device sends (all of a binary format's channels; the used ones for text)."""
        fixed = getattr(self.make_decoder(), "n_columns", None)
        return max(self.n_columns, fixed or 0)

    def to_physical(self, counts):
        """(n, n_columns) decoded values -> (n, len(channels)) physical values (NaN stays NaN)."""
        import numpy as np
        counts = np.asarray(counts, dtype=np.float64)
        out = np.empty((counts.shape[0], len(self.channels)))
        for k, ch in enumerate(self.channels):
            out[:, k] = counts[:, ch.index] * ch.scale + ch.offset
        return out

    def to_counts(self, values):
        """(n, len(channels)) physical values -> (n, device_columns) values as the device sends them."""
        import numpy as np
        values = np.asarray(values, dtype=np.float64).reshape(-1, len(self.channels))
        out = np.zeros((values.shape[0], self.device_columns))
        for k, ch in enumerate(self.channels):
            raw = (values[:, k] - ch.offset) / ch.scale
            out[:, ch.index] = np.round(raw, self.decimals) if self.decoder == "text" else np.round(raw)
        if self.counts is not None:
            out = np.clip(out, self.counts[0], self.counts[1])
        return out


def _require(d: dict, key: str, where: str):
    if key not in d:
        raise ProfileError(f"{where}: missing field {key!r}")
    return d[key]


def _identity(d: dict[str, Any], where: str) -> tuple[str, str]:
    """The profile's name and its decoder (one of :data:`DECODERS`)."""
    name = str(_require(d, "name", where)).strip()
    if not name:
        raise ProfileError(f"{where}: empty name")
    decoder = str(_require(d, "decoder", where))
    if decoder not in DECODERS:
        raise ProfileError(f"{where}: unknown decoder {decoder!r}; use one of {', '.join(sorted(DECODERS))}")
    return name, decoder


def _channel(c: dict[str, Any], k: int, where: str) -> ProfileChannel:
    """Channel ``k`` (0-based): a known kind, a finite non-zero scale and a finite offset."""
    here = f"{where}: channel {k + 1}"
    kind = str(c.get("kind", "emg"))
    if kind not in CHANNEL_KINDS:
        raise ProfileError(f"{here} has kind {kind!r}; use one of {', '.join(CHANNEL_KINDS)}")
    scale = float(c.get("scale", 1.0))
    offset = float(c.get("offset", 0.0))
    if scale == 0:
        raise ProfileError(f"{here} has scale 0")
    if not (math.isfinite(scale) and math.isfinite(offset)):
        raise ProfileError(f"{here} needs a finite scale and offset")
    return ProfileChannel(name=str(_require(c, "name", here)), kind=kind,
                          unit=str(c.get("unit", "cmH2O" if kind == "pressure" else "uV")),
                          index=int(c.get("index", k)), scale=scale, offset=offset)


def _channels(d: dict[str, Any], where: str) -> tuple[ProfileChannel, ...]:
    raw = _require(d, "channels", where)
    if not isinstance(raw, list) or not raw:
        raise ProfileError(f"{where}: 'channels' must be a non-empty list")
    channels = tuple(_channel(c, k, where) for k, c in enumerate(raw))
    if any(c.index < 0 for c in channels):
        raise ProfileError(f"{where}: a channel index is negative")
    return channels


def _counts(value: Any, where: str) -> tuple[float, float] | None:
    """``[lowest, highest]`` ADC count, or None when the profile does not say."""
    if value is None:
        return None
    low, high = (float(x) for x in value)        # anything but two numbers is a ValueError or TypeError
    return low, high


def _build(d: dict[str, Any], where: str) -> DeviceProfile:
    """The profile from its fields; a field of the wrong type becomes one ProfileError naming the file."""
    try:
        name, decoder = _identity(d, where)
        return DeviceProfile(
            name=name, decoder=decoder, baud=int(_require(d, "baud", where)), rate=float(_require(d, "rate", where)),
            channels=_channels(d, where), title=str(d.get("title", "")),
            decoder_options=dict(d.get("decoder_options") or {}),
            counts=_counts(d.get("counts"), where),
            decimals=int(d.get("decimals", 0)), labels=bool(d.get("labels", False)),
            reset=str(d.get("reset", "")), reset_reply=str(d.get("reset_reply", "")),
            start=str(d.get("start", "")), stop=str(d.get("stop", "")), wait_s=float(d.get("wait_s", 0.0)),
            notes=str(d.get("notes", "")), path=str(d.get("path", "")))
    except ProfileError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, OverflowError) as exc:
        raise ProfileError(f"{where}: {exc}") from None


def _check_limits(profile: DeviceProfile, where: str) -> None:
    """Baud, rate and wait within what a serial port and the program can handle."""
    for key, value in (("baud", profile.baud), ("rate", profile.rate), ("wait_s", profile.wait_s)):
        problem = out_of_range(key, value)
        if problem:
            raise ProfileError(f"{where}: {problem}")


def _check_decoder(profile: DeviceProfile, where: str) -> None:
    """The decoder accepts the options and gives at least as many columns as the channels read."""
    try:
        decoder = profile.make_decoder()
    except (TypeError, ValueError) as exc:
        raise ProfileError(f"{where}: {exc}") from None
    fixed = getattr(decoder, "n_columns", None)
    if fixed is not None and profile.n_columns > fixed:
        raise ProfileError(f"{where}: a channel index is beyond the {fixed} columns the decoder gives")


def profile_from_dict(d: dict[str, Any], where: str = "profile") -> DeviceProfile:
    """Check and build a profile; raises ProfileError naming the file and the field."""
    if not isinstance(d, dict):
        raise ProfileError(f"{where}: a profile is a JSON object with name, decoder, baud, rate, channels")
    profile = _build(d, where)
    _check_limits(profile, where)
    _check_decoder(profile, where)
    return profile


def load_profile(path: str | os.PathLike) -> DeviceProfile:
    path = Path(path)
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"cannot read device profile {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ProfileError(f"device profile {path} is not valid JSON: {exc}") from None
    if isinstance(d, dict):
        d = {**d, "path": str(path)}
    return profile_from_dict(d, where=str(path))


def user_profile_dirs() -> list[Path]:
    """Folders searched for user profiles (see the module docstring)."""
    env = os.environ.get("BIOFEEDBACK_DEVICES")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return [user_config_dir("devices")]


def list_profiles() -> tuple[dict[str, DeviceProfile], list[str]]:
    """All known profiles by name (user ones replace built-ins) and one-line problems with broken files."""
    found: dict[str, DeviceProfile] = {}
    problems: list[str] = []
    for folder in [BUILTIN_DIR, *user_profile_dirs()]:
        try:
            if not folder.is_dir():
                continue
            paths = sorted(folder.glob("*.json"))
        except OSError as exc:
            problems.append(f"cannot read device folder {folder}: {exc.strerror or exc}")
            continue
        for path in paths:
            try:
                profile = load_profile(path)
            except ProfileError as exc:
                problems.append(str(exc))
                continue
            found[profile.name] = profile
    return found, problems


def find_profile(name: str) -> DeviceProfile:
    """The profile called ``name``, or loaded from ``name`` if it is a path to a JSON file."""
    if name.endswith(".json") or os.sep in name or (os.altsep and os.altsep in name):
        return load_profile(name)
    profiles, _ = list_profiles()
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ProfileError(f"unknown device {name!r}; known devices: {known} "
                           f"(add your own as a JSON file in {user_profile_dirs()[0]})")
    return profiles[name]
