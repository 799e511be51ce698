"""Signal chain + metrics together: synthetic raw EMG with a known amplitude, analysed from a real recording file."""
from __future__ import annotations

import json

import numpy as np
import pytest

from biofeedback.cli import main
from biofeedback.clinic.analysis import analyze, analyze_arrays, summarize
from biofeedback.files.recording import Recording, RecordingWriter
from biofeedback.protocols import ProtocolRunner, load_protocol, spans_from_protocol, timeline
from biofeedback.signal.chain import ChainSettings, envelope_offline
from biofeedback.stream import Block, Channel, StreamInfo
from tests.clinic.test_analysis import session_amplitude

RATE = 2000.0
INFO = StreamInfo(channels=(Channel("pfm", "emg", "uV"),), rate=RATE, source="synthetic")


def _chain_gain(settings: ChainSettings) -> float:
    """RMS that the chain's band-pass leaves of unit white noise (so raw can be scaled to a known envelope)."""
    noise = np.random.default_rng(99).standard_normal((int(20 * RATE), 1))
    filtered, _env = envelope_offline(noise, INFO, settings)
    return float(np.sqrt(np.mean(filtered[int(2 * RATE):, 0] ** 2)))


def raw_emg(amplitude: np.ndarray, settings: ChainSettings, seed: int = 0) -> np.ndarray:
    """Gaussian noise whose band-passed RMS follows ``amplitude`` (µV)."""
    noise = np.random.default_rng(seed).standard_normal(amplitude.size)
    return (amplitude * noise / _chain_gain(settings))[:, None]


@pytest.mark.parametrize("tau_release, wobble, session_tol", [(0.1, 0.1, 0.1), (0.2, 0.0, 0.1), (0.3, 0.1, 0.1),
                                                               (1.0, 0.1, 0.25)])
def test_chain_and_metrics_recover_the_truth(tau_release, wobble, session_tol):
    """Known resting RMS (5 µV, with or without a slow ±10 % instability), known contraction levels,
    exponential releases with known time constants, through the real signal chain."""
    p = load_protocol("glazer")
    settings = ChainSettings(rms_window_s=0.2)
    levels = {"flicks": 50.0, "tonic": 35.0, "endurance": 20.0}
    amp = session_amplitude(p, rest_uv=5.0, levels=levels, tau_rise=0.08, tau_release=tau_release, wobble=wobble,
                            rate=RATE)
    data = raw_emg(amp, settings, seed=int(tau_release * 10))
    res = analyze_arrays(data, INFO, spans_from_protocol(p, len(amp) / RATE), settings=settings, protocol_name="glazer")
    s = res["summary"]
    assert s["resting_tone_uv"] == pytest.approx(5.0, rel=0.05)
    assert s["post_resting_tone_uv"] == pytest.approx(5.0, rel=0.05)
    by = s["by_phase"]
    assert by["flicks"]["peak_uv"] == pytest.approx(50.0, rel=0.10)
    assert by["tonic"]["peak_uv"] == pytest.approx(35.0, rel=0.10)
    assert by["endurance"]["peak_uv"] == pytest.approx(20.0, rel=0.10)
    delay = settings.rms_window_s / 2
    assert s["envelope_delay_s"] == pytest.approx(delay)
    # the true crossing of the release threshold, on the true amplitude
    thr = s["release_threshold_uv"]
    t = np.arange(amp.size) / RATE
    tl = timeline(p)
    trials = iter(res["trials"])
    trues = []
    for k, (_a, b, st) in enumerate(tl):
        if not st.is_contraction:
            continue
        trial = next(trials)
        rest_end = tl[k + 1][1]
        idx = np.flatnonzero((t >= b) & (t < rest_end) & (amp <= thr))
        true = t[idx[0]] - b
        trues.append(true)
        assert trial["release_latency_s"] is not None, trial
        # one trial: the envelope's own noise (about 5 % at 200 ms) meets the threshold at the shallow end of
        # the release, so a single crossing scatters more the slower the release
        assert trial["release_latency_s"] == pytest.approx(true + delay, abs=0.25 + 1.5 * tau_release), (k, trial, true)
    # the session's release latency (the mean over its trials): within 0.1 s of the truth plus the window's
    # delay; a slow release (1 s time constant, about 4.5 s to let go) within 0.25 s
    assert s["release_latency_s"] == pytest.approx(np.mean(trues) + delay, abs=session_tol)
    assert s["release_latency_lower_bound"] is False


def _write_recording(path, data, events, meta):
    w = RecordingWriter(path, INFO, meta=meta)
    for i in range(0, len(data), 4000):
        w.append(Block(i, data[i:i + 4000]))
    for e in events:
        w.add_event(e)
    w.close()


def test_recording_with_step_events_and_cli(tmp_path, capsys):
    p = load_protocol("work-rest-5-10")
    settings = ChainSettings()
    amp = session_amplitude(p, rest_uv=6.0, levels={"work": 30.0}, rate=RATE, wobble=0.0)
    data = raw_emg(amp, settings)
    events = ProtocolRunner(p).update(p.total_s)
    path = tmp_path / "session.bfr"
    _write_recording(path, data, events, {"protocol": "work-rest-5-10"})
    rec = Recording.open(path)
    try:
        s = summarize(rec)
    finally:
        rec.close()
    assert s["phases_from"] == "events" and s["protocol"] == "work-rest-5-10"
    assert s["resting_tone_uv"] == pytest.approx(6.0, rel=0.05) and s["trials"] == 10
    assert main(["analyze", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["summary"]["resting_tone_uv"] == s["resting_tone_uv"]
    assert len(out["phases"]) == len(p.steps)
    for key in ("resting_tone_uv", "resting_variability_pct", "post_resting_tone_uv", "contraction_peak_uv",
                "onset_latency_s", "release_latency_s", "time_in_band_pct"):
        assert isinstance(out["summary"][key], float), key
    assert main(["analyze", str(path)]) == 0
    text = capsys.readouterr().out
    assert "Resting tone (pre)" in text and "phases from the recorded steps" in text


def test_recording_without_steps_takes_the_protocol_from_its_start(tmp_path, capsys):
    p = load_protocol("quick-flicks")
    settings = ChainSettings()
    amp = session_amplitude(p, rest_uv=4.0, levels={"flicks": 40.0}, rate=RATE)
    path = tmp_path / "imported.bfr"
    _write_recording(path, raw_emg(amp, settings), [], {})
    assert main(["analyze", str(path)]) == 2
    assert "--protocol" in capsys.readouterr().err
    res = analyze(path, protocol="quick-flicks")
    assert res["summary"]["phases_from"] == "protocol" and res["summary"]["trials"] == 10
    assert res["summary"]["resting_tone_uv"] == pytest.approx(4.0, rel=0.05)
    assert main(["analyze", str(path), "--protocol", "nope"]) == 2
    assert "unknown protocol 'nope'" in capsys.readouterr().err


def test_missing_file_is_one_line(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "none.bfr")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("biofeedback:") and "\n" not in err
