"""Filing a finished session in the client library: the session row, then the client's milestones.

:func:`register_recording` puts a recording under its client, :func:`session_summary` gives the figures
stored with it, :func:`file_session` does both and then stores the goals newly met. Kept apart from the
storage module (``library``) so that storage never needs the analysis or the progress rules.

One rule for every path that ends a session (the ``record`` command, the window, the diary prompt), so a
session filed from the command line updates her milestones exactly as one filed from the window does.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from biofeedback.clinic.analysis import analyze
from biofeedback.clinic.library import Client, Library, SessionRecord, require_client
from biofeedback.clinic.progress import GoalStatus, update_milestones
from biofeedback.clinic.shaping import ShapingOutcome
from biofeedback.errors import UserError
from biofeedback.files.recording import Recording


@dataclass
class FiledSession:
    """What filing did: the library's new session row, its client, the goals met for the first time (and the
    next release-target step, see :attr:`shaping`)."""

    session: SessionRecord
    client: Client
    newly_met: list[GoalStatus] = field(default_factory=list)
    library_path: str = ""
    #: the next release-target step, when this session completed her run of sessions under the target
    #: (proposed, or taken by her programme's rule at home); the session controller works it out once
    shaping: ShapingOutcome | None = None


def file_session(library: Library, recording_path: str | os.PathLike, client: Client | str | None = None,
                 place: str | None = None) -> FiledSession:
    """Put ``recording_path`` into ``library`` under its client and store the goals it newly meets.

    ``place`` ('home' or 'clinic') says where the session took place (home mode files 'home').

    Raises :class:`~biofeedback.errors.UserError` when the recording names no known client or cannot be read.
    """
    session = register_recording(library, recording_path, client, place=place)
    target = library.client_by_id(session.client_id)
    newly = update_milestones(library, target)
    return FiledSession(session, library.client_by_id(target.id), newly, str(library.path))


def register_recording(library: Library, recording_path: str | os.PathLike, client: Client | str | None = None,
                       summary: dict[str, Any] | None = None, *, create: bool = False,
                       queue_when_unreachable: bool = True, place: str | None = None) -> SessionRecord:
    """Put a recording file into the library under its client (from the recording's meta unless given).

    An unknown client name is refused (see :func:`require_client`) unless ``create`` is True, which only
    callers that explicitly add a client should pass. In a server library the recording is then uploaded and
    verified (:mod:`biofeedback.clinic.sync`); if the server stops answering it waits in the local queue.
    """
    session = _register(library, recording_path, client, summary, create, place)
    if library.is_server:
        from biofeedback.clinic import sync
        if queue_when_unreachable:
            sync.store_or_queue(library, session, recording_path, library.client_by_id(session.client_id).name)
        else:
            sync.upload_recording(library, session, recording_path)
    return session


def _register(library: Library, recording_path: str | os.PathLike, client: Client | str | None,
              summary: dict[str, Any] | None, create: bool, place: str | None = None) -> SessionRecord:
    rec = Recording.open(recording_path)
    try:
        if isinstance(client, Client):
            target = library.client_by_id(client.id)
        else:
            name = str(client or rec.meta.get("client") or "").strip()
            if not name:
                raise UserError(f"{recording_path} names no client; give one (e.g. --client NAME)")
            target = library.get_or_add_client(name) if create else require_client(library, name)
        if summary is None:
            summary = session_summary(rec)
        protocol = rec.meta.get("protocol") or ""
        if isinstance(protocol, dict):
            protocol = protocol.get("name") or ""
        return library.add_session(target, recording_path, rec.started_at, str(protocol), rec.duration_s, summary,
                                   place=place)
    finally:
        rec.close()


def session_analysis(rec: Any) -> dict[str, Any]:
    """The analysis of a recording (``summary``, ``trials``, ...), run once for all a caller needs from it.

    Free practice without steps cannot be analysed: its ``summary`` is the one stored with it (or none) and
    it has no ``trials``.
    """
    try:
        return dict(analyze(rec))
    except UserError:
        return {"summary": dict(rec.meta.get("summary") or {}), "trials": []}


def session_summary(rec: Any) -> dict[str, Any]:
    """The analysis of a recording; for free practice without steps, the summary stored with it (or none)."""
    return dict(session_analysis(rec)["summary"])
