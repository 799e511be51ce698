"""Report pages as HTML (no Qt): a single self-contained file, or the same page for Qt's PDF writer.

Images are referred to through ``src(name)``: a base64 ``data:`` URI for the HTML file,
a resource name for :class:`QTextDocument`. The CSS stays within what QTextDocument renders.
"""
from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from html import escape

from biofeedback import __version__
from biofeedback.clinic.progress import METRICS, plotted_keys
from biofeedback.reports.content import ProgressReport, SessionReport, fmt_duration
from biofeedback.words import plural

Src = Callable[[str], str]

#: How the clinician's report decides that a change is a change (the rule is in reports/noise.py).
NOISE_NOTE = ("Changes in bold are larger than the measurement's own noise (a minimal detectable change at 95 %: "
              "1.96 × √2 × the standard error from this session's between-trial spread, or from the spread of "
              "2-second resting means; a tenth of the earlier value when neither is known; at least 0.1 s, "
              "0.5 µV or 5 points). Smaller changes read \"about the same\".")

CSS = """
body { font-family: 'DejaVu Sans', 'Segoe UI', Helvetica, Arial, sans-serif; color: #222; font-size: 10pt; }
h1 { font-size: 16pt; color: #1e3f73; margin: 0 0 4px 0; }
h2 { font-size: 12pt; color: #1e3f73; margin: 14px 0 4px 0; }
p { margin: 2px 0 6px 0; }
.meta { color: #555; }
.warn { color: #8a4b00; background-color: #fff4e0; padding: 4px; }
table.data { border-collapse: collapse; margin: 4px 0 8px 0; }
table.data th { background-color: #e8eef7; text-align: left; padding: 4px 6px; border-bottom: 1px solid #9ab; }
table.data td { padding: 4px 6px; border-bottom: 1px solid #dde; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; }
td.note { color: #333; }
.legend span { padding: 1px 6px; margin-right: 6px; }
.footer { color: #888; font-size: 8pt; margin-top: 12px; }
img { max-width: 100%; }
"""


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def page(title: str, body: str, footer: str | None = None) -> str:
    """A whole HTML page; ``footer`` replaces the clinician's note on equipment ("" for none: the patient's
    page, which also leaves out the program's version number)."""
    credit = f"Made with biofeedback {escape(__version__)}" if footer is None else "Made"
    if footer is None:
        footer = ("Amplitudes depend on the probe and device; compare sessions recorded with the same "
                  "equipment.")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>\n{body}\n"
            f"<p class=\"footer\">{credit} on {dt.date.today():%d %B %Y}. {escape(footer)}</p>\n</body></html>\n")


_page = page


def _legend() -> str:
    return ("<p class=\"legend\">Shading:&nbsp; <span style=\"background-color:#f4d9bd\">&nbsp;contract&nbsp;</span>"
            "&nbsp;&nbsp;<span style=\"background-color:#c9e6d3\">&nbsp;release&nbsp;</span>"
            "&nbsp;&nbsp;<span style=\"background-color:#e6e6e6\">&nbsp;rest&nbsp;</span>"
            "&nbsp;&nbsp;· dashed red lines are the therapist's markers.</p>")


