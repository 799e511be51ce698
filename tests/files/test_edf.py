"""EDF+/BDF+ interchange through edfio with real recording files."""
from __future__ import annotations

import datetime as dt
import math

import edfio
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.errors import RecordingError, UserError
from biofeedback.files.edf import END_ANNOTATION, event_text, export_edf, import_edf, physical_range
from biofeedback.files.recording import Recording, RecordingWriter
from biofeedback.stream import Block, Channel, Event, StreamInfo

RATE = 2000.0


def _write_recording(path, n=int(RATE * 6.3), client="Zoë Müller"):
    info = StreamInfo((Channel("pfm"), Channel("abd"), Channel("pressure", "pressure", "cmH2O")), RATE,
                      source="sim:hypertonic", device="simulator")
    rng = np.random.default_rng(3)
    t = np.arange(n) / RATE
    burst = 1 + 6 * ((t > 2) & (t < 4))
    pressure = 28 + 12 * ((t > 2) & (t < 4)) + rng.normal(0, .05, n)
    data = np.c_[rng.normal(0, 4, n) * burst, rng.normal(0, 2, n), pressure]
    data[3000:3100, 0] = np.nan                      # a dropout on the pelvic channel
    events = [Event(0.0, "protocol", "Glazer start", {"protocol": "glazer"}),
              Event(2.0, "step", "Contract", {"name": "contract", "duration_s": 2.0}),
              Event(4.0, "step", "Release", {"name": "release"}),
              Event(4.75, "marker", "cough"),
              Event(5.5, "marker", "knee moved — ok")]
    writer = RecordingWriter(path, info, {"client": client, "protocol": "glazer"})
    for i in range(0, n, 1234):
        writer.append(Block(i, data[i:i + 1234]))
    for e in events:
        writer.add_event(e)
    writer.close()
    with Recording.open(path) as rec:            # what the file holds (float32 on disk)
        return rec.read(), events


@pytest.mark.parametrize("fmt,bits", [("edf", 16), ("bdf", 24)])
def test_export_matches_within_quantisation_with_every_event(tmp_path, fmt, bits):
    src = tmp_path / "session.bfr"
    data, events = _write_recording(src)
    seen = []
    out = export_edf(src, tmp_path / f"session.{fmt}", fmt=fmt, progress=seen.append)
    assert seen[-1] == 1.0 and seen == sorted(seen)
    f = (edfio.read_edf if fmt == "edf" else edfio.read_bdf)(out)
    assert f.labels == ("EMG pfm", "EMG abd", "Pressure")
    assert f.patient.name == "Zoe_Muller"
    n = data.shape[0]
    for i, sig in enumerate(f.signals):
        assert sig.sampling_frequency == RATE
        step = (sig.physical_max - sig.physical_min) / (sig.digital_max - sig.digital_min)
        assert sig.digital_max - sig.digital_min == 2 ** bits - 1
        back = sig.data[:n]
        ok = np.isfinite(data[:, i])
        assert np.max(np.abs(back[ok] - data[ok, i])) <= step / 2 + 1e-9
        # the range follows the data, so the step is small compared with the signal
        assert step < np.nanstd(data[:, i]) / 1000
    texts = [a.text for a in f.annotations]
    for e in events:
        (ann,) = [a for a in f.annotations if a.text == event_text(e)]
        assert math.isclose(ann.onset, e.time_s, abs_tol=1e-9)
    assert any(a.text == "signal lost: pfm" and math.isclose(a.onset, 1.5) and math.isclose(a.duration, 0.05)
               for a in f.annotations)
    assert [a.onset for a in f.annotations if a.text == END_ANNOTATION] == [n / RATE]
    assert "marker: knee moved — ok" in texts


def test_anonymize_leaves_the_name_out(tmp_path):
    src = tmp_path / "session.bfr"
    _write_recording(src, n=4000, client="Anna Berg")
    out = export_edf(src, tmp_path / "anon.edf", anonymize=True)
    raw = out.read_bytes()
    assert b"Anna" not in raw and b"Berg" not in raw
    assert edfio.read_edf(out).patient.name == "X"


