"""``--notch 50|60|auto|off`` on import and analyze: the notch used is stored with the session and reported."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from biofeedback.cli import main
from biofeedback.files.recording import Recording

DEMO = Path(__file__).resolve().parents[2] / "recordings" / "healthy-glazer.bfr"


def test_import_stores_the_notch_and_analyze_uses_it(tmp_path, capsys):
    csv = tmp_path / "s.csv"
    assert main(["export", str(DEMO), "--format", "csv", "--out", str(csv)]) == 0
    out = tmp_path / "s.bfr"
    assert main(["import", str(csv), "--out", str(out), "--notch", "60"]) == 0
    capsys.readouterr()
    with Recording.open(out) as rec:
        assert rec.meta["notch"] == "60" and rec.meta["notch_hz"] == 60.0
    assert main(["analyze", str(out), "--protocol", "glazer", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)["summary"]
    assert s["notch_hz"] == 60.0 and "as asked" in s["notch_reason"]
    assert main(["analyze", str(out), "--protocol", "glazer", "--json", "--notch", "off"]) == 0
    s = json.loads(capsys.readouterr().out)["summary"]
    assert s["notch_hz"] is None and s["notch"] == "off"
    # the demo has only the room's faint hum: auto leaves the signal alone and says so
    assert main(["analyze", str(DEMO), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)["summary"]
    assert s["notch"] == "auto" and s["notch_hz"] is None and "no mains hum" in s["notch_reason"]
    with pytest.raises(SystemExit) as stop:
        main(["analyze", str(DEMO), "--notch", "55"])
    assert stop.value.code == 2 and "--notch" in capsys.readouterr().err
