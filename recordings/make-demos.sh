#!/usr/bin/env bash
# Re-create the demo recordings with the simulated patient (deterministic: same seeds, same signals).
set -euo pipefail
cd "$(dirname "$0")"
rm -f healthy-glazer.bfr hypertonic-glazer.bfr hypertonic-relaxation.bfr
biofeedback() { python -m biofeedback "$@"; }
biofeedback record --source "sim:healthy?seed=11" --protocol glazer --speed max --out healthy-glazer.bfr
biofeedback record --source "sim:hypertonic?seed=12&rate=1000&abd=1" --protocol glazer --speed max \
  --out hypertonic-glazer.bfr
biofeedback record --source "sim:hypertonic?seed=13&rate=1000" --protocol relaxation --speed max \
  --out hypertonic-relaxation.bfr