def session_html(report: SessionReport, src: Src, plot_width: int = 680) -> str:
    """The session report page."""
    r = report
    when = r.started_at[:16].replace("T", " at ") if r.started_at else "unknown date"
    parts = ["<h1>Session report</h1>",
             f"<p class=\"meta\"><b>{escape(r.client or 'Anonymous')}</b> · {escape(when)} · "
             f"{escape(r.protocol)} · {escape(fmt_duration(r.duration_s))}"
             f"{(' · ' + escape(r.device)) if r.device else ''}</p>"]
    for w in r.warnings:
        parts.append(f"<p class=\"warn\">{escape(w)}</p>")
    if r.signal_quality:
        q = r.signal_quality
        light = str(q.get("light", ""))
        parts.append(f"<p class=\"{'meta' if light == 'green' else 'warn'}\">Signal quality "
                     f"({escape(light)}): {escape(str(q['sentence']))}</p>")
    parts.append("<h2>The whole session</h2>")
    parts.append(f"<p><img src=\"{src('session')}\" width=\"{plot_width}\" "
                 "alt=\"muscle activity over the session\"></p>")
    parts.append(_legend())
    if r.metrics:
        parts.append("<h2>Measures</h2>")
        first = "First session" + (f"<br><span class=\"meta\">{escape(_short_day(r.first_session))}</span>"
                                   if r.first_session else "")
        prev = "Last time" + (f"<br><span class=\"meta\">{escape(_short_day(r.previous_session))}</span>"
                              if r.previous_session else "")
        rows = [f"<table class=\"data\" width=\"100%\"><tr><th width=\"20%\">Measure</th>"
                f"<th width=\"13%\">This session</th>"
                f"<th width=\"12%\">{first}</th><th width=\"11%\">{prev}</th><th width=\"44%\">What it means</th>"
                f"</tr>"]
        for m in r.metrics:
            change = escape(m.change[0].upper() + m.change[1:]) + "." if m.change else ""
            if change:
                change = f"<br><b>{change}</b>" if m.marked else f"<br><span class=\"meta\">{change}</span>"
            note = escape(m.note) + change
            label = escape(m.label) + (f"<br><span class=\"meta\">{escape(m.better_when)}</span>"
                                       if m.better_when else "")
            rows.append(f"<tr><td>{label}</td><td class=\"num\"><b>{escape(m.text(m.value))}</b></td>"
                        f"<td class=\"num\">{escape(m.text(m.first))}</td>"
                        f"<td class=\"num\">{escape(m.text(m.previous))}"
                        f"</td><td class=\"note\">{note}</td></tr>")
        rows.append("</table>")
        parts.append("".join(rows))
        if r.first_session:
            parts.append(f"<p class=\"meta\">{NOISE_NOTE}</p>")
        if not r.first_session:
            parts.append("<p class=\"meta\">This is the first session in the library: later reports compare "
                         "with it.</p>")
    else:
        parts.append("<p class=\"meta\">No measures are available for this recording "
                     "(it has no exercise steps to measure).</p>")
    if r.phases:
        keys = list(dict.fromkeys(k for ph in r.phases for k, v in ph.items()
                                  if k not in ("phase", "name") and isinstance(v, (int, float))))
        order = list(_PHASE_COLUMNS)
        keys.sort(key=lambda k: next((i for i, stem in enumerate(order) if k.startswith(stem)), len(order)))
        keys = [k for k in keys if any(ph.get(k) is not None for ph in r.phases)][:7]
        head = "".join(f"<th>{escape(_column_name(k))}</th>" for k in keys)
        rows = [f"<h2>Phases</h2><table class=\"data\" width=\"100%\"><tr><th width=\"17%\">Phase</th>{head}</tr>"]
        for ph in r.phases:
            cells = "".join(f"<td class=\"num\">{escape(_cell(ph.get(k)))}</td>" for k in keys)
            name = str(ph.get("phase") or ph.get("name") or "").replace("_", " ")
            rows.append(f"<tr><td>{escape(name)}</td>{cells}</tr>")
        rows.append("</table>")
        parts.append("".join(rows))
    if r.diary is not None:
        d = r.diary
        parts.append("<h2>Diary</h2><p>" + escape(_diary_line(d)) + "</p>")
    return _page(r.title, "\n".join(parts))


_PHASE_COLUMNS = {"rest_mean": "rest", "rest_cv_pct": "rest CV (%)", "work_mean": "work",
                  "peak": "peak", "onset_latency_s": "onset (s)", "release_latency_s": "release (s)",
                  "time_in_band_pct": "in band (%)"}  # also the column order


#: Phase figures that, for pressure, are measured from the resting pressure (see biofeedback.clinic.analysis).
_ABOVE_REST = ("peak", "work_mean")


