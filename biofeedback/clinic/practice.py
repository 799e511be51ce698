"""Home practice going back to the therapist: a ``.bfpack`` file of sessions, recordings and diary.

Export (at home) gathers a client's sessions (each with its recording and summary) and diary
entries since the last export, or since a given day, into a bundle (:mod:`biofeedback.files.bundle`):

- ``practice.json``: the client (random id and name), when it was exported, from which day, and
  one entry per session (``started_at``, ``protocol``, ``duration_s``, ``summary``, ``notes``,
  ``recording`` = its member name) and per diary entry; ``target_steps``: the release-target steps her
  programme's rule took at home (shaping), so the clinic's history and her bands follow them;
- ``sessions/<sha256>.bfr``: the recordings, named by the SHA-256 of their content.

The export mark is kept per client; the next export starts on the *day* of the last one, so
consecutive bundles overlap a little rather than ever leaving a gap. Import makes that harmless.

Import (at the clinic) verifies the whole bundle first (manifest, hashes, every entry, every
recording opens), then files each session as a *home* session of the client with that id; a
client the library does not know is refused and nothing changes. It is idempotent: a session
already there (same recording, or the same start time and protocol) and a diary entry already
there (the same day, scores and notes) are left alone, so importing a bundle twice, or two
overlapping bundles in either order, gives the same library. Each recording is copied under a
temporary name, flushed to disk and renamed into place before its session is filed (one
transaction), so a ``kill -9`` at any moment leaves no half-imported session; importing again
finishes the job. Recordings go beside the library file; for a clinic's server they are kept in this
computer's cache and uploaded (or queued) like any filed session (:mod:`biofeedback.clinic.sync`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biofeedback.clinic.library import MAX_MINUTES_PRACTISED, Client, DiaryEntry, Library, parse_day
from biofeedback.clinic.shaping import PROGRAMME_STEP_RULE, store_target
from biofeedback.clinic.store import cache_dir
from biofeedback.errors import UserError
from biofeedback.files.bundle import Bundle, BundleError, open_bundle, write_bundle
from biofeedback.words import plural

FORMAT = "biofeedback-practice"
FORMAT_VERSION = 1
SUFFIX = ".bfpack"
MEMBER = "practice.json"
WHAT = "practice file"
#: Folder (beside the library file) that holds recordings imported from practice files.
IMPORT_FOLDER = "home-practice"
_DIARY_FIELDS = ("pain_intercourse", "pain_pelvic", "mood", "minutes_practised")
_DIARY_LIMITS = {"pain_intercourse": (0, 10), "pain_pelvic": (0, 10), "mood": (1, 5),
                 "minutes_practised": (0, MAX_MINUTES_PRACTISED)}


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- export (home)

@dataclass(frozen=True)
class ExportResult:
    path: Path
    client_name: str
    since: dt.date | None
    sessions: int
    diary: int
    skipped: list[str]


def _snapshot(recording: Path, folder: Path) -> Path:
    """A self-contained copy of a recording (one still in write-ahead-log mode is copied consistently)."""
    if not Path(str(recording) + "-wal").exists():
        return recording
    copy = folder / f"{len(list(folder.iterdir()))}.bfr"
    src = sqlite3.connect(f"{recording.resolve().as_uri()}?mode=ro", uri=True)
    dst = sqlite3.connect(copy)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()
    return copy


def _diary_dict(d: DiaryEntry) -> dict[str, Any]:
    return {"day": d.day.isoformat(), "pain_intercourse": d.pain_intercourse, "pain_pelvic": d.pain_pelvic,
            "mood": d.mood, "minutes_practised": d.minutes_practised, "notes": d.notes}


def _home_steps(library: Library, client: Client) -> list[dict[str, Any]]:
    """The release-target steps her programme's rule took here (see :mod:`biofeedback.clinic.shaping`), each
    with ``from``: the target it stepped down from, so the clinic can tell whether it still holds that one."""
    from biofeedback.clinic.programme import shaping_of
    steps = shaping_of(library, client)["steps"]
    return [dict(t, **{"from": steps[i - 1]["target"]} if i else {}) for i, t in enumerate(steps)
            if t["rule"] == PROGRAMME_STEP_RULE]


def export_practice(library: Library, name: str, out: str | os.PathLike, since: dt.date | None = None) -> ExportResult:
    """Write her sessions and diary since ``since`` (default: the day of the last export) to a ``.bfpack``."""
    client = library.client(name)
    if since is None and (last := library.last_export(client)):
        since = parse_day(last)
    uid = library.client_uid(client)
    places = library.session_places(client)
    exported_at = _now()
    members: dict[str, bytes | Path] = {}
    sessions, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="biofeedback-export-") as tmp:
        for s in library.sessions(client, start=since):
            try:
                recording = library.recording_file(s)         # a server's session: its verified local copy
            except UserError:
                recording = Path(s.recording_path)
            if not recording.is_file():
                skipped.append(f"{s.started_at[:16]}: its recording {recording} is missing")
                continue
            source = _snapshot(recording, Path(tmp))
            member = f"sessions/{_sha256(source)}.bfr"
            members[member] = source
            sessions.append({"recording": member, "started_at": s.started_at, "protocol": s.protocol,
                             "duration_s": s.duration_s, "summary": s.summary, "notes": s.notes,
                             "place": places.get(s.id, "home")})
        diary = [_diary_dict(d) for d in library.diary(client, start=since)]
        body = {"client": {"id": uid, "name": client.name}, "exported_at": exported_at,
                "since": since.isoformat() if since else None, "sessions": sessions, "diary": diary,
                "target_steps": _home_steps(library, client)}
        members[MEMBER] = json.dumps(body, indent=1, sort_keys=True, allow_nan=False).encode("utf-8")
        path = write_bundle(out, FORMAT, FORMAT_VERSION, uid, members, SUFFIX, WHAT)
    library.set_last_export(client, exported_at)
    return ExportResult(path, client.name, since, len(sessions), len(diary), skipped)


# --------------------------------------------------------------------------- reading and checking

@dataclass(frozen=True)
class PracticeSession:
    recording: str
    started_at: str
    protocol: str
    duration_s: float | None
    summary: dict[str, Any]
    notes: str


@dataclass(frozen=True)
class Practice:
    client_id: str
    client_name: str
    exported_at: str
    since: str | None
    sessions: list[PracticeSession]
    diary: list[dict[str, Any]]
    target_steps: list[dict[str, Any]] = field(default_factory=list)


def _damaged(where: str, what: str) -> BundleError:
    return BundleError(f"{where}: {what}; the practice file is damaged and nothing was imported")


def _check_session(item: Any, bundle: Bundle, where: str) -> PracticeSession:
    if not isinstance(item, dict) or not isinstance(item.get("recording"), str):
        raise _damaged(where, "a session entry is unreadable")
    if item["recording"] not in bundle.manifest["members"]:
        raise _damaged(where, f"the recording {item['recording']} is missing")
    try:
        parse_day(str(item.get("started_at") or ""))
    except UserError:
        raise _damaged(where, "a session has no valid start time") from None
    duration = item.get("duration_s")
    if duration is not None and not (isinstance(duration, (int, float)) and math.isfinite(duration)):
        raise _damaged(where, "a session's duration is not a number")
    summary = item.get("summary") or {}
    if not isinstance(summary, dict):
        raise _damaged(where, "a session's summary is unreadable")
    return PracticeSession(item["recording"], str(item["started_at"]), str(item.get("protocol") or ""),
                           None if duration is None else float(duration), summary, str(item.get("notes") or ""))


def _check_diary(item: Any, where: str) -> dict[str, Any]:
    """A diary entry with the same ranges the library enforces (checked before anything is imported)."""
    if not isinstance(item, dict):
        raise _damaged(where, "a diary entry is unreadable")
    try:
        day = parse_day(str(item.get("day") or ""))
    except UserError:
        raise _damaged(where, "a diary entry has no valid day") from None
    entry: dict[str, Any] = {"day": day, "notes": str(item.get("notes") or "").strip()}
    for key in _DIARY_FIELDS:
        value = item.get(key)
        lo, hi = _DIARY_LIMITS[key]
        if value is not None and not (isinstance(value, (int, float)) and not isinstance(value, bool)
                                      and math.isfinite(value) and lo <= value <= hi):
            raise _damaged(where, f"a diary entry's {key} is out of range")
        entry[key] = value
    if entry["mood"] is not None:
        entry["mood"] = int(entry["mood"])
    if all(entry[k] is None for k in _DIARY_FIELDS) and not entry["notes"]:
        raise _damaged(where, "a diary entry is empty")
    return entry


def read_practice(bundle: Bundle) -> Practice:
    """The checked content of an opened practice bundle; every recording must open as a recording."""
    from biofeedback.files.recording import Recording
    where = bundle.path.name
    data = bundle.read_json(MEMBER)
    if not isinstance(data, dict) or not isinstance(data.get("client"), dict):
        raise _damaged(where, "the practice description is unreadable")
    client_id = str(data["client"].get("id") or "")
    if client_id != bundle.client_id:
        raise _damaged(where, "it names another client than its manifest")
    sessions = [_check_session(item, bundle, where) for item in data.get("sessions") or []]
    diary = [_check_diary(item, where) for item in data.get("diary") or []]
    for s in sessions:
        try:
            Recording.open(bundle.member(s.recording)).close()
        except UserError as exc:
            raise _damaged(where, f"the recording of {s.started_at[:16]} cannot be read ({exc})") from None
    from biofeedback.clinic.programme import _check_shaping
    steps = _check_shaping({"steps": data.get("target_steps") or []}, where).get("steps") or []
    return Practice(client_id, str(data["client"].get("name") or ""), str(data.get("exported_at") or ""),
                    data.get("since"), sessions, diary, steps)


# --------------------------------------------------------------------------- import (clinic)

@dataclass(frozen=True)
class ImportResult:
    client_name: str
    sessions_added: int
    sessions_known: int
    diary_added: int
    diary_known: int

    def line(self) -> str:
        if not (self.sessions_added or self.diary_added):
            return (f"nothing new for {self.client_name}: {plural(self.sessions_known, 'session')} and "
                    f"{plural(self.diary_known, 'diary entry', 'diary entries')} were already in the library")
        return (f"imported {plural(self.sessions_added, 'home session')} and "
                f"{plural(self.diary_added, 'diary entry', 'diary entries')} for {self.client_name}"
                + (f" ({plural(self.sessions_known, 'session')} and "
                   f"{plural(self.diary_known, 'diary entry', 'diary entries')} already there)"
                   if self.sessions_known or self.diary_known else ""))


def _place_file(source: Path, dest: Path, sha256: str) -> None:
    """Copy ``source`` to ``dest`` crash-safely: a temporary name, flushed, then renamed into place."""
    if dest.exists() and _sha256(dest) == sha256:
        return                                    # finished by an earlier, interrupted import
    tmp = dest.with_name(f".{dest.name}.part")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(source, "rb") as src, os.fdopen(fd, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(tmp, dest)
    dir_fd = os.open(dest.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _import_folder(library: Library, client_id: str) -> Path:
    """Beside the library file; for a clinic's server, in this computer's cache until uploaded."""
    base = library.path.parent if isinstance(library.path, Path) else cache_dir()
    folder = base / IMPORT_FOLDER / client_id
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _diary_key(values: dict[str, Any]) -> tuple:
    def num(v: Any) -> float | None:
        return None if v is None else float(v)
    return (values["day"], *(num(values[k]) for k in _DIARY_FIELDS), (values.get("notes") or "").strip())


def _known_diary(library: Library, client: Client) -> set[tuple]:
    return {_diary_key({"day": d.day, "notes": d.notes, **{k: getattr(d, k) for k in _DIARY_FIELDS}})
            for d in library.diary(client)}


def import_practice(library: Library, path: str | os.PathLike) -> ImportResult:
    """File a practice bundle's sessions (as home sessions) and diary under its client; idempotent."""
    with open_bundle(path, FORMAT, FORMAT_VERSION, WHAT) as bundle:
        practice = read_practice(bundle)
        client = library.find_client_by_uid(practice.client_id)
        if client is None:
            raise UserError(f"{Path(path).name} is practice of a client this library does not know "
                            f"({practice.client_name!r}, id {practice.client_id}); import it into the library her "
                            f"programme was written from (--library PATH); nothing was imported")
        folder = _import_folder(library, practice.client_id)
        existing = {(s.started_at, s.protocol) for s in library.sessions(client)}
        added = known = 0
        for s in practice.sessions:
            dest = folder / Path(s.recording).name
            if library.session_for_recording(dest) is not None or (s.started_at, s.protocol) in existing:
                known += 1
                continue
            _place_file(bundle.member(s.recording), dest, bundle.manifest["members"][s.recording]["sha256"])
            session = library.add_home_session(client, dest, s.started_at, s.protocol, s.duration_s, s.summary)
            if library.is_server:                         # uploaded and verified, or queued if the server left
                from biofeedback.clinic import sync
                sync.store_or_queue(library, session, dest, client.name)
            existing.add((s.started_at, s.protocol))
            added += 1
        have = _known_diary(library, client)
        diary_added = diary_known = 0
        for entry in practice.diary:
            key = _diary_key(entry)
            if key in have:
                diary_known += 1
                continue
            library.add_diary(client, entry["day"], pain_intercourse=entry["pain_intercourse"],
                              pain_pelvic=entry["pain_pelvic"], mood=entry["mood"],
                              minutes_practised=entry["minutes_practised"], notes=entry["notes"])
            have.add(key)
            diary_added += 1
        take_home_steps(library, client, practice.target_steps)
    from biofeedback.clinic.progress import update_milestones
    update_milestones(library, client)
    return ImportResult(client.name, added, known, diary_added, diary_known)



