"""Session report end to end: a real recording (simulated patient) in the library -> PDF and HTML."""
from __future__ import annotations

import stat

import numpy as np
import pytest

from biofeedback.library import Library, register_recording
from biofeedback.recording import Recording, RecordingWriter
from biofeedback.reports.content import _summarize, gather_session
from biofeedback.sim import SimulatedPatient
from biofeedback.stream import Block, Event

from tests.test_reports import assert_self_contained, ink_fraction, pdf_first_page_png, pdf_text

RATE = 1000.0


def record_session(path, client="Mira", started_at=None, profile="hypertonic", seed=1):
    """60 s: 15 s rest, three 8 s contractions each followed by 7 s of release, then rest; with step events."""
    patient = SimulatedPatient(profile, rate=RATE, seed=seed, abdominal=True)
    steps = [(0.0, "Rest", "rest")] + [(s, lbl, kind) for k in range(3)
                                       for s, lbl, kind in ((15.0 + 15 * k, "Contract", "contract"),
                                                            (23.0 + 15 * k, "Release", "release"))] + \
        [(60.0, "Rest (post-baseline)", "rest")]
    patient.script = lambda t: 0.6 if any(a <= t < a + 8 for a in (15.0, 30.0, 45.0)) else 0.0
    meta = {"client": client, "protocol": "three holds"}
    if started_at:
        meta["started_at"] = started_at
    writer = RecordingWriter(path, patient.info, meta)
    n = int(75 * RATE)
    for i in range(0, n, 500):
        writer.append(Block(i, patient.generate(500)))
    for t, label, kind in steps:
        writer.add_event(Event(t, "step", label, {"name": kind}))
    writer.add_event(Event(33.3, "marker", "deep breath"))
    writer.close()
    return path


@pytest.fixture()
def session_files(tmp_path):
    lib = Library.open(tmp_path / "lib.sqlite")
    first = record_session(tmp_path / "first.bfr", started_at="2026-03-02T10:00:00+01:00", seed=1)
    second = record_session(tmp_path / "second.bfr", started_at="2026-03-16T10:00:00+01:00", seed=2)
    for path in (first, second):
        with Recording.open(path) as rec:
            summary = _summarize(rec)
        if not summary:   # the analysis module not yet on this branch: the summary the engine would store
            summary = {"resting_tone_uv": 9.0 if path == first else 7.5,
                       "release_latency_s": 2.8 if path == first else 2.3, "contraction_peak_uv": 40.0}
        register_recording(lib, path, summary=summary)
    yield lib, first, second
    lib.close()


def test_session_report_pdf_and_html(session_files, tmp_path, qapp):
    from biofeedback.reports import session_report
    lib, first, second = session_files
    report = gather_session(second, lib)
    assert report.client == "Mira" and report.first_session.startswith("2026-03-02")
    assert [s.kind for s in report.steps[:3]] == ["rest", "contract", "release"]
    assert report.traces[0].name == "pfm" and len(report.traces[0].t) <= 3000
    assert report.markers == [(33.3, "deep breath")]
    assert report.metrics, "the session's metrics are in the report"
    seen = []
    pdf = session_report(second, tmp_path / "second.pdf", lib, progress=seen.append)
    assert seen[-1] == 1.0 and seen == sorted(seen)
    assert stat.S_IMODE(pdf.stat().st_mode) == 0o600
    page = pdf_first_page_png(pdf, tmp_path)
    assert ink_fraction(page) > 0.02
    text = " ".join(pdf_text(pdf).split())
    for row in report.metrics:
        assert row.text(row.value) in text, row
        assert row.note.split(";")[0][:30] in text
    assert "Mira" in text and "First session" in text
    html = session_report(second, tmp_path / "second.html", lib).read_text(encoding="utf-8")
    assert_self_contained(html)
    for row in report.metrics:
        assert row.text(row.value) in html


def test_session_report_cli(session_files, tmp_path, cli):
    lib, first, second = session_files
    out = tmp_path / "r.pdf"
    r = cli("report", str(first), "--out", str(out), "--library", str(lib.path))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes().startswith(b"%PDF")
    r = cli("report", str(tmp_path / "missing.bfr"), "--out", str(out), "--library", str(lib.path))
    assert r.returncode == 2 and "no such recording" in r.stderr


def test_export_import_cli(session_files, tmp_path, capsys):
    from biofeedback.cli import main
    import edfio
    _, first, _ = session_files
    r = main(["export", str(first), "--out", str(tmp_path / "x.edf"), "--anonymize"])
    assert r == 0
    edf = edfio.read_edf(tmp_path / "x.edf")
    assert edf.patient.name == "X" and b"Mira" not in (tmp_path / "x.edf").read_bytes()
    assert any(a.text == "marker: deep breath" for a in edf.annotations)
    r = main(["export", str(first), "--format", "bdf", "--out", str(tmp_path / "x.bdf")])
    assert r == 0
    assert edfio.read_bdf(tmp_path / "x.bdf").patient.name == "Mira"
    r = main(["import", str(tmp_path / "x.edf"), "--out", str(tmp_path / "back.bfr")])
    assert r == 0
    with Recording.open(tmp_path / "back.bfr") as rec, Recording.open(first) as orig:
        assert rec.info.names == orig.info.names and rec.n_samples == orig.n_samples
        ok = np.isfinite(orig.read())
        assert np.allclose(rec.read()[ok], orig.read()[ok], atol=0.05)
    r = main(["import", str(tmp_path / "x.edf"), "--out", str(tmp_path / "back.bfr")])
    assert r == 2 and "already exists" in capsys.readouterr().err
    r = main(["export", str(first), "--out", str(tmp_path / "y.csv")])        # the csv path is untouched
    assert r == 0 and (tmp_path / "y.csv").exists()
