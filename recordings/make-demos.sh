#!/usr/bin/env bash
# Re-create the demo recordings with the simulated patient, each calibrated first (deterministic: same seeds,
# same signals; see make_demos.py for what is done).
set -euo pipefail
cd "$(dirname "$0")"
rm -f healthy-glazer.bfr hypertonic-glazer.bfr hypertonic-relaxation.bfr
python make_demos.py .
