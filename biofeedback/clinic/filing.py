"""Filing a finished session in the client library: the session row, then the client's milestones.

One rule for every path that ends a session (the ``record`` command, the window, the diary prompt), so a
session filed from the command line updates her milestones exactly as one filed from the window does.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from biofeedback.clinic.library import Client, Library, SessionRecord, register_recording
from biofeedback.clinic.progress import GoalStatus, update_milestones


@dataclass
class FiledSession:
    """What filing did: the library's new session row, its client, and the goals met for the first time."""

    session: SessionRecord
    client: Client
    newly_met: list[GoalStatus] = field(default_factory=list)
    library_path: str = ""


def file_session(library: Library, recording_path: str | os.PathLike, client: Client | str | None = None
                 ) -> FiledSession:
    """Put ``recording_path`` into ``library`` under its client and store the goals it newly meets.

    Raises :class:`~biofeedback.errors.UserError` when the recording names no known client or cannot be read.
    """
    session = register_recording(library, recording_path, client)
    target = library.client_by_id(session.client_id)
    newly = update_milestones(library, target)
    return FiledSession(session, library.client_by_id(target.id), newly, str(library.path))
