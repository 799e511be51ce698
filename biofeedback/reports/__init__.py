"""Session and progress reports as PDF (Qt's QPdfWriter) or one self-contained HTML file.

What goes into a report is gathered by :mod:`biofeedback.reports.content` without Qt; the
plots (:mod:`.plots`) and the PDF writer (:mod:`.render`) use Qt and are imported only here,
when a report is written.
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

from biofeedback.clinic.library import Library
from biofeedback.errors import UserError

ProgressFn = Callable[[float], None]


def report_format(out: str | os.PathLike) -> str:
    """'pdf' or 'html' from the output file's extension."""
    suffix = Path(out).suffix.lower()
    if suffix == ".pdf":
        return "pdf"
    if suffix in (".html", ".htm"):
        return "html"
    raise UserError(f"cannot tell the report format from {str(out)!r}; end the file name in .pdf or .html")


def _check_output(out: str | os.PathLike, inputs: list) -> Path:
    """The report file: a new file (never over an existing one or an input) in a writable folder."""
    from biofeedback.files.outputs import new_output
    return new_output(out, inputs=[p for p in inputs if p], what="report")


#: Who a session report is written for: ``biofeedback report FILE --for clinician|patient``.
VOICES = ("clinician", "patient")


def session_report(recording_path: str | os.PathLike, out: str | os.PathLike, library: Library | None = None,
                   progress: ProgressFn | None = None, voice: str = "clinician") -> Path:
    """Write the report of one recorded session.

    ``clinician``: every measure, which direction is better, changes since the first and previous session
    marked only when larger than the measurement's noise. ``patient``: short and kind, no units.
    """
    from biofeedback.reports.content import gather_session
    from biofeedback.reports.html import session_html
    from biofeedback.reports.patient import patient_html
    from biofeedback.reports.plots import patient_png, session_png
    from biofeedback.reports.render import write_html, write_pdf

    if voice not in VOICES:
        raise UserError(f"unknown report voice {voice!r}; use --for clinician or --for patient")
    progress = progress or (lambda f: None)
    fmt = report_format(out)
    out = _check_output(out, [recording_path, library.path if library is not None else None])
    report = gather_session(recording_path, library, progress=lambda f: progress(0.7 * f))
    if voice == "patient":
        images = {"patient": patient_png(report)}
        page = lambda src: patient_html(report, src)
    else:
        images = {"session": session_png(report)}
        page = lambda src: session_html(report, src)
    progress(0.85)
    path = write_pdf(page, images, out, report.title) if fmt == "pdf" else write_html(page, images, out)
    progress(1.0)
    return path


def progress_report(library: Library, client: str, out: str | os.PathLike, start: dt.date | None = None,
                    end: dt.date | None = None, progress: ProgressFn | None = None) -> Path:
    """Write a client's progress between two days: trends with goals, sessions and diary."""
    from biofeedback.clinic.progress import plotted_keys
    from biofeedback.errors import RecordingError
    from biofeedback.reports.content import gather_progress
    from biofeedback.reports.html import progress_html
    from biofeedback.reports.overlay import align_sessions, overlay_pair
    from biofeedback.reports.plots import date_range_x, overlay_png, trend_png
    from biofeedback.reports.render import write_html, write_pdf

    progress = progress or (lambda f: None)
    fmt = report_format(out)
    out = _check_output(out, [library.path])
    if start and end and end < start:
        raise UserError(f"--from {start} is after --to {end}; swap them")
    report = gather_progress(library, client, start, end)
    progress(0.2)
    keys = plotted_keys(report.trends)
    images = {}
    x_range = date_range_x(report.date_range) if report.date_range else None   # one range for every chart
    for i, k in enumerate(keys):
        apart = {place: series[k] for place, series in report.place_trends.items() if k in series}
        if not apart:
            images["trend_" + k] = trend_png(report.trends[k], report.goals, x_range=x_range,
                                             target_steps=report.target_steps)
        for place, trend in apart.items():                    # clinic and home sessions apart
            if trend.points:
                images[f"trend_{place}_{k}"] = trend_png(trend, report.goals, x_range=x_range,
                                                         target_steps=report.target_steps)
        progress(0.2 + 0.6 * (i + 1) / len(keys))
    pair = overlay_pair(report.sessions)
    if pair is not None:                     # first versus latest, aligned at the protocol's steps
        try:
            overlay = align_sessions(pair[0].recording_path, pair[1].recording_path)
        except (UserError, RecordingError):
            overlay = None
        if overlay is not None:
            images["overlay"] = overlay_png(overlay)
            report.overlay_caption = (f"{pair[1].protocol or 'Practice'}: the first session "
                                      f"({overlay.first.label[7:]}, grey) and the latest "
                                      f"({overlay.latest.label[8:]}, blue), each "
                                      f"{overlay.phase} squeeze aligned at its cue; bold lines are the means.")
    page = lambda src: progress_html(report, src)
    path = write_pdf(page, images, out, report.title) if fmt == "pdf" else write_html(page, images, out)
    progress(1.0)
    return path
