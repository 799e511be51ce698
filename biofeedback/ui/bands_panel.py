"""Number fields for the two bands, in absolute units or as % of the maximum voluntary contraction."""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from biofeedback.signal.calibration import Bands, placeholder_bands
from biofeedback.ui.display_units import display_factor, display_unit


class BandsPanel(QtWidgets.QGroupBox):
    """Contraction low/high and release ceiling; switching units converts the numbers shown, not the bands."""

    bandsChanged = QtCore.Signal(object)  # Bands edited by hand

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Target bands", parent)
        self.bands: Bands = placeholder_bands()
        self.pressure_unit = "cmH2O"    # display only: the bands stay in their stored unit
        self.units = QtWidgets.QComboBox()
        self.units.addItem("µV", "abs")
        self.units.addItem("% of max", "pct")
        self.c_low, self.c_high, self.r_high = (self._spin() for _ in range(3))
        for spin, name in ((self.c_low, "Contraction band, low limit"), (self.c_high, "Contraction band, high limit"),
                           (self.r_high, "Release target, upper limit")):
            spin.setAccessibleName(name)
        self.units.setAccessibleName("Bands shown in")
        self.info = QtWidgets.QLabel("")
        self.info.setWordWrap(True)
        self.info.setObjectName("muted")
        form = QtWidgets.QFormLayout(self)
        form.setContentsMargins(10, 8, 10, 8)
        form.addRow("Shown in", self.units)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.c_low)
        row.addWidget(QtWidgets.QLabel("to"))
        row.addWidget(self.c_high)
        form.addRow("Contraction", row)
        form.addRow("Release up to", self.r_high)
        form.addRow(self.info)
        self.units.currentIndexChanged.connect(lambda _i: self._show())
        for s in (self.c_low, self.c_high, self.r_high):
            s.editingFinished.connect(self._edited)
        self._show()

    @staticmethod
    def _spin() -> QtWidgets.QDoubleSpinBox:
        s = QtWidgets.QDoubleSpinBox()
        s.setRange(0.0, 100000.0)
        s.setDecimals(1)
        s.setKeyboardTracking(False)
        s.setButtonSymbols(QtWidgets.QAbstractSpinBox.ButtonSymbols.NoButtons)
        s.setMinimumWidth(64)
        return s

    @property
    def percent(self) -> bool:
        return self.units.currentData() == "pct"

    @property
    def factor(self) -> float:
        """Stored unit -> shown unit for the absolute numbers (1/1.36 for pressure shown in mmHg)."""
        return display_factor(self.bands.unit, self.pressure_unit)

    def set_pressure_unit(self, unit: str) -> None:
        """Show pressure bands in ``cmH2O`` or ``mmHg``; typed values are converted back to the stored unit."""
        display_factor("cmH2O", unit)          # refuses an unknown unit
        self.pressure_unit = unit
        self._show()

    def set_bands(self, bands: Bands) -> None:
        """Show bands set elsewhere (calibration, dragging) without emitting :attr:`bandsChanged`."""
        self.bands = bands
        self._show()

    def _show(self) -> None:
        b = self.bands
        model = self.units.model()
        model.item(1).setEnabled(b.mvc is not None)
        shown_unit = display_unit(b.unit, self.pressure_unit)
        self.units.setItemText(0, shown_unit)
        if self.percent and b.mvc is None:
            self.units.blockSignals(True)
            self.units.setCurrentIndex(0)
            self.units.blockSignals(False)
        if self.percent:
            vals = (*b.contraction_pct, b.release_pct)
        else:
            vals = tuple(v * self.factor for v in (b.contraction_low, b.contraction_high, b.release_high))
        for s, v in zip((self.c_low, self.c_high, self.r_high), vals):
            s.blockSignals(True)
            s.setValue(v)
            s.blockSignals(False)
        if b.mvc is None:
            self.info.setText("Not calibrated yet: calibrate to set bands from this client's rest and maximum.")
        else:
            self.info.setText(f"Maximum (MVC) {b.mvc * self.factor:.1f} {shown_unit}.")

    def _edited(self) -> None:
        lo, hi, rel = self.c_low.value(), self.c_high.value(), self.r_high.value()
        if not self.percent:
            shown = tuple(round(v * self.factor, 1) for v in (self.bands.contraction_low,
                                                              self.bands.contraction_high, self.bands.release_high))
            # a field left as shown keeps its stored value exactly (no rounding drift through the unit change)
            stored = (self.bands.contraction_low, self.bands.contraction_high, self.bands.release_high)
            lo, hi, rel = (old if abs(v - s) < 1e-9 else v / self.factor
                           for v, s, old in zip((lo, hi, rel), shown, stored))
        try:
            new = (self.bands.with_contraction_pct(lo, hi).with_release_pct(rel) if self.percent
                   else self.bands.with_contraction(lo, hi).with_release(rel))
        except ValueError:
            return
        if new != self.bands:
            self.bands = new
            self._show()
            self.bandsChanged.emit(new)
