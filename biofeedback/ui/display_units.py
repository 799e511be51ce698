"""The one place where pressure is converted for display: cmH2O (stored, default) or mmHg (shown only)."""
from __future__ import annotations

from biofeedback.words import unit_text

#: 1 mmHg = 1.36 cmH2O (the conventional clinical figure)
CMH2O_PER_MMHG = 1.36
PRESSURE_UNITS = ("cmH2O", "mmHg")
__all__ = ["CMH2O_PER_MMHG", "PRESSURE_UNITS", "display_factor", "display_unit", "unit_text"]


def display_factor(unit: str, pressure_unit: str = "cmH2O") -> float:
    """Multiply a stored value in ``unit`` by this to get what is shown; 1 unless pressure is shown in mmHg."""
    if pressure_unit not in PRESSURE_UNITS:
        raise ValueError(f"unknown pressure unit {pressure_unit!r}; choose cmH2O or mmHg")
    return 1.0 / CMH2O_PER_MMHG if unit == "cmH2O" and pressure_unit == "mmHg" else 1.0


def display_unit(unit: str, pressure_unit: str = "cmH2O") -> str:
    """The unit text shown for values stored in ``unit``."""
    return unit_text("mmHg" if unit == "cmH2O" and pressure_unit == "mmHg" else unit)
