"""Session report end to end: a real recording (simulated patient) in the library -> PDF and HTML."""
from __future__ import annotations

import json
import stat

import numpy as np
import pytest

from biofeedback.clinic.filing import register_recording
from biofeedback.clinic.library import Library
from biofeedback.files.recording import Recording
from biofeedback.reports.content import gather_session
from biofeedback.session.headless import record_headless
from tests.reports.test_reports import assert_self_contained, ink_fraction, pdf_first_page_png, pdf_text

SHORT_PROTOCOL = {"name": "three-holds", "title": "Three holds", "description": "for tests", "steps": [
    {"kind": "rest", "duration_s": 15, "cue": "Rest", "phase": "pre_baseline"},
    {"repeat": 3, "phase": "work", "steps": [{"kind": "contract", "duration_s": 8, "cue": "Squeeze and hold"},
                                             {"kind": "rest", "duration_s": 10, "cue": "Let go completely"}]},
    {"kind": "rest", "duration_s": 15, "cue": "Rest", "phase": "post_baseline"}]}


def record_session(path, started_at, seed=1, client="Mira", profile="hypertonic"):
    """A guided 84 s session of the simulated patient, recorded faster than real time, summary stored."""
    proto = path.parent / "three-holds.json"
    proto.write_text(json.dumps(SHORT_PROTOCOL))
    result = record_headless(f"sim:{profile}?seed={seed}&rate=1000&abd=1", path, None, speed=None, client=client,
                             protocol=str(proto), meta={"started_at": started_at})
    assert result.error is None
    with Recording.open(path) as rec:
        rec_events = [e for e in rec.events if e.kind == "step"]
    assert len(rec_events) == 8
    return path


@pytest.fixture()
def session_files(tmp_path):
    lib = Library.open(tmp_path / "lib.sqlite")
    lib.add_client("Mira")                 # recordings are filed only under clients that exist
    first = record_session(tmp_path / "first.bfr", "2026-03-02T10:00:00+01:00", seed=1)
    second = record_session(tmp_path / "second.bfr", "2026-03-16T10:00:00+01:00", seed=2)
    for path in (first, second):
        register_recording(lib, path)
    yield lib, first, second
    lib.close()


def test_session_report_pdf_and_html(session_files, tmp_path, qapp):
    from biofeedback.reports import session_report
    lib, first, second = session_files
    report = gather_session(second, lib)
    assert report.client == "Mira" and report.first_session.startswith("2026-03-02")
    assert report.protocol == "Three holds"
    assert [s.kind for s in report.steps[:4]] == ["rest", "contract", "release", "contract"]
    assert report.traces[0].name == "pfm" and len(report.traces[0].t) <= 3000
    rows = {m.key: m for m in report.metrics}
    with Recording.open(second) as rec:
        stored = rec.meta["summary"]
    assert rows["resting_tone_uv"].value == stored["resting_tone_uv"]
    assert rows["release_latency_s"].value == stored["release_latency_s"]
    assert rows["release_latency_s"].first == lib.sessions(lib.client("Mira"))[0].summary["release_latency_s"]
    assert [p["phase"] for p in report.phases] == ["pre_baseline", "work", "post_baseline"]
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
    assert "Mira" in text and "First" in text and "2 Mar 2026" in text
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
    r = cli("report", str(tmp_path / "missing.bfr"), "--out", str(tmp_path / "r2.pdf"), "--library", str(lib.path))
    assert r.returncode == 2 and "no such recording" in r.stderr
    assert not (tmp_path / "r2.pdf").exists()


def test_export_import_cli(session_files, tmp_path, capsys):
    import edfio

    from biofeedback.cli import main
    _, first, _ = session_files
    r = main(["export", str(first), "--out", str(tmp_path / "x.edf"), "--anonymize"])
    assert r == 0
    edf = edfio.read_edf(tmp_path / "x.edf")
    assert edf.patient.name == "X" and b"Mira" not in (tmp_path / "x.edf").read_bytes()
    steps = [a for a in edf.annotations if a.text.startswith("step: ")]
    assert len(steps) == 8 and steps[1].text.startswith("step: Squeeze and hold | {")
    r = main(["export", str(first), "--format", "bdf", "--out", str(tmp_path / "x.bdf")])
    assert r == 0
    assert edfio.read_bdf(tmp_path / "x.bdf").patient.name == "Mira"
    r = main(["import", str(tmp_path / "x.edf"), "--out", str(tmp_path / "back.bfr")])
    assert r == 0
    with Recording.open(tmp_path / "back.bfr") as rec, Recording.open(first) as orig:
        assert rec.info.names == orig.info.names and rec.n_samples == orig.n_samples
        ok = np.isfinite(orig.read())
        assert np.allclose(rec.read()[ok], orig.read()[ok], atol=0.05)
        # the steps travel in the annotations, so the imported file analyses the same
        from biofeedback.clinic.analysis import summarize
        a, b = summarize(orig), summarize(rec)
        for key in ("resting_tone_uv", "release_latency_s", "contraction_peak_uv", "trials"):
            assert b[key] == pytest.approx(a[key], rel=0.01), key
    r = main(["import", str(tmp_path / "x.edf"), "--out", str(tmp_path / "back.bfr")])
    assert r == 2 and "already exists" in capsys.readouterr().err
    r = main(["export", str(first), "--out", str(tmp_path / "y.csv")])        # the csv path is untouched
    assert r == 0 and (tmp_path / "y.csv").exists()
