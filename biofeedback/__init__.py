"""Pelvic-floor biofeedback: live sEMG / pressure training with release-first metrics."""

__version__ = "0.1.0"
