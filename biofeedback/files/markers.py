"""Markers edited after recording, without ever changing what was recorded.

A recording's own ``marker`` events are never rewritten. Review adds ``marker_edit`` events
(``data = {"id", "action": "add" | "rename" | "delete"}``) that supersede a marker by its id;
:func:`current_events` resolves them into the markers as they stand now, which is what review,
exports and reports show. The recorded markers and every edit stay in the file.

A recorded marker's id is ``"rec-N"``: its place (from 0) among the file's ``marker`` events in
time order. That order cannot change, because edits are only ever added as ``marker_edit``.
"""
from __future__ import annotations

import datetime as dt
import os
import uuid

from biofeedback.stream import Event

EDIT_KIND = "marker_edit"


def marker_id(event: Event) -> str:
    """The id of a marker in a list that :func:`current_events` returned."""
    return str(event.data.get("id", ""))


def current_events(events: list[Event]) -> list[Event]:
    """The events with markers as they stand after every edit.

    Edits are applied in the order they come (a recording lists events by time, then by when they were
    written); every edit of one marker carries that marker's time, so its edits keep the order written.

    Recorded markers come back with ``data["id"]`` set; deleted ones are left out; ``marker_edit``
    events themselves are not returned.
    """
    markers: dict[str, Event] = {}
    others: list[Event] = []
    n_recorded = 0
    for e in events:
        if e.kind == "marker":
            key = f"rec-{n_recorded}"
            n_recorded += 1
            markers[key] = Event(e.time_s, "marker", e.label, {**e.data, "id": key})
        elif e.kind != EDIT_KIND:
            others.append(e)
    for e in events:
        if e.kind != EDIT_KIND:
            continue
        key, action = str(e.data.get("id", "")), e.data.get("action")
        if action == "add":
            markers[key] = Event(e.time_s, "marker", e.label, {"id": key, "added_in_review": True})
        elif action == "rename" and key in markers:
            old = markers[key]
            markers[key] = Event(old.time_s, "marker", e.label, {**old.data, "renamed_from": old.label})
        elif action == "delete":
            markers.pop(key, None)
    return sorted(others + list(markers.values()), key=lambda e: e.time_s)


def _edit(action: str, key: str, time_s: float, label: str) -> Event:
    when = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    return Event(float(time_s), EDIT_KIND, label, {"id": key, "action": action, "edited_at": when})


def add_marker(path: str | os.PathLike, time_s: float, label: str) -> str:
    """Add a marker to a closed recording; returns its id."""
    from biofeedback.files.recording import append_events
    key = "rev-" + uuid.uuid4().hex[:12]
    append_events(path, [_edit("add", key, time_s, label)])
    return key


def rename_marker(path: str | os.PathLike, marker: Event, label: str) -> None:
    from biofeedback.files.recording import append_events
    append_events(path, [_edit("rename", marker_id(marker), marker.time_s, label)])


def delete_marker(path: str | os.PathLike, marker: Event) -> None:
    from biofeedback.files.recording import append_events
    append_events(path, [_edit("delete", marker_id(marker), marker.time_s, marker.label)])
