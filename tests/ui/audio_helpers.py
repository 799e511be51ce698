"""An audio output device for tests: the machine's own, else ALSA's null device (PLATFORM.md), else a skip."""
from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from biofeedback.ui import sound_output
from biofeedback.ui.sound_output import output_device_available

ALSA_CONF = Path("/usr/share/alsa/alsa.conf")


@contextlib.contextmanager
def output_device(folder: Path) -> Iterator[str]:
    """Yield the device's name; PortAudio is restarted to see the null device, and again after."""
    ok, why = output_device_available()
    if ok:
        yield why
        return
    sd = sound_output._sounddevice()
    if sd is None:
        pytest.skip(f"no live sound test: {why} (apt-get install libportaudio2)")
    if not ALSA_CONF.exists():
        pytest.skip(f"no live sound test: {why}, and no {ALSA_CONF} to make ALSA's null device from")
    conf = folder / "alsa.conf"
    shutil.copy(ALSA_CONF, conf)
    with open(conf, "a") as fh:
        fh.write("\npcm.!default { type null }\nctl.!default { type hw card 0 }\n")
    old = os.environ.get("ALSA_CONFIG_PATH")
    os.environ["ALSA_CONFIG_PATH"] = str(conf)
    sd._terminate()
    sd._initialize()
    try:
        ok, why = output_device_available()
        if not ok:
            pytest.skip(f"no live sound test: {why}, even with ALSA's null device")
        yield why
    finally:
        if old is None:
            os.environ.pop("ALSA_CONFIG_PATH", None)
        else:
            os.environ["ALSA_CONFIG_PATH"] = old
        sd._terminate()
        sd._initialize()
