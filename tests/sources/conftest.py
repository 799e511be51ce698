"""Fixtures shared by the serial tests: device emulators on pseudo-terminals, stopped and checked after each test."""
from __future__ import annotations

import pytest

from biofeedback.sources.emulate import DeviceEmulator
from devices.profiles import find_profile
from tests.sources.serial_helpers import noise_signal


@pytest.fixture
def emulators():
    made = []

    def make(device, **kw):
        kw.setdefault("signal", noise_signal(len(find_profile(device).channels)))
        em = DeviceEmulator(device, **kw).start()
        made.append(em)
        return em

    yield make
    for em in made:
        em.stop()
    assert [em.error for em in made] == [""] * len(made)
