"""Choose where the signal comes from: the simulated patient, a serial sensor, or a recording to replay."""
from __future__ import annotations

from urllib.parse import urlencode

from PySide6 import QtCore, QtWidgets
from serial.tools import list_ports

from biofeedback.errors import SourceError
from biofeedback.sources import is_replay, parse_spec
from devices.profiles import list_profiles

SIM_PROFILES = (("healthy", "Healthy"), ("hypertonic", "Overactive (hypertonic)"), ("weak", "Weak"))


def device_profiles() -> list[tuple[str, str]]:
    """(name, title) of the known device profiles."""
    try:
        found, _problems = list_profiles()
    except Exception:  # a broken user profile folder must not keep the window from opening
        return []
    return [(name, getattr(p, "title", "") or name) for name, p in sorted(found.items())]


def serial_ports() -> list[tuple[str, str]]:
    """(device path, description) of the serial ports found now."""
    return [(p.device, f"{p.device} — {p.description}" if p.description and p.description != "n/a" else p.device)
            for p in sorted(list_ports.comports(), key=lambda p: p.device)]


def sim_spec(profile: str, abdominal: bool, pressure: bool, seed: int | None = None) -> str:
    opts = {}
    if abdominal:
        opts["abd"] = "1"
    if pressure:
        opts["pressure"] = "1"
    if seed is not None:
        opts["seed"] = str(seed)
    return f"sim:{profile}" + (f"?{urlencode(opts)}" if opts else "")


def serial_spec(port: str, device: str) -> str:
    return f"serial:{port}?{urlencode({'device': device})}"


class SourcePicker(QtWidgets.QDialog):
    """Returns a ``--source`` string in :attr:`spec` when accepted."""

    def __init__(self, current: str = "", parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose the signal source")
        self.spec = current
        self.sim = QtWidgets.QRadioButton("Simulated patient (practice without a sensor)")
        self.serial = QtWidgets.QRadioButton("Sensor on a serial port")
        self.replay = QtWidgets.QRadioButton("Replay a recording")
        self.profile = QtWidgets.QComboBox()
        for name, title in SIM_PROFILES:
            self.profile.addItem(title, name)
        self.abd = QtWidgets.QCheckBox("with an abdominal (accessory) channel")
        self.pressure = QtWidgets.QCheckBox("with a pressure channel")
        self.port = QtWidgets.QComboBox()
        self.port.setEditable(True)
        for dev, text in serial_ports():
            self.port.addItem(text, dev)
        self.device = QtWidgets.QComboBox()
        self.device.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.device.setMinimumContentsLength(36)
        for i, (name, title) in enumerate(device_profiles()):
            self.device.addItem(title, name)
            self.device.setItemData(i, title, QtCore.Qt.ItemDataRole.ToolTipRole)
        self.path = QtWidgets.QLineEdit()
        self.path.setPlaceholderText("recording file (.bfr)")
        browse = QtWidgets.QPushButton("Browse…")
        browse.clicked.connect(self._browse)

        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.sim)
        sim_box = QtWidgets.QFormLayout()
        sim_box.setContentsMargins(24, 0, 0, 8)
        sim_box.addRow("Profile", self.profile)
        sim_box.addRow(self.abd)
        sim_box.addRow(self.pressure)
        lay.addLayout(sim_box)
        self.serial_widgets = QtWidgets.QWidget()
        ser_box = QtWidgets.QFormLayout(self.serial_widgets)
        ser_box.setContentsMargins(24, 0, 0, 8)
        ser_box.addRow("Port", self.port)
        ser_box.addRow("Device", self.device)
        lay.addWidget(self.serial)
        lay.addWidget(self.serial_widgets)
        has_devices = self.device.count() > 0
        self.serial.setVisible(has_devices)
        self.serial_widgets.setVisible(has_devices)
        lay.addWidget(self.replay)
        rep = QtWidgets.QHBoxLayout()
        rep.setContentsMargins(24, 0, 0, 8)
        rep.addWidget(self.path, 1)
        rep.addWidget(browse)
        lay.addLayout(rep)
        self.error = QtWidgets.QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color:#D55E00;")
        lay.addWidget(self.error)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok).setText("Connect")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self._preselect(current)

    def _preselect(self, current: str) -> None:
        try:
            spec = parse_spec(current)
        except SourceError:           # nothing usable: offer the simulated patient
            spec = parse_spec("sim")
        if is_replay(spec):
            self.replay.setChecked(True)
            self.path.setText(spec.name)
        elif spec.kind == "serial" and self.device.count() > 0:
            self.serial.setChecked(True)
            self.port.setEditText(spec.name)
            self.device.setCurrentIndex(max(0, self.device.findData(spec.options.get("device", ""))))
        else:
            self.sim.setChecked(True)
            i = self.profile.findData(spec.name or "healthy")
            self.profile.setCurrentIndex(max(0, i))
            self.abd.setChecked(spec.options.get("abd") == "1")
            self.pressure.setChecked(spec.options.get("pressure") == "1")

    def _browse(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open a recording", "",
                                                        "Recordings (*.bfr);;All files (*)")
        if path:
            self.path.setText(path)
            self.replay.setChecked(True)

    def accept(self) -> None:
        if self.sim.isChecked():
            self.spec = sim_spec(self.profile.currentData(), self.abd.isChecked(), self.pressure.isChecked())
        elif self.serial.isChecked():
            text = self.port.currentText().strip()
            i = self.port.findText(text)          # a listed port (shown with its description) or a typed path
            port = self.port.itemData(i) if i >= 0 else text
            if not port:
                self.error.setText("Choose or type the serial port the sensor is on.")
                return
            self.spec = serial_spec(port, self.device.currentData())
        else:
            path = self.path.text().strip()
            if not path:
                self.error.setText("Choose a recording file to replay.")
                return
            self.spec = f"replay:{path}"
        super().accept()
