"""Shaping: the release target steps down over weeks as she meets it (downtraining practice).

Every target she trained against is stored with the day it was set (the library's ``target_steps``).
The proposal rule: when she spent at least :data:`MET_SHARE_PCT` % of the rest periods under her target
in :data:`SESSIONS_IN_A_ROW` sessions in a row (``time_under_target_pct`` of each session's summary),
the next step is proposed, :data:`STEP_SHARE` lower, never under the noise floor. The therapist (or,
in home mode, the programme's rule) accepts it with :func:`accept_step`; nothing changes by itself.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

MET_SHARE_PCT = 70.0
SESSIONS_IN_A_ROW = 3
STEP_SHARE = 0.10


@dataclass(frozen=True)
class StepProposal:
    current: float
    proposed: float
    reason: str


def met_in_a_row(under_target_pcts: list[float | None], share_pct: float = MET_SHARE_PCT,
                 in_a_row: int = SESSIONS_IN_A_ROW) -> bool:
    """True when the last ``in_a_row`` sessions each spent at least ``share_pct`` % under the target."""
    last = [p for p in under_target_pcts if p is not None][-in_a_row:]
    return len(last) == in_a_row and all(p >= share_pct for p in last)


def propose_step(current: float, under_target_pcts: list[float | None], noise_floor: float | None = None,
                 step_share: float = STEP_SHARE) -> StepProposal | None:
    """The next, lower target when she has met this one (else None); never under ``noise_floor``."""
    if not met_in_a_row(under_target_pcts):
        return None
    proposed = current * (1.0 - step_share)
    if noise_floor is not None:
        proposed = max(proposed, noise_floor)
    if proposed >= current:
        return None
    return StepProposal(current, proposed,
                        f"at least {MET_SHARE_PCT:.0f} % of the rest periods under {current:.2f} µV in "
                        f"{SESSIONS_IN_A_ROW} sessions in a row: next step {proposed:.2f} µV")


def file_target_step(library, client, target: float, rule: str = "", day: dt.date | None = None,
                     note: str = "", unit: str = "uV") -> dict[str, Any] | None:
    """Store ``target`` as a new step unless it equals the current one (returns the step, or None)."""
    steps = library.target_steps(client)
    if steps and abs(steps[-1]["target"] - target) < 1e-6:
        return None
    return library.add_target_step(client, target, day=day, rule=rule, note=note, unit=unit)


def current_target(library, client) -> float | None:
    steps = library.target_steps(client)
    return steps[-1]["target"] if steps else None


def proposal_for(library, client, noise_floor: float | None = None) -> StepProposal | None:
    """Look at her sessions since the current step and propose the next one when she has met it."""
    steps = library.target_steps(client)
    if not steps:
        return None
    since = steps[-1]["day"]
    sessions = [s for s in library.sessions(client) if s.day >= since]
    pcts = [(s.summary or {}).get("time_under_target_pct") for s in sessions]
    return propose_step(steps[-1]["target"], pcts, noise_floor)


def accept_step(library, client, proposal: StepProposal, day: dt.date | None = None,
                by: str = "therapist") -> dict[str, Any] | None:
    """File the proposed step (``by`` the therapist, or ``programme`` in home mode)."""
    return file_target_step(library, client, proposal.proposed, rule=f"shaping ({by})", day=day,
                            note=proposal.reason)


def set_typed_target(library, client, value: float, unit: str = "uV") -> dict[str, Any]:
    """The therapist types a target: stored in her calibration as ``typed`` (re-calibration keeps it) and filed."""
    from biofeedback.signal.calibration import typed_target
    person = library.client_by_id(client if isinstance(client, int) else client.id)
    target = typed_target(value, unit)
    calibration = dict(person.calibration or {})
    calibration["target"] = target.to_dict()
    bands = dict(person.bands or {})
    if bands:
        bands["release_high"] = target.value
    library.update_client(person, calibration=calibration, bands=bands or None)
    file_target_step(library, person, target.value, "typed", unit=unit)
    return target.to_dict()
