"""The one rule for which channel is hers (the pelvic floor, else pressure, else the first), on a few layouts."""
from __future__ import annotations

import pytest

from biofeedback.stream import Channel, StreamInfo, primary_channel

PFM, ABD = Channel("pfm"), Channel("abd")
PRESSURE = Channel("pressure", "pressure", "cmH2O")
RMS = Channel("emg_rms", "emg_rms")


@pytest.mark.parametrize(("channels", "expected"), [
    ((PFM, ABD), 0),                    # the usual two-channel probe: the pelvic floor
    ((ABD, PFM), 1),                    # abdominal wired first: still the pelvic floor
    ((PRESSURE,), 0),                   # a perineometer alone
    ((ABD, PRESSURE), 1),               # no pelvic-floor EMG: the pressure probe, not the accessory muscle
    ((PFM, ABD, PRESSURE), 0),          # EMG and pressure together: the EMG
    ((RMS,), 0),                        # a clinical unit that sends RMS only, under its own name
    ((Channel("emg1"), Channel("emg2")), 0),   # unnamed channels (an imported EDF): the first
])
def test_the_primary_channel_on_several_layouts(channels, expected):
    assert primary_channel(StreamInfo(channels, 1000.0)) == expected


def test_every_part_uses_the_one_rule():
    """The live view, the controller, calibration, the sound and the overlay report share one function."""
    from biofeedback.files import wav
    from biofeedback.reports import overlay
    from biofeedback.session import calibrate, controller
    from biofeedback.ui import liveplot
    for module in (wav, overlay, calibrate, controller, liveplot):
        assert module.primary_channel is primary_channel, module.__name__