def _step_key(step: dict[str, Any]) -> tuple[str, float]:
    day = step["day"] if isinstance(step["day"], dt.date) else parse_day(str(step["day"]))
    return day.isoformat(), round(float(step["target"]), 6)


def take_home_steps(library: Library, client: Client, steps: list[dict[str, Any]]) -> None:
    """The steps her programme's rule took at home join her history; when the newest of them is now her
    latest step, it becomes her target here too (her bands and kept target), as a step accepted here would.

    Unless the first new one stepped down ``from`` another target than hers here: the therapist changed it
    at the clinic after writing the programme her home followed, and her choice wins (her target here is
    filed again so it stays the latest step). A file from an older program has no ``from``: taken as before.
    """
    from biofeedback.clinic.programme import _add_missing_steps
    from biofeedback.signal.calibration import shaped_target
    before = library.target_steps(client)
    known = {_step_key(t) for t in before}
    new = [t for t in steps if _step_key(t) not in known]
    _add_missing_steps(library, client, steps)
    after = library.target_steps(client)
    stepped_from = new[0].get("from") if new else None
    if (before and isinstance(stepped_from, (int, float)) and not isinstance(stepped_from, bool)
            and abs(float(stepped_from) - float(before[-1]["target"])) > 1e-6):
        mine = before[-1]
        if after[-1]["id"] != mine["id"]:
            library.add_target_step(client, mine["target"], day=max(dt.date.today(), after[-1]["day"]),
                                    rule=mine["rule"], unit=mine["unit"],
                                    note=f"kept: set here after the {float(stepped_from):g} her home programme's "
                                         f"rule stepped down from")
        return
    if len(after) == len(before) or after[-1]["rule"] != PROGRAMME_STEP_RULE or after[-1].get("unit", "uV") != "uV":
        return
    previous = after[-2]["target"] if len(after) > 1 else after[-1]["target"]
    store_target(library, client, shaped_target(after[-1]["target"], previous, "programme"),
                 step_rule=PROGRAMME_STEP_RULE)
