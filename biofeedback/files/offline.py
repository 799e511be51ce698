"""A recording processed after the fact: its signal-chain settings and its envelope, as live.

Analysis, reports, the review window and the CSV export all recompute the envelope of a
recording; they must use the settings the session ran with, read by one rule, or their
figures and traces would quietly disagree with what the patient saw.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from biofeedback.errors import UserError
from biofeedback.files.recording import Recording
from biofeedback.signal.chain import ChainSettings, envelope_offline

__all__ = ["META_CHAIN_KEYS", "chain_settings_from_meta", "recording_envelope"]

#: Where a recording's meta may keep its signal-chain settings: ``chain`` is what the session engine
#: writes; the other two are older or foreign spellings, read in this order.
META_CHAIN_KEYS = ("chain", "chain_settings", "settings")


def chain_settings_from_meta(meta: Mapping[str, Any] | None) -> ChainSettings:
    """The signal-chain settings a recording was made with; the defaults when it has none.

    A damaged or impossible value (an unknown shape, a band-pass with low above high) is passed
    over for the next key and in the end for the defaults: the samples are still good, and a
    review or report of them is worth more than a refusal.
    """
    if not isinstance(meta, Mapping):
        return ChainSettings()
    for key in META_CHAIN_KEYS:
        value = meta.get(key)
        if isinstance(value, Mapping):
            try:
                return ChainSettings.from_dict(dict(value))
            except (UserError, TypeError, ValueError, KeyError):
                continue
    return ChainSettings()


def recording_envelope(rec: Recording, data: np.ndarray | None = None) -> np.ndarray:
    """The envelope (n, channels) of a whole recording with its own chain settings.

    ``data`` is the recording's samples when the caller has already read them (saves reading twice).
    """
    samples = rec.read() if data is None else data
    _filtered, envelope = envelope_offline(samples, rec.info, chain_settings_from_meta(rec.meta))
    return np.asarray(envelope)
