"""A recording process killed with SIGKILL keeps everything but at most the last second."""
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np

from biofeedback.files.recording import Recording
from biofeedback.sources.patient import SimulatedPatient
from tests.helpers import cli_env, run_cli

SLACK_S = 0.3  # start-up of the engine thread after the file is created, and scheduling


def _started_unix(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return json.loads(db.execute("SELECT value FROM meta WHERE key='started_unix'").fetchone()[0])
    finally:
        db.close()


def test_sigkill_at_random_moments_loses_at_most_the_last_second(tmp_path):
    rng = random.Random(os.environ.get("CRASH_SEED", time.time_ns()))
    procs = []
    for k in range(4):
        out = tmp_path / f"killed{k}.bfr"
        p = subprocess.Popen([sys.executable, "-m", "biofeedback", "record", "--source", f"sim:hypertonic?seed={k}",
                              "--duration", "60", "--out", str(out)], env=cli_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append((p, out, rng.uniform(1.2, 3.8), k))
    deadline = time.monotonic() + 30
    for p, out, _, _ in procs:
        while not out.exists() or _safe_started(out) is None:
            assert p.poll() is None, p.stderr.read().decode()
            assert time.monotonic() < deadline, "recording did not start"
            time.sleep(0.02)
    pending = sorted(procs, key=lambda item: _started_unix(item[1]) + item[2])
    for p, out, delay, seed in pending:
        kill_at = _started_unix(out) + delay
        time.sleep(max(0.0, kill_at - time.time()))
        killed_at = time.time()
        p.send_signal(signal.SIGKILL)
        p.wait()
        assert p.returncode == -signal.SIGKILL
        with Recording.open(out) as rec:
            assert not rec.closed_cleanly
            data = rec.read()
            lived = killed_at - _started_unix(out)
            assert rec.duration_s >= lived - 1.0 - SLACK_S, (rec.duration_s, lived)
        # what is there is exactly what the simulated patient produced
        expected = SimulatedPatient("hypertonic", seed=seed).generate(data.shape[0])
        np.testing.assert_allclose(data, expected.astype(np.float32), rtol=1e-6, atol=1e-6)
        info = run_cli("info", out)
        assert info.returncode == 0 and "NOT closed cleanly" in info.stdout


def _safe_started(path):
    try:
        return _started_unix(path)
    except (sqlite3.Error, TypeError):
        return None
