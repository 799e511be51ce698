"""Moving a clinic over: copy a library (usually the SQLite file) to a server library.

``biofeedback library migrate --to postgresql://... [--library OLD.sqlite]`` copies clients, sessions with
their recordings (and where each took place), diary entries, goals, and the clients' ids and home programmes
(issue 13). Each record is matched on the server by what identifies it (a
client by name, a session by its recording, a diary entry or goal by its contents and creation time), so a
second run copies nothing twice and a run interrupted half way is finished by running it again. At the end
every source record is looked up on the server and every recording's SHA-256 compared, and the result says
what was moved and what was already there. The source library is only read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from biofeedback.clinic.library import Library, LibraryError, diary, goals
from biofeedback.clinic.store import redact
from biofeedback.clinic.sync import local_digest, stored_digest, upload_recording
from biofeedback.words import plural

_DIARY_KEY = ("day", "created_at", "notes", "pain_intercourse", "pain_pelvic", "mood", "minutes_practised")
_GOAL_KEY = ("metric", "comparison", "target", "label", "created_on", "protocol")


@dataclass
class MigrationReport:
    moved: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("clients", "sessions", "recordings", "diary entries", "goals", "release-target steps"), 0))
    present: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("clients", "sessions", "recordings", "diary entries", "goals", "release-target steps"), 0))
    uploaded_bytes: int = 0
    checksums: int = 0
    missing_files: list[str] = field(default_factory=list)

    def lines(self, source: str, dest: str) -> list[str]:
        moved = ", ".join(f"{n} {k}" for k, n in self.moved.items())
        there = ", ".join(f"{n} {k}" for k, n in self.present.items())
        out = [f"moved from {source} to {dest}: {moved}"
               + (f" ({self.uploaded_bytes / 1e6:.1f} MB of samples)" if self.uploaded_bytes else ""),
               f"already there before: {there}",
               f"verified: every record found on the server, {plural(self.checksums, 'recording checksum')} equal"]
        if self.missing_files:
            out.append(f"not uploaded (file missing on this computer, session copied): "
                       f"{len(self.missing_files)}: " + ", ".join(self.missing_files[:5]))
        return out


def _key(row: Any, keys: tuple[str, ...]) -> tuple:
    return tuple(row[k] for k in keys)


def migrate_library(source: str | Path | None, dest: str) -> tuple[MigrationReport, str, str]:
    """Copy the library ``source`` into ``dest``; returns the report and both names as shown to people."""
    with Library.open(source, create=False) as src:
        with Library.open(dest) as dst:
            if src.target == dst.target:
                raise LibraryError("the library to migrate to is the one being read; give another --to")
            report = MigrationReport()
            for client in src.clients():
                _copy_client(src, dst, client, report)
            _verify(src, dst, report)
            return report, redact(src.target), redact(dst.target)


def _copy_client(src: Library, dst: Library, client: Any, report: MigrationReport) -> None:
    there = dst.find_client(client.name)
    if there is None:
        there = dst.add_client(client.name, client.notes, client.calibration, client.bands)
        dst.set_client_uid(there, src.client_uid(client))     # her practice files keep finding her
        report.moved["clients"] += 1
    else:
        report.present["clients"] += 1
    places = src.session_places(client)
    session_ids: dict[int, int] = {}
    for s in src.sessions(client):
        copy = dst.session_for_recording(s.recording_path)
        if copy is None:
            copy = dst.add_session(there, s.recording_path, s.started_at, s.protocol, s.duration_s, s.summary,
                                   s.notes, place=places.get(s.id))
            report.moved["sessions"] += 1
        else:
            report.present["sessions"] += 1
        session_ids[s.id] = copy.id
        if not dst.is_server:
            continue
        if not Path(s.recording_path).exists():
            report.missing_files.append(Path(s.recording_path).name)
            continue
        if stored_digest(dst, copy.id) == local_digest(s.recording_path):
            report.present["recordings"] += 1
        else:
            upload_recording(dst, copy, s.recording_path)
            report.moved["recordings"] += 1
            report.uploaded_bytes += Path(s.recording_path).stat().st_size
    _copy_rows(src, dst, diary, client.id, there.id, _DIARY_KEY, "diary entries", report, session_ids)
    _copy_rows(src, dst, goals, client.id, there.id, _GOAL_KEY, "goals", report, session_ids)
    _copy_steps(src, dst, client, there, report)
    for programme in src.programmes(client):                  # her home programmes (same id: stored once)
        dst.add_programme(there, programme)
    if (exported := src.last_export(client)) and not dst.last_export(there):
        dst.set_last_export(there, exported)


def _step_key(step: dict[str, Any]) -> tuple:
    return step["day"], round(float(step["target"]), 6), step["unit"], step["rule"]


def _copy_steps(src: Library, dst: Library, client: Any, there: Any, report: MigrationReport) -> None:
    """Her release-target steps (shaping history; the last one is the target she trains against), in order."""
    have = {_step_key(t) for t in dst.target_steps(there)}
    for step in src.target_steps(client):
        if _step_key(step) in have:
            report.present["release-target steps"] += 1
            continue
        dst.add_target_step(there, step["target"], day=step["day"], rule=step["rule"], note=step["note"],
                            unit=step["unit"])
        have.add(_step_key(step))
        report.moved["release-target steps"] += 1


def _rows(lib: Library, table: Any, client_id: int) -> list[dict[str, Any]]:
    with lib._read() as db:
        return [dict(r._mapping) for r in db.execute(select(table).where(table.c.client_id == client_id)
                                                      .order_by(table.c.id))]


def _copy_rows(src: Library, dst: Library, table: Any, src_client: int, dst_client: int, keys: tuple[str, ...],
               label: str, report: MigrationReport, session_ids: dict[int, int]) -> None:
    have = {_key(r, keys) for r in _rows(dst, table, dst_client)}
    new = []
    for row in _rows(src, table, src_client):
        if _key(row, keys) in have:
            report.present[label] += 1
            continue
        row = {k: v for k, v in row.items() if k not in ("id", "row_version")}
        row.update(client_id=dst_client, **dst._stamp())
        if "session_id" in row and row["session_id"] is not None:
            row["session_id"] = session_ids.get(row["session_id"])
        new.append(row)
        have.add(_key(row, keys))
    if new:
        with dst._writing() as db:
            db.execute(insert(table), new)
        report.moved[label] += len(new)


def _verify(src: Library, dst: Library, report: MigrationReport) -> None:
    """Every source record is on the destination, and every uploaded recording has the same checksum."""
    for client in src.clients():
        there = dst.find_client(client.name)
        if there is None:
            raise LibraryError(f"verification failed: client {client.name!r} is not on {redact(dst.target)}")
        for s in src.sessions(client):
            copy = dst.session_for_recording(s.recording_path)
            if copy is None or copy.client_id != there.id:
                raise LibraryError(f"verification failed: the session {Path(s.recording_path).name} is missing")
            if dst.is_server and Path(s.recording_path).exists():
                if stored_digest(dst, copy.id) != local_digest(s.recording_path):
                    raise LibraryError(f"verification failed: the recording {Path(s.recording_path).name} "
                                       f"differs on the server; run the migration again")
                report.checksums += 1
        if not {_step_key(t) for t in src.target_steps(client)} <= {_step_key(t) for t in dst.target_steps(there)}:
            raise LibraryError(f"verification failed: a release-target step of {client.name} is missing")
        for table, keys, label in ((diary, _DIARY_KEY, "diary entry"), (goals, _GOAL_KEY, "goal")):
            have = {_key(r, keys) for r in _rows(dst, table, there.id)}
            for row in _rows(src, table, client.id):
                if _key(row, keys) not in have:
                    raise LibraryError(f"verification failed: a {label} of {client.name} is missing")
