"""Reports: the PDF renders (first page turned into an image) and holds the numbers; HTML needs no other file."""
from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess

import pytest

from biofeedback.clinic.library import Library
from biofeedback.clinic.progress import update_milestones
from biofeedback.reports.content import gather_progress

PDFTOPPM = shutil.which("pdftoppm")
PDFTOTEXT = shutil.which("pdftotext")


def pdf_first_page_png(pdf, tmp_path):
    """Render page 1 with poppler's pdftoppm (Qt's QPdfDocument is not in PySide6-Essentials)."""
    if PDFTOPPM is None:
        try:
            from PySide6 import QtPdf  # noqa: F401 - only asks whether QtPdf is installed
        except ImportError:
            pytest.skip("neither pdftoppm nor Qt's QtPdf is available to render the PDF")
        from PySide6.QtCore import QSize
        from PySide6.QtPdf import QPdfDocument
        doc = QPdfDocument()
        doc.load(str(pdf))
        assert doc.pageCount() >= 1
        image = doc.render(0, QSize(850, 1200))
        out = tmp_path / "page-1.png"
        image.save(str(out))
        return out
    subprocess.run([PDFTOPPM, "-r", "80", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    (out,) = tmp_path.glob("page-*1.png")
    return out


def ink_fraction(png) -> float:
    """Share of pixels that are not (nearly) white."""
    from PySide6.QtGui import QImage
    image = QImage(str(png)).convertToFormat(QImage.Format_Grayscale8)
    assert not image.isNull() and image.width() > 300
    bits = image.constBits()
    data = bytes(bits)[: image.bytesPerLine() * image.height()]
    dark = sum(1 for b in data[::7] if b < 200)
    return dark / len(data[::7])


def pdf_text(pdf) -> str:
    if PDFTOTEXT is None:
        pytest.skip("pdftotext is not installed")
    return subprocess.run([PDFTOTEXT, "-layout", str(pdf), "-"], check=True, capture_output=True, text=True,
                          timeout=60).stdout


def assert_self_contained(html: str) -> None:
    stripped = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "DATA", html)
    refs = re.findall(r"""(?:src|href)\s*=\s*["']?([^"' >]+)""", stripped, flags=re.I)
    assert refs and all(r == "DATA" for r in refs), refs
    assert not re.search(r"https?://|url\(|@import|<link|<script", stripped, flags=re.I)


@pytest.fixture()
def library(tmp_path):
    lib = Library.open(tmp_path / "lib.sqlite")
    c = lib.add_client("Mira")
    d0 = dt.date(2026, 3, 31)
    for i, (days, tone, release, peak) in enumerate([(0, 9.1, 2.6, 35), (9, 6.2, 1.4, 38), (21, 4.6, 0.9, 41)]):
        lib.add_session(c, tmp_path / f"s{i}.bfr", f"{d0 + dt.timedelta(days=days)}T09:00:00", "glazer", 330,
                        {"resting_tone_uv": tone, "release_latency_s": release, "contraction_peak_uv": peak})
    for days, pain, mood, note in [(0, 7, 2, ""), (14, 5, 3, "dilator size 2"), (24, 3, 4, "")]:
        lib.add_diary(c, d0 + dt.timedelta(days=days), pain_intercourse=pain, mood=mood, notes=note)
    lib.add_goal(c, "release_latency_s", "<=", 1.5, "release within 1.5 s")
    update_milestones(lib, c)
    yield lib
    lib.close()


def test_progress_content_is_plain_language(library):
    report = gather_progress(library, "mira", dt.date(2026, 4, 1), dt.date(2026, 4, 30))
    assert [s.started_at[:10] for s in report.sessions] == ["2026-04-09", "2026-04-21"]
    assert [d.day.isoformat() for d in report.diary] == ["2026-04-14", "2026-04-24"]
    assert "Release time: 1.40 s on 9 Apr → 0.90 s on 21 Apr." in report.summary_lines
    assert any("release within 1.5 s · every exercise (first on 9 Apr 2026)" in line for line in report.summary_lines)


@pytest.mark.parametrize("suffix", ["pdf", "html"])
def test_progress_report_files(library, tmp_path, qapp, suffix):
    from biofeedback.reports import progress_report
    seen = []
    out = progress_report(library, "Mira", tmp_path / f"progress.{suffix}", progress=seen.append)
    assert seen[-1] == 1.0 and seen == sorted(seen)
    if suffix == "html":
        html = out.read_text(encoding="utf-8")
        assert_self_contained(html)
        assert html.count("data:image/png;base64,") == 5          # five trend plots
        assert "release within 1.5 s" in html and "dilator size 2" in html
    else:
        page = pdf_first_page_png(out, tmp_path)
        assert ink_fraction(page) > 0.01
        text = pdf_text(out)
        assert "Progress report" in text and "release within 1.5 s" in text and "9 Apr 2026" in text
        assert "dilator size 2" in text


def test_report_format_and_folder_errors(library, tmp_path):
    from biofeedback.errors import UserError
    from biofeedback.reports import progress_report
    with pytest.raises(UserError, match=r"\.pdf or \.html"):
        progress_report(library, "Mira", tmp_path / "x.docx")
    with pytest.raises(UserError, match="does not exist"):
        progress_report(library, "Mira", tmp_path / "missing" / "x.pdf")
    with pytest.raises(UserError, match="swap them"):
        progress_report(library, "Mira", tmp_path / "x.pdf", dt.date(2026, 5, 1), dt.date(2026, 4, 1))


def _synthetic_session():
    """A Glazer-like session envelope: rest, five contract/release pairs with a slow release, rest."""
    import numpy as np

    from biofeedback.stream import Channel, Event, StreamInfo
    rate = 50.0
    t = np.arange(int(200 * rate)) / rate
    env = 6 + np.random.default_rng(0).normal(0, 0.4, len(t))
    events = [Event(0.0, "step", "Rest", {"name": "rest"})]
    for k in range(5):
        a = 40 + 20 * k
        hold = (t >= a) & (t < a + 10)
        env[hold] += 35
        rel = (t >= a + 10) & (t < a + 20)
        env[rel] += 35 * np.exp(-(t[rel] - a - 10) / 0.8)
        events += [Event(a, "step", "Contract", {}), Event(a + 10, "step", "Release", {})]
    events += [Event(140.0, "step", "Rest (post-baseline)", {}), Event(75.5, "marker", "cough")]
    info = StreamInfo((Channel("pfm"),), rate)
    summary = {"resting_tone_uv": 6.1, "post_resting_tone_uv": 7.4, "contraction_peak_uv": 41.2,
               "release_latency_s": 2.3, "onset_latency_s": 0.62, "time_in_band_pct": 64.0,
               "phases": [{"phase": "pre-baseline", "mean_uv": 6.1}]}
    return info, env[:, None], events, summary


def test_session_content_notes_and_comparisons(library):
    from biofeedback.reports.content import build_session_report
    info, env, events, summary = _synthetic_session()
    client = library.client("Mira")
    report = build_session_report(info=info, envelope=env, events=events, meta={"client": "Mira"}, summary=summary,
                                  started_at="2026-05-12T09:30:00", duration_s=200.0,
                                  history=library.sessions(client), goals=library.goals(client))
    rows = {m.key: m for m in report.metrics}
    assert rows["release_latency_s"].note.startswith("Release took 2.3 s; the goal is at most 1.5 s.")
    assert (rows["release_latency_s"].first, rows["release_latency_s"].previous) == (2.6, 0.9)
    assert rows["release_latency_s"].change == "down 0.3 s since the first session (better); " \
                                               "up 1.4 s since last time (worse)"
    assert "did not fully let go" in rows["post_resting_tone_uv"].note
    assert [(s.kind, s.start_s, s.end_s) for s in report.steps[:3]] == [("rest", 0.0, 40.0),
                                                                        ("contract", 40.0, 50.0),
                                                                        ("release", 50.0, 60.0)]
    assert report.steps[-1].end_s == 200.0 and report.markers == [(75.5, "cough")]
    assert report.first_session.startswith("2026-03-31") and report.previous_session.startswith("2026-04-21")
    # a session without a client goal is held to the clinical 2 s release criterion
    alone = build_session_report(info=info, envelope=env, events=events, meta={}, summary=summary,
                                 started_at="2026-05-12T09:30:00", duration_s=200.0)
    note = {m.key: m for m in alone.metrics}["release_latency_s"].note
    assert note.startswith("Release took 2.3 s; the goal is under 2 s.")
    assert alone.first_session is None and alone.title.startswith("Session report — anonymous")


@pytest.mark.parametrize("suffix", ["pdf", "html"])
def test_session_page_from_data(library, tmp_path, qapp, suffix):
    from pathlib import Path

    from biofeedback.reports.content import build_session_report
    from biofeedback.reports.html import session_html
    from biofeedback.reports.plots import session_png
    from biofeedback.reports.render import write_html, write_pdf
    info, env, events, summary = _synthetic_session()
    report = build_session_report(info=info, envelope=env, events=events, meta={"client": "Mira"}, summary=summary,
                                  started_at="2026-05-12T09:30:00", duration_s=200.0)
    images = {"session": session_png(report)}
    out = Path(tmp_path / f"s.{suffix}")
    page = lambda src: session_html(report, src)
    if suffix == "html":
        html = write_html(page, images, out).read_text(encoding="utf-8")
        assert_self_contained(html)
        assert "Release took 2.3 s; the goal is under 2 s." in html
    else:
        write_pdf(page, images, out)
        assert ink_fraction(pdf_first_page_png(out, tmp_path)) > 0.01
        text = " ".join(pdf_text(out).split())
        for needle in ("6.1 µV", "41.2 µV", "2.30 s", "Release took 2.3 s; the goal is under 2 s."):
            assert needle in text
