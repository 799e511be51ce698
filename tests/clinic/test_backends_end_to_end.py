"""Sessions, history and reports through the real command line, on a SQLite file and on the real
PostgreSQL server alike (issue 14: the same code path for both backends, beyond the library's own tests)."""
from __future__ import annotations

import json

from tests.helpers import run_cli


def test_record_file_history_and_report_on_either_backend(library_target, tmp_path):
    lib = str(library_target)
    assert run_cli("clients", "Ana", "--add", "--library", lib).returncode == 0
    assert run_cli("clients", "Ana", "--goal", "release_latency_s<=5", "--library", lib).returncode == 0
    for seed in (1, 2):
        out = tmp_path / f"s{seed}.bfr"
        r = run_cli("record", "--source", f"sim:healthy?seed={seed}&rate=500", "--protocol", "work-rest-5-10",
                    "--speed", "max", "--client", "Ana", "--library", lib, "--out", out)
        assert r.returncode == 0, r.stderr
    r = run_cli("diary", "Ana", "--pain", "4", "--mood", "3", "--library", lib)
    assert r.returncode == 0, r.stderr

    history = run_cli("history", "Ana", "--json", "--library", lib)
    assert history.returncode == 0, history.stderr
    data = json.loads(history.stdout)
    assert [s["protocol"] for s in data["sessions"]] == ["work-rest-5-10"] * 2
    assert all(s["metrics"].get("resting_tone_uv") for s in data["sessions"])
    assert len(data["diary"]) == 1 and data["diary"][0]["pain_intercourse"] == 4
    assert data["goals"][0]["met_on"] is not None                # filed with her milestones, on either backend

    report = tmp_path / "progress.html"
    r = run_cli("report", "--client", "Ana", "--out", report, "--library", lib)
    assert r.returncode == 0, r.stderr
    text = report.read_text(encoding="utf-8")
    assert "Ana" in text and "Release" in text
    session_report = tmp_path / "s1.html"
    r = run_cli("report", tmp_path / "s1.bfr", "--out", session_report, "--library", lib)
    assert r.returncode == 0, r.stderr
    assert "Release" in session_report.read_text(encoding="utf-8")
