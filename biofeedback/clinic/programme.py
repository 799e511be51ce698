"""Home programmes: what the therapist prescribes, carried to the patient's computer in a ``.bfprog`` file.

A programme names one client by her random identifier (``client_id``, made when she was added)
and holds her schedule (protocols with times a week, for how many weeks, from which day), her
calibration, contraction band and release target, her goals and a short note from the therapist.
The file is a bundle (:mod:`biofeedback.files.bundle`) with one member, ``programme.json``.

At the clinic :func:`write_programme` writes the file and keeps the schedule in the clinic's
library (so adherence can be read against it when her practice comes back). At home
:func:`install_programme` puts her, her bands and target, her goals and the schedule into her
own library. A newer programme for the same client replaces the schedule from its start day on
and keeps everything she has done; installing the same file again changes nothing; an older
programme than the one installed is refused.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biofeedback.clinic.library import Library, ProgrammeSchedule, parse_day
from biofeedback.errors import UserError
from biofeedback.files.bundle import Bundle, BundleError, open_bundle, write_bundle

FORMAT = "biofeedback-programme"
FORMAT_VERSION = 1
SUFFIX = ".bfprog"
MEMBER = "programme.json"
WHAT = "home programme"
MAX_TIMES_PER_WEEK = 21
MAX_WEEKS = 52
MAX_NOTE_CHARS = 2000


@dataclass(frozen=True)
class Programme:
    """A home programme as written in the file."""

    programme_id: str
    written_at: str
    client_id: str
    client_name: str
    schedule: ProgrammeSchedule
    note: str = ""
    calibration: dict[str, Any] = field(default_factory=dict)
    bands: dict[str, Any] = field(default_factory=dict)
    goals: list[dict[str, Any]] = field(default_factory=list)
    program_version: str = ""
    shaping: dict[str, Any] = field(default_factory=dict)     # the step-down rule and her target steps

    @property
    def release_target(self) -> float | None:
        """The release target she trains under: her latest target step, else the top of her release band."""
        steps = self.shaping.get("steps") or []
        value = steps[-1]["target"] if steps else self.bands.get("release_high")
        return float(value) if isinstance(value, (int, float)) else None

    def to_dict(self) -> dict[str, Any]:
        s = self.schedule
        return {"programme_id": self.programme_id, "written_at": self.written_at,
                "client": {"id": self.client_id, "name": self.client_name},
                "schedule": {"start_day": s.start_day.isoformat(), "weeks": s.weeks,
                             "protocols": [{"protocol": p, "times_per_week": n} for p, n in s.protocols.items()]},
                "note": self.note, "calibration": self.calibration, "bands": self.bands,
                "release_target": self.release_target, "shaping": self.shaping, "goals": self.goals}


# --------------------------------------------------------------------------- prescriptions

def parse_prescription(text: str) -> tuple[str, int]:
    """``relaxation:7`` -> ("relaxation", 7); the protocol must exist, 1 to 21 times a week."""
    from biofeedback.protocols import load_protocol
    name, sep, times = (text or "").partition(":")
    if not sep or not name.strip():
        raise UserError(f"--protocol {text!r}: write it as NAME:TIMES_A_WEEK, e.g. relaxation:7")
    try:
        count = int(times)
    except ValueError:
        raise UserError(f"--protocol {text!r}: times a week must be a whole number, e.g. relaxation:7") from None
    if not 1 <= count <= MAX_TIMES_PER_WEEK:
        raise UserError(f"--protocol {text!r}: times a week must be between 1 and {MAX_TIMES_PER_WEEK}")
    return load_protocol(name.strip()).name, count


def _check_schedule(protocols: dict[str, int], weeks: int, note: str) -> None:
    if not protocols:
        raise UserError("a programme needs at least one --protocol NAME:TIMES_A_WEEK, e.g. relaxation:7")
    if not 1 <= weeks <= MAX_WEEKS:
        raise UserError(f"--weeks must be between 1 and {MAX_WEEKS}, got {weeks}")
    if len(note) > MAX_NOTE_CHARS:
        raise UserError(f"the note is {len(note)} characters long; keep it under {MAX_NOTE_CHARS}")


# --------------------------------------------------------------------------- writing (clinic)

def build_programme(library: Library, name: str, prescriptions: list[tuple[str, int]], weeks: int = 4,
                    note: str = "", start: dt.date | None = None) -> Programme:
    """The programme for the client called ``name``: her schedule, bands, target, goals and the note."""
    protocols: dict[str, int] = {}
    for protocol, times in prescriptions:
        if protocol in protocols:
            raise UserError(f"--protocol {protocol} is given twice; give each protocol once")
        protocols[protocol] = times
    note = (note or "").strip()
    _check_schedule(protocols, weeks, note)
    client = library.client(name)
    written_at = dt.datetime.now().astimezone().isoformat(timespec="microseconds")
    programme_id = str(uuid.uuid4())
    schedule = ProgrammeSchedule(programme_id, written_at, start or dt.date.today(), weeks, protocols, note)
    goals = [{"metric": g.metric, "comparison": g.comparison, "target": g.target, "label": g.label,
              "protocol": g.protocol} for g in library.goals(client)]
    from biofeedback import __version__
    return Programme(programme_id, written_at, library.client_uid(client), client.name, schedule, note,
                     dict(client.calibration), dict(client.bands), goals, __version__,
                     shaping_of(library, client))


def shaping_of(library: Library, client: Any) -> dict[str, Any]:
    """The shaping rule (when the next, lower target is proposed) and every target step she has had."""
    from biofeedback.clinic import shaping
    return {"met_share_pct": shaping.MET_SHARE_PCT, "sessions_in_a_row": shaping.SESSIONS_IN_A_ROW,
            "step_share": shaping.STEP_SHARE, "noise_floor": (client.calibration or {}).get("noise_floor"),
            "steps": [{"day": t["day"].isoformat(), "target": t["target"], "unit": t["unit"], "rule": t["rule"],
                       "note": t["note"]} for t in library.target_steps(client)]}


def _check_shaping(value: Any, where: str) -> dict[str, Any]:
    """The shaping part of a programme file: every step a day and a target above 0."""
    if not value:
        return {}
    if not isinstance(value, dict) or not isinstance(value.get("steps") or [], list):
        raise BundleError(f"{where}: the programme's shaping rule is damaged")
    for step in value.get("steps") or []:
        try:
            parse_day(str(step["day"]))
            ok = isinstance(step["target"], (int, float)) and math.isfinite(step["target"]) and step["target"] > 0
        except (KeyError, TypeError, UserError):
            ok = False
        if not ok:
            raise BundleError(f"{where}: a release-target step in the programme is damaged")
    return value


def write_programme(library: Library, programme: Programme, out: str | os.PathLike) -> Path:
    """Write the ``.bfprog`` file, then keep its schedule in the clinic's library (file first: no half state)."""
    import json
    body = json.dumps(programme.to_dict(), indent=1, sort_keys=True, allow_nan=False).encode("utf-8")
    path = write_bundle(out, FORMAT, FORMAT_VERSION, programme.client_id, {MEMBER: body}, SUFFIX, WHAT)
    client = library.find_client_by_uid(programme.client_id)
    if client is not None:
        library.add_programme(client, programme.schedule)
    return path


