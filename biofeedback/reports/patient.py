"""The patient's report: short and kind — what went well, one thing to try next, her progress picture.

No units, no clinical words, no numbers she has to interpret: she is often anxious, and the care is
built on self-compassion and small wins. What counts as "better" uses the same noise rule as the
clinician's report (a wobble is never called progress, nor a setback). Pure text, no Qt.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

from biofeedback.reports.content import MetricRow, SessionReport
from biofeedback.reports.html import Src, page

#: Said when nothing else stands out: turning up is the win.
SHOWING_UP = "You took time for your practice today. That is what makes the difference."


@dataclass(frozen=True)
class PatientWords:
    title: str
    went_well: list[str]
    try_next: str
    picture_caption: str
    picture_is_progress: bool      # True: her sessions over time; False: today's session


def _row(report: SessionReport, *keys: str) -> MetricRow | None:
    return next((m for m in report.metrics if m.key in keys), None)


def _improved_since_first(row: MetricRow | None) -> bool:
    """Better than the first session by more than the noise (the clinician's rule)."""
    if row is None or row.value is None or row.first is None or not row.marked:
        return False
    lower = row.better_when.startswith("lower")
    first_part = row.change.split(";")[0]
    return "since the first session" in first_part and "(better)" in first_part and \
        ((row.value < row.first) == lower)


def patient_words(report: SessionReport) -> PatientWords:
    """Choose the kind sentences from the session's figures."""
    s = report.summary
    when = _long_day(report.started_at)
    well: list[str] = []
    trials = int(s.get("trials") or 0)
    released = int(s.get("trials_released") or 0)
    if trials and released == trials:
        well.append(f"Your muscle let go after every one of the {trials} squeezes.")
    elif trials and released:
        well.append(f"Your muscle let go after {released} of the {trials} squeezes.")
    if _improved_since_first(_row(report, "resting_tone_uv", "resting_tone_cmh2o")):
        well.append("Your pelvic floor was calmer at rest than in your first session.")
    if _improved_since_first(_row(report, "release_latency_s")):
        well.append("You let go faster than in your first session.")
    in_release = s.get("time_in_release_band_pct")
    if isinstance(in_release, (int, float)) and in_release >= 60:
        well.append("During the resting times your muscle stayed soft most of the time.")
    if not well:
        well.append(SHOWING_UP)

    slow = int(s.get("trials_slow_release") or 0) + int(s.get("trials_not_released") or 0)
    pre, post = s.get("resting_tone_uv", s.get("resting_tone_cmh2o")), s.get("post_resting_tone_uv",
                                                                           s.get("post_resting_tone_cmh2o"))
    coact = s.get("abd_coactivation_pct")
    if trials and slow * 2 >= trials:
        tip = ("After each squeeze, breathe in slowly and let the muscle soften and drop. "
               "Take all the time you need; there is no hurry.")
    elif isinstance(pre, (int, float)) and isinstance(post, (int, float)) and post > 1.15 * pre:
        tip = "At the end, take a few slow breaths and let your pelvic floor go soft before you get up."
    elif isinstance(coact, (int, float)) and coact > 60:
        tip = "Keep your belly soft while you squeeze, so that your pelvic floor can do the work on its own."
    else:
        tip = ("Keep practising gently, a few minutes on most days. If you miss a day, that is fine: "
               "just pick it up again.")

    progress = len(report.resting_history) >= 2
    caption = ("How relaxed your pelvic floor was at rest, session by session. Lower means calmer."
               if progress else
               "Today's practice: the shaded parts are the squeezes; after each one you can see your muscle "
               "letting go.")
    return PatientWords(f"Your practice on {when}", well[:3], tip, caption, progress)


def _long_day(started_at: str) -> str:
    import datetime as dt
    try:
        d = dt.datetime.fromisoformat(started_at)
    except (TypeError, ValueError):
        return "this day"
    return f"{d.day} {d:%B %Y}"


def patient_html(report: SessionReport, src: Src, plot_width: int = 620) -> str:
    """The patient's page."""
    w = patient_words(report)
    parts = [f"<h1>{escape(w.title)}</h1>"]
    if report.client:
        parts.append(f"<p class=\"meta\">For {escape(report.client)}</p>")
    parts.append("<h2>What went well</h2>" + "".join(f"<p>{escape(line)}</p>" for line in w.went_well))
    parts.append(f"<h2>One thing to try next</h2><p>{escape(w.try_next)}</p>")
    parts.append("<h2>Your progress</h2>" if w.picture_is_progress else "<h2>Your practice today</h2>")
    parts.append(f"<p><img src=\"{src('patient')}\" width=\"{plot_width}\" alt=\"{escape(w.picture_caption)}\"></p>")
    parts.append(f"<p class=\"meta\">{escape(w.picture_caption)}</p>")
    parts.append("<p>Bring any questions to your next visit. Be kind to yourself: every practice counts.</p>")
    return page(w.title, "\n".join(parts), footer="")