def test_roundtrip_import_of_our_export(tmp_path):
    src = tmp_path / "session.bfr"
    data, events = _write_recording(src)
    export_edf(src, tmp_path / "s.edf")
    back = import_edf(tmp_path / "s.edf", tmp_path / "back.bfr")
    rec = Recording.open(back)
    try:
        assert rec.info.names == ["pfm", "abd", "pressure"]
        assert [c.kind for c in rec.info.channels] == ["emg", "emg", "pressure"]
        assert rec.n_samples == data.shape[0]                   # padding trimmed at "Recording ends"
        got = rec.read()
        assert np.array_equal(np.isnan(got), np.isnan(data))    # the dropout comes back as lost samples
        ok = np.isfinite(data)
        assert np.max(np.abs(got[ok] - data[ok])) < 0.01
        assert [(e.time_s, e.kind, e.label, e.data) for e in rec.events] == \
            [(e.time_s, e.kind, e.label, e.data) for e in events]
        assert rec.meta["client"] == "Zoe Muller"
    finally:
        rec.close()


def _foreign_signal(rate, seconds, rng, scale, pattern="bursts"):
    """Noise-like EMG; 'protocol' follows work-rest-5-10 (60 s rest, 10 x 5 s squeeze + 10 s rest, 60 s rest)."""
    n = int(rate * seconds)
    t = np.arange(n) / rate
    if pattern == "protocol":
        active = (t >= 60) & (t < 210) & (((t - 60) % 15) < 5)
    else:
        active = ((t % 20) > 5) & ((t % 20) < 10)
    return rng.normal(0, scale, n) * (1 + 5 * active)


def test_import_edf_plus_written_by_another_program(tmp_path):
    rng = np.random.default_rng(7)
    seconds = 270
    emg_mv = _foreign_signal(1024, seconds, rng, 0.005, "protocol")        # millivolts, 1024 Hz
    signals = [edfio.EdfSignal(np.sin(np.arange(32 * seconds) / 10), 32, label="Resp", physical_dimension="a.u."),
               edfio.EdfSignal(emg_mv, 1024, label="EMG1", physical_dimension="mV"),
               edfio.EdfSignal(_foreign_signal(512, seconds, rng, 3.0, "protocol"), 512, label="EMG2",
                               physical_dimension="uV"),
               edfio.EdfSignal(20 + rng.normal(0, .2, 64 * seconds), 64, label="Manometry",
                               physical_dimension="mmHg")]
    annotations = [edfio.EdfAnnotation(60.0 + 15 * k, 5.0, "Squeeze") for k in range(10)] + \
        [edfio.EdfAnnotation(5.0, None, "Relax")]
    path = tmp_path / "other.edf"
    edfio.Edf(signals, patient=edfio.Patient(name="Jane_Doe"), starttime=dt.time(14, 5, 0),
              recording=edfio.Recording(startdate=dt.date(2025, 11, 3)), annotations=annotations).write(path)

    # chosen by label, with units converted and rates joined
    out = import_edf(path, tmp_path / "a.bfr", channels=["emg1", "EMG2", "Manometry"])
    rec = Recording.open(out)
    try:
        assert rec.info.rate == 1024
        assert rec.info.names == ["pfm", "abd", "pressure"]
        assert [c.unit for c in rec.info.channels] == ["uV", "uV", "cmH2O"]
        got = rec.read()
        assert got.shape == (1024 * seconds, 3)
        assert np.max(np.abs(got[:, 0] - emg_mv * 1000)) < 0.01      # mV -> µV within quantisation
        assert abs(np.mean(got[:, 2]) - 20 * 1.35951) < 0.2          # mmHg -> cmH2O
        assert [(e.time_s, e.kind, e.label) for e in rec.events][:2] == [(5.0, "marker", "Relax"),
                                                                          (60.0, "marker", "Squeeze")]
        assert len(rec.events) == 11 and rec.events[1].data == {"duration_s": 5.0}
        assert rec.meta["client"] == "Jane Doe"
        assert rec.started_at.startswith("2025-11-03T14:05:00")
        # and it analyses like any recording, with a protocol laid over it
        from biofeedback.clinic.analysis import summarize
        summary = summarize(rec, protocol="work-rest-5-10")
        assert summary["trials"] == 10 and summary["trials_no_onset"] == 0
        assert summary["contraction_peak_uv"] > 3 * summary["resting_tone_uv"]
        assert 0 < summary["release_latency_s"] < 1.0
    finally:
        rec.close()

    # without a choice: the first signal, and anonymised
    out = import_edf(path, tmp_path / "b.bfr", anonymize=True)
    rec = Recording.open(out)
    try:
        assert rec.info.names == ["pfm"] and rec.info.rate == 32 and rec.info.channels[0].kind == "emg_rms"
        assert "client" not in rec.meta
    finally:
        rec.close()
    with pytest.raises(UserError, match="no signal labelled 'EMG9'; the file has: Resp, EMG1, EMG2, Manometry"):
        import_edf(path, tmp_path / "c.bfr", channels=["EMG9"])


