"""Guided exercise protocols: declarative JSON files, a loader, a timeline, a runner and a scripted patient.

The package is split by job; this module only re-exports:

- :mod:`~biofeedback.protocols.model`: :class:`Step`, :class:`Protocol` and the validation of a
  protocol document (the file format is described there);
- :mod:`~biofeedback.protocols.loader`: the built-in files, the user's folder, :func:`load_protocol`,
  :func:`list_protocols`;
- :mod:`~biofeedback.protocols.runner`: :func:`timeline`, :class:`ProtocolRunner`, :func:`effort_script`;
- :mod:`~biofeedback.protocols.spans`: where each recorded step lies on a recording's clock.

This package never imports Qt.
"""
from __future__ import annotations

from biofeedback.protocols.loader import builtin_dir, list_protocols, load_protocol, user_protocol_dir
from biofeedback.protocols.model import (
    BANDS,
    CONTRACTION_KINDS,
    INHALE_FRACTION,
    STEP_KINDS,
    WINDOWS,
    Protocol,
    Step,
    parse_protocol,
    with_breathing_bpm,
)
from biofeedback.protocols.runner import ProtocolRunner, StepState, breathing_anchors, effort_script, timeline
from biofeedback.protocols.spans import StepSpan, span_at, spans_from_protocol, step_spans

__all__ = [
    "STEP_KINDS", "BANDS", "WINDOWS", "INHALE_FRACTION", "CONTRACTION_KINDS", "Step", "Protocol", "StepState",
    "ProtocolRunner", "builtin_dir", "user_protocol_dir", "list_protocols", "load_protocol",
    "parse_protocol", "timeline", "effort_script", "breathing_anchors", "with_breathing_bpm",
    "StepSpan", "step_spans", "spans_from_protocol", "span_at",
]
