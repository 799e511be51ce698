"""Two report voices: the clinician's marks only changes beyond the measurement's noise and says which
direction is better; the patient's is short and kind, with no unit jargon (checked on the rendered PDF)."""
from __future__ import annotations

import re

import numpy as np
import pytest

from biofeedback.reports.content import build_session_report
from biofeedback.reports.noise import MDC_FACTOR, change_threshold
from biofeedback.stream import Channel, Event, StreamInfo
from tests.reports.test_reports import ink_fraction, pdf_first_page_png, pdf_text
from tests.reports.test_reports_session import session_files  # noqa: F401 - fixture

#: Words and units the patient's report must never show her.
JARGON = re.compile(r"µV|\buV\b|cmH2O|mmHg|%|\bRMS\b|\bEMG\b|MVC|latency|threshold|\bSD\b|co-activation|"
                    r"baseline|amplitude", re.I)


def test_patient_report_pdf_renders_kind_words_without_jargon(session_files, tmp_path, qapp, cli):  # noqa: F811
    lib, first, second = session_files
    out = tmp_path / "for-her.pdf"
    done = cli("report", second, "--for", "patient", "--out", out, "--library", lib.path)
    assert done.returncode == 0, done.stderr
    page = pdf_first_page_png(out, tmp_path)                # the page as an image: it really renders
    assert ink_fraction(page) > 0.01
    text = " ".join(pdf_text(out).split())
    assert "What went well" in text and "One thing to try next" in text and "Your progress" in text
    assert "Mira" in text
    assert not JARGON.search(text), JARGON.search(text)
    assert not re.search(r"\d+\.\d", text)                  # no figures with decimals for her to decode


def test_clinician_is_the_default_voice(session_files, tmp_path, qapp, cli):  # noqa: F811
    lib, first, second = session_files
    out = tmp_path / "clinic.pdf"
    assert cli("report", second, "--out", out, "--library", lib.path).returncode == 0
    text = " ".join(pdf_text(out).split())
    assert "lower is better" in text and "higher is better" in text and "µV" in text
    assert "minimal detectable change" in text


def _report(release_now: float, release_first: float, trials: list[dict] | None):
    from biofeedback.clinic.library import SessionRecord
    info = StreamInfo((Channel("pfm"),), 100.0)
    earlier = SessionRecord(1, 1, "/x/first.bfr", "2026-04-01T09:00:00", "glazer", 300.0,
                            {"unit": "uV", "resting_tone_uv": 9.0, "release_latency_s": release_first})
    return build_session_report(info=info, envelope=np.full((500, 1), 9.0), events=[Event(0.0, "step", "Rest", {})],
                                meta={"client": "Ada", "protocol": "glazer"},
                                summary={"unit": "uV", "resting_tone_uv": 9.0, "release_latency_s": release_now},
                                started_at="2026-05-12T09:30:00", duration_s=5.0, history=[earlier], trials=trials)


TRIALS = [{"release_latency_s": v} for v in (1.0, 3.0, 2.0, 1.5, 2.5)]     # between-trial SD 0.79 s, n 5


def test_clinician_marks_only_changes_beyond_the_between_trial_noise():
    sd = float(np.std([1.0, 3.0, 2.0, 1.5, 2.5], ddof=1))
    threshold = MDC_FACTOR * sd / np.sqrt(5)
    assert change_threshold("release_latency_s", "s", 2.6, TRIALS) == pytest.approx(threshold)   # about 0.98 s
    small = {m.key: m for m in _report(2.0, 2.6, TRIALS).metrics}["release_latency_s"]
    assert not small.marked and small.change.startswith("about the same as the first session (within ±")
    assert "worse" not in small.change and "better" not in small.change
    large = {m.key: m for m in _report(2.0, 3.5, TRIALS).metrics}["release_latency_s"]
    assert large.marked and large.change == "down 1.5 s since the first session (better)"
    assert large.better_when == "lower is better"
    unchanged = {m.key: m for m in _report(2.0, 3.5, TRIALS).metrics}["resting_tone_uv"]
    assert not unchanged.marked and unchanged.better_when == "lower is better"


def test_clinician_html_bolds_marked_changes_only(qapp):
    from biofeedback.reports.html import NOISE_NOTE, session_html
    html = session_html(_report(2.0, 3.5, TRIALS), lambda name: name)
    assert "<b>Down 1.5 s since the first session (better).</b>" in html
    assert "<b>About the same" not in html and NOISE_NOTE.split(" (")[0] in html


def test_unknown_voice_is_one_line_error(session_files, tmp_path, cli):  # noqa: F811
    from tests.helpers import assert_one_line_error
    lib, first, second = session_files
    assert_one_line_error(cli("report", second, "--for", "partner", "--out", tmp_path / "x.pdf"))
