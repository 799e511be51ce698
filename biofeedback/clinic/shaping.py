"""Shaping: the release target steps down over weeks as she meets it (downtraining practice).

Every target she trained against is stored with the day it was set (the library's ``target_steps``).
The proposal rule: when she spent at least :data:`MET_SHARE_PCT` % of the rest periods under her target
in :data:`SESSIONS_IN_A_ROW` sessions in a row (``time_under_target_pct`` of each session's summary),
the next step is proposed, :data:`STEP_SHARE` lower, never under the noise floor. Only sessions trained
against the current target (or a lower one) count, so sessions filed earlier on the day of a step do not.

Who accepts (:func:`after_session`, called once after each filed session): at the clinic the therapist
(the window's "Lower it", or ``biofeedback target NAME --accept``); in her own library at home (a
library holding a programme installed from her therapist) the programme's rule, which her therapist
wrote: the step is stored by itself. That rule may also step down from a target the therapist typed:
a typed target wins over *re-calibration* (CLINICAL.md), but the programme carrying the shaping rule is
the therapist's own instruction to lower it as she succeeds. Accepting stores the step and her bands'
release target the one way :func:`store_target` does it (a typed target goes the same way), so her
next session, anywhere, trains against it; a later calibration keeps it (``shaping`` is a kept rule).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from biofeedback.errors import UserError
from biofeedback.signal.calibration import ReleaseTarget, shaped_target, typed_target
from biofeedback.words import unit_text

MET_SHARE_PCT = 70.0
SESSIONS_IN_A_ROW = 3
STEP_SHARE = 0.10


def step_rule(by: str) -> str:
    """The rule a step is stored with when ``by`` ("therapist" or "programme") accepted it."""
    return f"shaping ({by})"


PROGRAMME_STEP_RULE = step_rule("programme")


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


def her_noise_floor(client) -> float | None:
    """The EMG noise floor (µV) measured at her last calibration (None when none was, or it was a probe's)."""
    calibration = getattr(client, "calibration", None) or {}
    if str(calibration.get("unit") or "uV") != "uV":
        return None
    floor = calibration.get("noise_floor")
    try:
        return None if floor is None else float(floor)
    except (TypeError, ValueError):
        return None


def _trained_against(summary: dict[str, Any], target: float, unit: str) -> bool:
    """Whether a session counts for ``target``: it trained against it or a lower one (or does not say)."""
    recorded = summary.get(f"release_target_{unit}")
    try:
        return recorded is None or float(recorded) <= target + max(0.01, 1e-3 * target)
    except (TypeError, ValueError):
        return True


def proposal_for(library, client, noise_floor: float | None = None) -> StepProposal | None:
    """Look at her sessions since the current step and propose the next one when she has met it.

    Shaping lowers an EMG resting tone (µV); a pressure target is not shaped, and her pressure sessions do not
    count for her µV target. ``noise_floor`` defaults to the one of her stored calibration.
    """
    steps = library.target_steps(client)
    if not steps or steps[-1].get("unit", "uV") != "uV":
        return None
    if noise_floor is None:
        noise_floor = her_noise_floor(library.client_by_id(client if isinstance(client, int) else client.id))
    from biofeedback.clinic.progress import EMG, session_modality
    current, since = float(steps[-1]["target"]), steps[-1]["day"]
    # a probe session's share under its cmH2O target says nothing of her µV resting tone
    sessions = [s for s in library.sessions(client) if s.day >= since and session_modality(s.summary or {}) == EMG]
    pcts = [(s.summary or {}).get("time_under_target_pct") for s in sessions
            if _trained_against(s.summary or {}, current, "uv")]
    return propose_step(current, pcts, noise_floor)


def store_target(library, client, target: ReleaseTarget, unit: str = "uV", day: dt.date | None = None,
                 step_rule: str | None = None, note: str = ""):
    """Make ``target`` her release target: in her calibration (re-calibration keeps a typed or shaping
    target) and her stored bands' ``release_high`` (her next session starts with it), each when it is in
    ``unit`` (a µV step is nothing for a probe calibrated in cmH2O), and a new step.

    The one way a chosen target is stored: a typed target and an accepted shaping step both come here.
    Returns her client record as it is now.
    """
    person = library.client_by_id(client if isinstance(client, int) else client.id)
    calibration = dict(person.calibration or {})
    if str(calibration.get("unit") or "uV") == unit:     # else a later probe calibration would keep a µV value
        calibration["target"] = target.to_dict()
    bands = dict(person.bands or {})
    if bands and str(bands.get("unit") or "uV") == unit:      # a µV step is no release band for a probe in cmH2O
        bands["release_high"] = target.value
    person = library.update_client(person, calibration=calibration, bands=bands or None)
    file_target_step(library, person, target.value, step_rule or target.rule, day=day, note=note, unit=unit)
    return library.client_by_id(person.id)


def accept_step(library, client, proposal: StepProposal, day: dt.date | None = None,
                by: str = "therapist") -> dict[str, Any] | None:
    """Make the proposed step her target (``by`` the therapist, or ``programme`` in home mode).

    Refused with one line when her target changed since the proposal was made (nothing is changed).
    Returns the stored step.
    """
    now = current_target(library, client)
    if now is None or abs(now - proposal.current) > 1e-6:
        raise UserError(f"her release target changed since this step was proposed (it is now "
                        f"{'none' if now is None else f'{now:.1f} µV'}); nothing changed")
    target = shaped_target(proposal.proposed, proposal.current, by)
    store_target(library, client, target, day=day, step_rule=step_rule(by), note=proposal.reason)
    return library.target_steps(client)[-1]


def unit_of(client) -> str:
    """The unit her release target is in: her bands' (cmH2O for a pressure probe), else her calibration's, else µV."""
    for stored in (getattr(client, "bands", None), getattr(client, "calibration", None)):
        unit = (stored or {}).get("unit") if isinstance(stored, dict) else None
        if unit:
            return str(unit)
    return "uV"


def set_typed_target(library, client, value: float, unit: str | None = None) -> dict[str, Any]:
    """The therapist types a target: stored in her calibration as ``typed`` (re-calibration keeps it) and filed.

    ``unit`` defaults to hers (:func:`unit_of`): a pressure client's target is typed in cmH2O, so it must not
    be filed as µV (shaping would then lower a pressure target). Refused with one line when it is not a
    positive number or lies under the noise floor of her EMG calibration.
    """
    person = library.client_by_id(client if isinstance(client, int) else client.id)
    unit = unit or unit_of(person)
    try:
        target = typed_target(value, unit)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    floor = her_noise_floor(person)
    if floor is not None and unit == "uV" and target.value < floor:
        raise UserError(f"a release target of {target.value:g} µV lies under the noise floor of her calibration "
                        f"({floor:.2f} µV): the sensor cannot show it; choose {floor:.2f} µV or more")
    store_target(library, person, target, unit=unit)
    return target.to_dict()


# --------------------------------------------------------------------------- after each session

@dataclass(frozen=True)
class ShapingOutcome:
    """What shaping made of a newly filed session: a step proposed for the therapist, or one taken by the
    programme's rule (``applied``: the stored step)."""

    proposal: StepProposal
    by: str                                   # "therapist" (waits for her) or "programme" (taken)
    applied: dict[str, Any] | None = None

    @property
    def waiting(self) -> bool:
        """A proposal the therapist still has to accept or leave."""
        return self.applied is None


def follows_programme_rule(library, client) -> bool:
    """Her own library at home: it holds a programme installed from her therapist's file."""
    return any(p.installed for p in library.programmes(client))


def after_session(library, client, day: dt.date | None = None) -> ShapingOutcome | None:
    """Once after a session is filed: the next step when she has met her target, else None.

    In her home library the programme's rule accepts it at once (see the module's docstring); at the
    clinic the proposal is returned for the therapist.
    """
    proposal = proposal_for(library, client)
    if proposal is None:
        return None
    if follows_programme_rule(library, client):
        step = accept_step(library, client, proposal, day=day, by="programme")
        return ShapingOutcome(proposal, "programme", step)
    return ShapingOutcome(proposal, "therapist")


def format_uv(value: float) -> str:
    """A target as the therapist reads it: one decimal, two when the second one matters (6.0, 5.4, 4.86)."""
    text = f"{float(value):.2f}"
    return text[:-1] if text.endswith("0") else text


def proposal_line(proposal: StepProposal) -> str:
    """The proposal in the clinic's words, one line."""
    return (f"She spent at least {MET_SHARE_PCT:.0f} % of rest under {format_uv(proposal.current)} µV in her last "
            f"{SESSIONS_IN_A_ROW} sessions: the next step is {format_uv(proposal.proposed)} µV.")


def applied_line(outcome: ShapingOutcome) -> str:
    """A step her programme's rule took, one line for the therapist."""
    p = outcome.proposal
    return (f"Her programme's rule lowered her release target to {format_uv(p.proposed)} µV "
            f"(from {format_uv(p.current)}): she spent at least {MET_SHARE_PCT:.0f} % of rest under it in her "
            f"last {SESSIONS_IN_A_ROW} sessions.")


def not_yet_line(current: float) -> str:
    """When no step is proposed: what the next one waits for."""
    return (f"No step proposed yet: the next comes after {SESSIONS_IN_A_ROW} sessions in a row with at least "
            f"{MET_SHARE_PCT:.0f} % of rest under {format_uv(current)} µV.")


#: what she reads at home after her programme's rule lowered her target: kind, no units
SOFTER_WORDS = ("You have been letting go well. From today your green target is a little softer: "
                "let go just a little more, at your own pace.")


# --------------------------------------------------------------------------- `biofeedback target`

def _step_json(step: dict[str, Any]) -> dict[str, Any]:
    return {"day": step["day"].isoformat(), "release_target_uv": step["target"], "unit": step.get("unit", "uV"),
            "rule": step.get("rule", ""), "note": step.get("note", "")}


def targets_json(name: str, steps: list[dict[str, Any]], proposal: StepProposal | None,
                 changed: dict[str, Any] | None = None) -> dict[str, Any]:
    """``target --json``: her target, every step, the proposal (or null) and the step just stored (or null)."""
    return {"client": name, "release_target_uv": steps[-1]["target"] if steps else None,
            "unit": (steps[-1].get("unit") or "uV") if steps else None,
            "steps": [_step_json(t) for t in steps],
            "proposal": None if proposal is None else {
                "current_uv": proposal.current, "proposed_uv": proposal.proposed, "reason": proposal.reason,
                "met_share_pct": MET_SHARE_PCT, "sessions_in_a_row": SESSIONS_IN_A_ROW},
            "changed": None if changed is None else _step_json(changed)}


def target_lines(name: str, steps: list[dict[str, Any]], proposal: StepProposal | None,
                 changed: dict[str, Any] | None = None) -> list[str]:
    """``target``: her target and its steps in the clinic's words, then the proposal or what it waits for."""
    if not steps:
        return [f"{name} has no release target yet: calibrate her (biofeedback calibrate --client NAME) or type "
                f"one with --set VALUE."]
    lines: list[str] = []
    last = steps[-1]
    now_unit = unit_text(last.get("unit") or "uV")
    if changed is not None and len(steps) > 1:
        lines.append(f"{name}'s release target is now {format_uv(steps[-1]['target'])} {now_unit} "
                     f"(from {format_uv(steps[-2]['target'])}); her next session trains against it.")
    lines.append(f"{name}'s release target: {format_uv(last['target'])} {now_unit}, since {last['day'].isoformat()}")
    for t in steps:
        unit = unit_text(t.get("unit") or "uV")
        lines.append(f"  {t['day'].isoformat()}  {format_uv(t['target']):>6} {unit}  {t.get('rule') or '-'}")
    if proposal is not None:
        lines.append(f"{proposal_line(proposal)} Accept with --accept.")
    elif last.get("unit", "uV") == "uV":
        lines.append(not_yet_line(float(last["target"])))
    return lines
