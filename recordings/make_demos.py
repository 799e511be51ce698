"""Make the demo recordings, each with its own calibration, so that they open with their own bands and target.

For each demo the same simulated patient (profile, rate) is first calibrated the way a therapist does it:
30 s of rest, then three maximal squeezes with rests between. The calibration (resting mean and SD,
maximum) and the bands it gives (contraction 40-70 % of the maximum, release target at rest + 2 SD) are
stored in the recording's metadata, exactly as the window stores them, and the guided session is then
recorded with ``record_headless``. The simulator is deterministic: the same seeds give the same signals.

Run from the repository root with the package importable: ``python recordings/make_demos.py [FOLDER]``
(``recordings/make-demos.sh`` does this).
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from biofeedback.files.recording import Recording
from biofeedback.protocols.spans import step_spans
from biofeedback.session.headless import record_headless
from biofeedback.signal.calibration import Calibration, calibrate
from biofeedback.signal.chain import envelope_offline

#: (file, simulated patient, protocol, calibration seed)
DEMOS = (("healthy-glazer.bfr", "sim:healthy?seed=11", "glazer", 111),
         ("hypertonic-glazer.bfr", "sim:hypertonic?seed=12&rate=1000&abd=1", "glazer", 112),
         ("hypertonic-relaxation.bfr", "sim:hypertonic?seed=13&rate=1000", "relaxation", 113))

CALIBRATION_PROTOCOL = {
    "name": "demo-calibration", "title": "Calibration", "description": "rest, then three maximal squeezes",
    "steps": [{"kind": "rest", "duration_s": 30, "cue": "Rest", "phase": "pre_baseline"},
              {"repeat": 3, "phase": "mvc", "steps": [
                  {"kind": "contract", "duration_s": 5, "cue": "Squeeze as hard as is comfortable", "effort": 1.0},
                  {"kind": "rest", "duration_s": 10, "cue": "Let go"}]}]}


def _with_seed(spec: str, seed: int) -> str:
    kind, _, query = spec.partition("?")
    rest = "&".join(p for p in query.split("&") if p and not p.startswith("seed="))
    return f"{kind}?seed={seed}" + (f"&{rest}" if rest else "")


def calibration_for(spec: str, seed: int, folder: Path) -> Calibration:
    """Calibrate the simulated patient of ``spec`` (another seed: another moment, the same patient)."""
    proto = folder / "demo-calibration.json"
    proto.write_text(json.dumps(CALIBRATION_PROTOCOL))
    path = folder / f"calibration-{seed}.bfr"
    result = record_headless(_with_seed(spec, seed), path, None, speed=None, protocol=str(proto))
    if result.error is not None:
        raise SystemExit(f"calibration failed: {result.error}")
    with Recording.open(path) as rec:
        data, info, events = rec.read(), rec.info, list(rec.events)
    _, env = envelope_offline(data, info)
    col, rate = env[:, info.names.index("pfm")], info.rate
    spans = step_spans(events, len(col) / rate)
    rest = next(s for s in spans if s.step.phase == "pre_baseline")
    efforts = [col[int(s.start_s * rate):int(s.end_s * rate)] for s in spans if s.step.is_contraction]
    return calibrate(col[int(rest.start_s * rate):int(rest.end_s * rate)], efforts, rate, rest_skip_s=5.0)


def main(folder: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec, protocol, seed in DEMOS:
            cal = calibration_for(spec, seed, Path(tmp))
            meta = {"calibration": cal.to_dict(), "bands": cal.default_bands().to_dict()}
            out = folder / name
            result = record_headless(spec, out, None, speed=None, protocol=protocol, meta=meta)
            if result.error is not None:
                raise SystemExit(f"{name}: {result.error}")
            print(f"{out}: calibrated rest {cal.rest_mean:.1f} ± {cal.rest_sd:.1f} µV, maximum {cal.mvc:.1f} µV")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent)