def test_import_bdf_plus(tmp_path):
    rng = np.random.default_rng(11)
    emg = _foreign_signal(2048, 20, rng, 8.0)
    signals = [edfio.BdfSignal(emg, 2048, label="PF EMG", physical_dimension="uV"),
               edfio.BdfSignal(_foreign_signal(2048, 20, rng, 2.0), 2048, label="Abdominal", physical_dimension="uV")]
    path = tmp_path / "device.bdf"
    edfio.Bdf(signals, annotations=[edfio.EdfAnnotation(5.0, None, "work")]).write(path)
    out = import_edf(path, tmp_path / "d.bfr")
    rec = Recording.open(out)
    try:
        assert rec.info.names == ["pfm"] and rec.info.rate == 2048
        assert np.max(np.abs(rec.read()[:, 0] - emg)) < 1e-3            # 24-bit keeps it finer still
        assert [(e.time_s, e.label) for e in rec.events] == [(5.0, "work")]
        assert rec.meta["imported_format"] == "BDF"
    finally:
        rec.close()


def test_damaged_edf_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.edf"
    path.write_bytes(b"0       " + b"garbage" * 40)
    with pytest.raises(RecordingError, match="cannot read .* as EDF/BDF") as info:
        import_edf(path, tmp_path / "x.bfr")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "x.bfr").exists()
    with pytest.raises(RecordingError, match="no such file"):
        import_edf(tmp_path / "missing.edf", tmp_path / "x.bfr")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-5000, 5000, allow_nan=False, allow_infinity=False), min_size=1, max_size=50))
def test_physical_range_holds_the_data_and_fits_the_header(values):
    arr = np.array(values)
    lo, hi = physical_range(arr)
    assert lo <= arr.min() and hi >= arr.max() and hi > lo
    for v in (lo, hi):
        assert len(f"{v:.10g}".rstrip("0").rstrip(".")) <= 8 or float(int(v)) == v


def test_import_discontinuous_edf_plus_d_keeps_the_gap(tmp_path):
    """An EDF+D file: the pause between data records comes back as lost samples, not as joined signal."""
    rate = 256
    sig = edfio.EdfSignal(np.tile(np.linspace(-50, 50, rate), 4), rate, label="EMG", physical_dimension="uV")
    edf = edfio.Edf([sig], annotations=[edfio.EdfAnnotation(0.5, None, "start")])
    path = tmp_path / "cont.edf"
    edf.write(path)
    # rewrite the timekeeping of records 3 and 4 so they start at 5 s and 6 s (a 3 s pause), and mark the file EDF+D
    raw = bytearray(path.read_bytes())
    raw[192:236] = b"EDF+D".ljust(44)
    for old, new in ((b"+2\x14\x14", b"+5\x14\x14"), (b"+3\x14\x14", b"+6\x14\x14")):
        at = raw.index(old)
        raw[at:at + len(old)] = new
    path.write_bytes(bytes(raw))
    assert not edfio.read_edf(path).is_continuous
    out = import_edf(path, tmp_path / "d.bfr")
    with Recording.open(out) as rec:
        data = rec.read()[:, 0]
    assert len(data) == 7 * rate
    assert np.all(np.isnan(data[2 * rate:5 * rate]))
    assert np.all(np.isfinite(data[:2 * rate])) and np.all(np.isfinite(data[5 * rate:]))
    assert np.allclose(data[5 * rate:6 * rate], np.linspace(-50, 50, rate), atol=0.01)