def _column_name(key: str) -> str:
    """'rest_mean_uv' -> 'rest (µV)', 'release_latency_s' -> 'release (s)'."""
    if key in _PHASE_COLUMNS:
        return _PHASE_COLUMNS[key]
    for suffix, unit in (("_uv", "µV"), ("_cmh2o", "cmH2O"), ("_pct", "%"), ("_s", "s")):
        if key.endswith(suffix):
            stem = key[: -len(suffix)]
            name = _PHASE_COLUMNS.get(stem, stem.replace('_', ' '))
            if suffix == "_cmh2o" and stem in _ABOVE_REST:
                name += " above rest"          # pressure peaks and work means are the rise above resting pressure
            return f"{name} ({unit})"
    return key.replace("_", " ")


def _short_day(started_at: str) -> str:
    """'2026-03-02T10:00' -> '2 Mar 2026' (breaks between words in a narrow column)."""
    try:
        d = dt.date.fromisoformat(started_at[:10])
    except ValueError:
        return started_at[:10]
    return f"{d.day} {d:%b %Y}"


def _cell(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return "" if value is None else str(value)


def _diary_line(d) -> str:
    bits = []
    if d.pain_intercourse is not None:
        bits.append(f"pain with intercourse or dilator {d.pain_intercourse:g}/10")
    if d.pain_pelvic is not None:
        bits.append(f"pelvic pain {d.pain_pelvic:g}/10")
    if d.mood is not None:
        bits.append(f"mood {d.mood}/5")
    if d.minutes_practised is not None:
        bits.append(f"{d.minutes_practised:g} min practised")
    text = ", ".join(bits)
    if d.notes:
        text += (". " if text else "") + d.notes
    return text or "(empty entry)"


def progress_html(report: ProgressReport, src: Src, plot_width: int = 620) -> str:
    """The progress report page: summary, goals, trend plots, sessions, diary."""
    r = report
    span = (f"{r.start.day} {r.start:%b %Y}" if r.start else "the first entry") + " to " + \
           (f"{r.end.day} {r.end:%b %Y}" if r.end else "today")
    parts = ["<h1>Progress report</h1>",
             f"<p class=\"meta\"><b>{escape(r.client)}</b> · {escape(span)} · {len(r.sessions)} "
             f"session{'' if len(r.sessions) == 1 else 's'}, "
             f"{plural(len(r.diary), 'diary entry', 'diary entries')}</p>"]
    if r.summary_lines:
        parts.append("<h2>In short</h2>" + "".join(f"<p>{escape(line)}</p>" for line in r.summary_lines))
    if r.goals:
        rows = ["<h2>Goals</h2><table class=\"data\"><tr><th>Goal</th><th>Latest</th><th>First met</th></tr>"]
        for g in r.goals:
            met = f"{g.met_on.day} {g.met_on:%b %Y}" if g.met_on else "not yet"
            rows.append(f"<tr><td>{escape(g.description)}</td><td class=\"num\">{escape(g.metric.format(g.latest))}"
                        f"</td><td>{escape(met)}</td></tr>")
        rows.append("</table>")
        parts.append("".join(rows))
    if r.adherence:
        parts.append(adherence_html(r.adherence))
    plotted = plotted_keys(r.trends)
    if plotted:
        parts.append("<h2>Over the weeks</h2>")
        if r.date_range:
            a, b = r.date_range
            parts.append(f"<p class=\"meta\">Every chart runs from {a.day} {a:%b %Y} to {b.day} {b:%b %Y}, so pain "
                         f"and practice line up with the muscle; one point per session, at its time of day.</p>")
        for k in plotted:
            if r.place_trends and METRICS[k].source == "session":
                parts.append(_place_trend_images(r, k, src, plot_width))
                continue
            parts.append(f"<p><img src=\"{src('trend_' + k)}\" width=\"{plot_width}\" "
                         f"alt=\"{escape(METRICS[k].label)} over the weeks\"></p>")
    else:
        parts.append("<p class=\"meta\">No measures or diary scores in this period yet.</p>")
    if r.overlay_caption:
        parts.append("<h2>First session and latest</h2>")
        parts.append(f"<p><img src=\"{src('overlay')}\" width=\"{plot_width}\" "
                     f"alt=\"the first and the latest session laid over each other\"></p>")
        parts.append(f"<p class=\"meta\">{escape(r.overlay_caption)}</p>")
    if r.sessions:
        rows = ["<h2>Sessions</h2><table class=\"data\"><tr><th>Date</th><th>Programme</th><th>Resting tone</th>"
                "<th>Release time</th><th>Contraction peak</th><th>Place</th></tr>"]
        for s in r.sessions:
            cells = "".join(f"<td class=\"num\">{escape(_session_value(s.summary, keys))}</td>"
                            for keys in (("resting_tone_uv", "resting_tone_cmh2o"), ("release_latency_s",),
                                         ("contraction_peak_uv", "contraction_peak_cmh2o")))
            rows.append(f"<tr><td>{s.day.day} {s.day:%b %Y}</td><td>{escape(s.protocol or '—')}</td>{cells}"
                        f"<td>{'home' if r.places.get(s.id) == 'home' else 'clinic'}</td></tr>")
        rows.append("</table>")
        parts.append("".join(rows))
    if r.diary:
        rows = ["<h2>Diary</h2><table class=\"data\"><tr><th>Date</th><th>Pain (intercourse/dilator)</th>"
                "<th>Pelvic pain</th><th>Mood</th><th>Practice</th><th>Notes</th></tr>"]
        for d in r.diary:
            practised = "" if d.minutes_practised is None else f"{d.minutes_practised:g} min"
            rows.append(f"<tr><td>{d.day.day} {d.day:%b %Y}</td>"
                        f"<td class=\"num\">{'' if d.pain_intercourse is None else f'{d.pain_intercourse:g}/10'}</td>"
                        f"<td class=\"num\">{'' if d.pain_pelvic is None else f'{d.pain_pelvic:g}/10'}</td>"
                        f"<td class=\"num\">{'' if d.mood is None else f'{d.mood}/5'}</td>"
                        f"<td class=\"num\">{practised}</td>"
                        f"<td>{escape(d.notes)}</td></tr>")
        rows.append("</table>")
        parts.append("".join(rows))
    return _page(r.title, "\n".join(parts))


def _session_value(summary: dict, keys: tuple[str, ...]) -> str:
    """The first of ``keys`` the session has (EMG, else pressure), formatted with its unit."""
    key = next((k for k in keys if _f(summary.get(k)) is not None), keys[0])
    text = METRICS[key].format(_f(summary.get(key)))
    return text + " above rest" if key.startswith("contraction_") and key.endswith("_cmh2o") and text != "—" else text


def _f(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def adherence_html(weeks: list) -> str:
    """Practice against the programme, one row per week: done of prescribed, per protocol, home and clinic."""
    names = list(dict.fromkeys(name for w in weeks for name in w.protocols))
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    rows = [f"<h2>Practice against the programme</h2><table class=\"data\"><tr><th>Week</th><th>From</th>"
            f"<th>Done</th>{head}<th>At home</th><th>At the clinic</th></tr>"]
    for w in weeks:
        cells = "".join(f"<td class=\"num\">{w.protocols[n].done}/{w.protocols[n].prescribed}</td>"
                        if n in w.protocols else "<td></td>" for n in names)
        rows.append(f"<tr><td class=\"num\">{w.week}</td><td>{w.start.day} {w.start:%b}</td>"
                    f"<td class=\"num\">{w.done} of {w.prescribed}</td>{cells}<td class=\"num\">{w.home}</td>"
                    f"<td class=\"num\">{w.clinic}</td></tr>")
    rows.append("</table>")
    return "".join(rows)


def _place_trend_images(r: ProgressReport, key: str, src: Src, plot_width: int) -> str:
    """A session measure's trend at the clinic and at home, side by side in words and apart in plots."""
    out = []
    for place, words in (("clinic", "at the clinic"), ("home", "at home")):
        if r.place_trends[place][key].points:
            out.append(f"<p><b>{escape(METRICS[key].label)}, {words}</b><br>"
                       f"<img src=\"{src('trend_' + place + '_' + key)}\" width=\"{plot_width}\" "
                       f"alt=\"{escape(METRICS[key].label)} {words} over the weeks\"></p>")
    return "".join(out)