# --------------------------------------------------------------------------- reading

def _text(value: Any, what: str, where: str) -> str:
    if not isinstance(value, str):
        raise BundleError(f"{where}: {what} is missing or not text; the programme is damaged")
    return value


def programme_from_dict(data: Any, where: str, program_version: str = "") -> Programme:
    """A programme from ``programme.json`` (every field checked: the file came from outside)."""
    if not isinstance(data, dict):
        raise BundleError(f"{where}: the programme is damaged")
    client = data.get("client") or {}
    sched = data.get("schedule") or {}
    if not isinstance(client, dict) or not isinstance(sched, dict):
        raise BundleError(f"{where}: the programme is damaged")
    protocols: dict[str, int] = {}
    for item in sched.get("protocols") or []:
        if not isinstance(item, dict) or not isinstance(item.get("times_per_week"), int):
            raise BundleError(f"{where}: a protocol in the programme is damaged")
        protocols[_text(item.get("protocol"), "a protocol name", where)] = int(item["times_per_week"])
    weeks = sched.get("weeks")
    if not isinstance(weeks, int):
        raise BundleError(f"{where}: the programme's number of weeks is damaged")
    note = data.get("note") or ""
    try:
        _check_schedule(protocols, weeks, _text(note, "the note", where))
        if any(not 1 <= n <= MAX_TIMES_PER_WEEK for n in protocols.values()):
            raise UserError(f"times a week must be between 1 and {MAX_TIMES_PER_WEEK}")
        start = parse_day(_text(sched.get("start_day"), "the start day", where))
        written_at = _text(data.get("written_at"), "the date written", where)
        parse_day(written_at)
    except UserError as exc:
        raise BundleError(f"{where}: the programme is damaged ({exc})") from None
    programme_id = _text(data.get("programme_id"), "the programme id", where)
    goals = [g for g in data.get("goals") or [] if isinstance(g, dict)]
    calibration, bands = data.get("calibration") or {}, data.get("bands") or {}
    if not isinstance(calibration, dict) or not isinstance(bands, dict):
        raise BundleError(f"{where}: the programme's calibration or bands are damaged")
    schedule = ProgrammeSchedule(programme_id, written_at, start, weeks, protocols, note)
    return Programme(programme_id, written_at, _text(client.get("id"), "the client id", where),
                     _text(client.get("name"), "the client name", where), schedule, note, calibration, bands,
                     goals, program_version, _check_shaping(data.get("shaping"), where))


