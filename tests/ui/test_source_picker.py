"""The source picker turns choices into --source strings that open_source accepts."""
import pytest

from biofeedback.sources import parse_spec
from biofeedback.ui.source_picker import SourcePicker, device_profiles, serial_spec, sim_spec


def test_sim_choice_builds_a_spec(qtbot):
    dlg = SourcePicker("sim:healthy")
    qtbot.addWidget(dlg)
    assert dlg.sim.isChecked()
    dlg.profile.setCurrentIndex(dlg.profile.findData("hypertonic"))
    dlg.abd.setChecked(True)
    dlg.accept()
    assert dlg.spec == "sim:hypertonic?abd=1"
    spec = parse_spec(dlg.spec)
    assert (spec.kind, spec.name, spec.options) == ("sim", "hypertonic", {"abd": "1"})


def test_replay_choice_needs_a_file(qtbot, tmp_path):
    dlg = SourcePicker("sim")
    qtbot.addWidget(dlg)
    dlg.replay.setChecked(True)
    dlg.accept()
    assert "Choose a recording" in dlg.error.text() and dlg.result() == 0
    dlg.path.setText(str(tmp_path / "a b.bfr"))
    dlg.accept()
    assert dlg.spec == f"replay:{tmp_path / 'a b.bfr'}"


def test_serial_row_only_with_device_profiles(qtbot):
    dlg = SourcePicker("sim")
    qtbot.addWidget(dlg)
    assert dlg.serial.isVisibleTo(dlg) == bool(device_profiles())
    assert serial_spec("/dev/ttyUSB0", "openbci-cyton") == "serial:/dev/ttyUSB0?device=openbci-cyton"
    assert sim_spec("weak", False, True, seed=3) == "sim:weak?pressure=1&seed=3"


def test_previous_replay_is_preselected(qtbot):
    dlg = SourcePicker("replay:/data/x.bfr")
    qtbot.addWidget(dlg)
    assert dlg.replay.isChecked() and dlg.path.text() == "/data/x.bfr"


def test_serial_choice_with_installed_device_profiles(qtbot):
    profiles = device_profiles()
    if not profiles:
        pytest.skip("the devices package is not installed")
    dlg = SourcePicker("serial:/dev/ttyACM0?device=" + profiles[0][0])
    qtbot.addWidget(dlg)
    assert dlg.serial.isChecked() and dlg.device.currentData() == profiles[0][0]
    assert dlg.port.currentText() == "/dev/ttyACM0"
    dlg.port.setEditText("/tmp/some port")
    dlg.device.setCurrentIndex(len(profiles) - 1)
    dlg.accept()
    spec = parse_spec(dlg.spec)
    assert (spec.kind, spec.name, spec.options) == ("serial", "/tmp/some port", {"device": profiles[-1][0]})