def _from_bundle(bundle: Bundle) -> Programme:
    programme = programme_from_dict(bundle.read_json(MEMBER), bundle.path.name,
                                    str(bundle.manifest.get("program_version", "")))
    if programme.client_id != bundle.client_id:
        raise BundleError(f"{bundle.path.name}: the programme names another client than its manifest; refused")
    return programme


def read_programme(path: str | os.PathLike) -> Programme:
    """Open and verify a ``.bfprog`` file."""
    with open_bundle(path, FORMAT, FORMAT_VERSION, WHAT) as bundle:
        return _from_bundle(bundle)


def describe(programme: Programme) -> str:
    """The programme in plain lines (``biofeedback programme show``)."""
    s = programme.schedule
    lines = [f"Home programme for {programme.client_name} (client id {programme.client_id})",
             f"  written {programme.written_at[:16].replace('T', ' ')}, from {s.start_day.isoformat()} for "
             f"{s.weeks} week{'s' if s.weeks != 1 else ''} (to {s.end_day.isoformat()})"]
    for protocol, times in s.protocols.items():
        lines.append(f"  {protocol}: {times} time{'s' if times != 1 else ''} a week")
    b = programme.bands
    if b:
        unit = {"uV": "µV"}.get(str(b.get("unit", "uV")), str(b.get("unit", "")))
        lines.append(f"  contraction band {b.get('contraction_low', 0):.1f}-{b.get('contraction_high', 0):.1f} {unit}, "
                     f"release target {programme.release_target or 0:.1f} {unit}")
    else:
        lines.append("  no bands stored yet (she will practise with the default bands)")
    steps = programme.shaping.get("steps") or []
    if steps:
        sh = programme.shaping
        lines.append(f"  release target steps: {len(steps)} (latest {steps[-1]['target']:.2f} "
                     f"from {steps[-1]['day']}); "
                     f"the next step {sh.get('step_share', 0) * 100:.0f} % lower after {sh.get('sessions_in_a_row')} "
                     f"sessions in a row with {sh.get('met_share_pct'):.0f} % of the rest periods under the target")
    if programme.calibration:
        lines.append("  calibration included")
    for g in programme.goals:
        lines.append(f"  goal: {g.get('label') or ''} ({g.get('metric')} {g.get('comparison')} {g.get('target')})")
    if programme.note:
        lines.append(f"  note: {programme.note}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- installing (home)

@dataclass(frozen=True)
class InstallResult:
    client_name: str
    programme: Programme
    changed: bool
    message: str


def install_programme(library: Library, path: str | os.PathLike) -> InstallResult:
    """Put the programme's client, bands, target, goals and schedule into ``library`` (her own)."""
    programme = read_programme(path)
    client = library.find_client_by_uid(programme.client_id)
    if client is not None:
        installed = library.programmes(client)
        if any(p.programme_uid == programme.programme_id for p in installed):
            return InstallResult(client.name, programme, False,
                                 f"this programme for {client.name} is already installed; nothing changed")
        newer = [p for p in installed if p.installed and p.written_at > programme.written_at]
        if newer:
            raise UserError(f"{Path(path).name} is older than the programme already installed for {client.name} "
                            f"(written {newer[-1].written_at[:10]}); nothing changed")
    else:
        # she may have practised here before her first programme (home mode): she becomes the programme's client,
        # keeping what she did; a client of that name with programmes of her own is someone else
        same_name = library.find_client(programme.client_name)
        if same_name is not None and library.programmes(same_name):
            raise UserError(f"this library already has a different client called {programme.client_name!r}; "
                            f"install the programme into another library with --library PATH")
        client = same_name or library.add_client(programme.client_name)
        library.set_client_uid(client, programme.client_id)
        client = library.client_by_id(client.id)          # her record as it is now (a new row version)
    client = library.update_client(client, calibration=programme.calibration or None,
                                   bands=programme.bands or None)
    _add_missing_goals(library, client, programme.goals)
    _add_missing_steps(library, client, programme.shaping.get("steps") or [])
    s = programme.schedule
    library.add_programme(client, ProgrammeSchedule(s.programme_uid, s.written_at, s.start_day, s.weeks,
                                                    s.protocols, s.note, installed=True))
    return InstallResult(client.name, programme, True,
                         f"installed the home programme for {client.name}: "
                         + ", ".join(f"{p} {n}x a week" for p, n in s.protocols.items())
                         + f" for {s.weeks} week{'s' if s.weeks != 1 else ''} from {s.start_day.isoformat()}")


def _add_missing_goals(library: Library, client: Any, goals: list[dict[str, Any]]) -> None:
    from biofeedback.clinic.progress import METRICS
    have = {(g.metric, g.comparison, g.target, g.protocol) for g in library.goals(client)}
    for g in goals:
        try:   # a programme written before goals named their protocol has none: the goal counts for every one
            key = (str(g["metric"]), str(g["comparison"]), float(g["target"]), str(g.get("protocol") or ""))
        except (KeyError, TypeError, ValueError):
            continue
        if key not in have and key[0] in METRICS and key[1] in ("<", "<=", ">", ">=") and math.isfinite(key[2]):
            try:
                library.add_goal(client, *key[:3], label=str(g.get("label") or ""), protocol=key[3])
            except UserError:
                continue                  # a goal this version cannot store is left out, as unknown metrics are
            have.add(key)


def _add_missing_steps(library: Library, client: Any, steps: list[dict[str, Any]]) -> None:
    """Her release-target steps as the clinic set them (a step already here is not added again)."""
    have = {(t["day"].isoformat(), round(float(t["target"]), 6)) for t in library.target_steps(client)}
    for step in steps:
        key = (parse_day(str(step["day"])).isoformat(), round(float(step["target"]), 6))
        if key not in have:
            library.add_target_step(client, float(step["target"]), day=key[0], rule=str(step.get("rule") or ""),
                                    note=str(step.get("note") or ""), unit=str(step.get("unit") or "uV"))
            have.add(key)
