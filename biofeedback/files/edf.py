"""EDF+ / BDF+ interchange with edfio: export a recording with its events as annotations, import other systems' files.

Export picks each channel's physical range from its own data (rounded outwards to the
8 characters the header allows), so the 16-bit (EDF) or 24-bit (BDF) quantisation step
is as small as the data permits. Lost samples (NaN) are written as 0 and marked by a
``signal lost`` annotation. The file is padded to whole data records; a ``Recording ends``
annotation holds the true end, which import honours.

Import reads EDF+, EDF, BDF+ or BDF, keeps the chosen channels (by label, or the first
signal), converts their units to µV / cmH2O, resamples to one rate and writes a recording
file with :class:`~biofeedback.files.recording.RecordingWriter`; annotations become events.

A truncated file (cut off while copying, or while another program was recording) is
imported up to its last complete data record and the caller is warned once with how
much was imported (``PATH is truncated: imported N of M records (X s)``); the recording's
meta keeps ``truncated: {"records": N, "of": M}``. A file without one complete record is
refused. edfio's own warnings never reach the terminal raw: they are caught and passed to
the caller's ``warn`` function as single lines.

Both directions write through :func:`biofeedback.files.outputs.new_output` (never over an
existing file or the input) and :func:`~biofeedback.files.outputs.atomic_output` (never half-written).
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import unicodedata
import warnings
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from biofeedback.errors import RecordingError, UserError
from biofeedback.files.outputs import atomic_output, new_output
from biofeedback.stream import Block, Channel, Event, StreamInfo

ProgressFn = Callable[[float], None]
WarnFn = Callable[[str], None]

END_ANNOTATION = "Recording ends"
LOST_ANNOTATION = "signal lost"
#: Event kinds that keep their machine-readable data in the annotation text after " | ".
_DATA_KINDS = ("step", "protocol", "calibration", "summary", "gap")
_EVENT_KINDS = ("marker", "step", "protocol", "calibration", "gap", "disconnected", "reconnected", "summary")
_TEXT_RE = re.compile(r"^(%s): ?(.*?)(?: \| (\{.*\}))?$" % "|".join(_EVENT_KINDS), re.S)

#: unit (lower case, µ folded to u) -> (our unit, factor, kind)
_UNITS = {
    "uv": ("uV", 1.0, "emg"), "mv": ("uV", 1e3, "emg"), "v": ("uV", 1e6, "emg"), "nv": ("uV", 1e-3, "emg"),
    "cmh2o": ("cmH2O", 1.0, "pressure"), "mmhg": ("cmH2O", 1.35951, "pressure"),
    "kpa": ("cmH2O", 10.1972, "pressure"), "hpa": ("cmH2O", 1.01972, "pressure"),
}


def _noop(_: float) -> None:
    pass


def _pass_on(caught: list[warnings.WarningMessage], warn: WarnFn | None, where: object) -> None:
    """Hand caught library warnings to ``warn`` as single lines (each message once)."""
    if warn is None:
        return
    for text in dict.fromkeys(" ".join(str(w.message).split()) for w in caught):
        warn(f"{where}: {text}")


# --------------------------------------------------------------------------- export

def physical_range(values: np.ndarray) -> tuple[float, float]:
    """The tightest range holding all finite values (and 0 for lost samples), rounded outwards to 8 characters."""
    finite = values[np.isfinite(values)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 1.0
    if not np.all(np.isfinite(values)):
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi <= lo:
        hi = lo + max(1.0, abs(lo) * 1e-3)
    return _round_out(lo, math.floor), _round_out(hi, math.ceil)


def _round_out(value: float, direction: Callable[[float], int]) -> float:
    """Round to a number that fits the 8-character header field without moving inwards."""
    if value == 0 or float(value).is_integer() and len(str(int(value))) <= 8:
        return float(value)
    int_len = len(str(int(abs(value)))) + (1 if value < 0 else 0)
    decimals = max(0, 8 - int_len - 1)
    factor = 10 ** decimals
    return direction(value * factor) / factor


def _ascii(text: str) -> str:
    """EDF headers are ASCII without spaces in subfields."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", "_", folded.strip()) or "X"


def _label(channel: Channel) -> str:
    label = "Pressure" if channel.kind == "pressure" else f"EMG {channel.name}"
    if channel.kind == "pressure" and channel.name != "pressure":
        label = f"Pressure {channel.name}"
    return label[:16]


def event_text(event: Event) -> str:
    """``kind: label`` (plus `` | {json}`` for events whose data an importer needs)."""
    text = f"{event.kind}: {event.label}".rstrip()
    if event.kind in _DATA_KINDS and event.data:
        text += " | " + json.dumps(event.data, sort_keys=True, separators=(",", ":"), default=str)
    return text.replace("\x14", " ").replace("\x15", " ").replace("\x00", " ")


def _lost_runs(column: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of NaN runs."""
    bad = ~np.isfinite(column)
    if not bad.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], bad.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def export_edf(recording_path: str | os.PathLike, out_path: str | os.PathLike, *, fmt: str = "edf",
               anonymize: bool = False, progress: ProgressFn | None = None, warn: WarnFn | None = None) -> Path:
    """Write a recording as EDF+ (16 bit) or BDF+ (24 bit) with events as annotations.

    ``out_path`` must be a new file ending in .edf (or .bdf); an existing file, the recording itself or a
    missing folder is refused with one line before anything is read.
    """
    import edfio

    from biofeedback.files.markers import current_events
    from biofeedback.files.recording import Recording

    progress = progress or _noop
    fmt = fmt.lower()
    if fmt not in ("edf", "bdf"):
        raise UserError(f"unknown export format {fmt!r}; use edf or bdf")
    out = new_output(out_path, inputs=[recording_path], suffixes=[f".{fmt}"], what=f"{fmt.upper()} export")
    rec = Recording.open(recording_path)
    try:
        info, meta, events = rec.info, dict(rec.meta), current_events(list(rec.events))  # markers as edited
        n, rate = rec.n_samples, info.rate
        if n == 0:
            raise RecordingError(f"{recording_path} holds no samples; nothing to export")
        chunk = max(1, int(rate * 30))
        parts = []
        for start in range(0, n, chunk):
            parts.append(rec.read(start, min(n, start + chunk)))
            progress(0.6 * min(n, start + chunk) / n)
        data = np.concatenate(parts, axis=0)
        started_at = rec.started_at
    finally:
        rec.close()

    per_record = int(round(rate * _record_seconds(rate)))
    padded = -(-n // per_record) * per_record
    signal_cls = edfio.EdfSignal if fmt == "edf" else edfio.BdfSignal
    digital = (-32768, 32767) if fmt == "edf" else (-8388608, 8388607)
    signals = []
    annotations = []
    for i, channel in enumerate(info.channels):
        column = data[:, i]
        lo, hi = physical_range(column)
        for a, b in _lost_runs(column):
            annotations.append(edfio.EdfAnnotation(a / rate, (b - a) / rate, f"{LOST_ANNOTATION}: {channel.name}"))
        filled = np.where(np.isfinite(column), column, 0.0)
        if padded > n:
            filled = np.concatenate([filled, np.full(padded - n, filled[-1])])
        signals.append(signal_cls(filled, rate, label=_label(channel),
                                  transducer_type="pressure probe" if channel.kind == "pressure" else "surface EMG probe",
                                  physical_dimension=channel.unit, physical_range=(lo, hi), digital_range=digital,
                                  prefiltering="none (raw)" if channel.kind == "emg" else ""))
        progress(0.6 + 0.2 * (i + 1) / info.n_channels)
    duration = padded / rate
    for e in events:
        onset = min(max(0.0, float(e.time_s)), duration)
        length = e.data.get("duration_s") if isinstance(e.data, dict) else None
        length = float(length) if isinstance(length, (int, float)) and length >= 0 else None
        annotations.append(edfio.EdfAnnotation(onset, length, event_text(e)))
    annotations.append(edfio.EdfAnnotation(n / rate, None, END_ANNOTATION))

    start = _parse_start(started_at)
    name = "" if anonymize else str(meta.get("client") or "")
    patient = edfio.Patient(name=_ascii(name) if name else "X")
    protocol = meta.get("protocol")
    protocol = protocol.get("name") if isinstance(protocol, dict) else protocol
    recording = edfio.Recording(startdate=start.date() if start else None, equipment_code="biofeedback",
                                additional=(_ascii(str(protocol)),) if protocol else ())
    cls = edfio.Edf if fmt == "edf" else edfio.Bdf
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        edf = cls(signals, patient=patient, recording=recording,
                  starttime=start.time().replace(microsecond=0, tzinfo=None) if start else None,
                  data_record_duration=_record_seconds(rate), annotations=sorted(annotations))
        with atomic_output(out) as tmp:
            with open(tmp, "wb") as fh:
                edf.write(fh)
    _pass_on(caught, warn, out)
    progress(1.0)
    return out


def _record_seconds(rate: float) -> float:
    """The shortest data record holding a whole number of samples (1 s for integer rates)."""
    frac = Fraction(rate).limit_denominator(1000)
    return float(frac.denominator)


def _parse_start(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


# --------------------------------------------------------------------------- import

def _fold(text: str) -> str:
    return text.strip().lower().replace("µ", "u").replace("μ", "u").replace(" ", "")


def _match_label(label: str) -> str:
    """Our channel name if the label is one of ours (``EMG pfm``, ``pfm``, ``Pressure``), else ''."""
    folded = re.sub(r"^(emg|press(ure)?)[\s_-]*", "", label.strip().lower()) or label.strip().lower()
    if label.strip().lower() in ("pressure", "press"):
        return "pressure"
    return folded if folded in ("pfm", "abd") else ""


def _header_int(field: bytes) -> int | None:
    try:
        return int(field.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return None


def _is_truncation(w: warnings.WarningMessage) -> bool:
    text = str(w.message)
    return "Incomplete data record" in text or ("header indicates" in text and "data records" in text)


def _read(path: Path, notes: list[str]):
    """Open an EDF/BDF file; a truncated file keeps its complete records and adds one line to ``notes``."""
    import edfio
    with open(path, "rb") as fh:
        head = fh.read(256)
    declared = _header_int(head[236:244])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if head[:1] == b"\xff":
                edf, fmt = edfio.read_bdf(path), "bdf"
            else:
                edf, fmt = edfio.read_edf(path, lazy_load_data=True), "edf"
        except Exception as exc:  # edfio raises ValueError, IndexError, UnicodeDecodeError... on damaged files
            raise RecordingError(f"cannot read {path} as EDF/BDF ({type(exc).__name__}: {exc}); "
                                 f"check that the file is complete") from None
    complete = int(edf.num_data_records)
    truncated = (any("Incomplete data record" in str(w.message) for w in caught)
                 or (declared is not None and 0 <= complete < declared))
    if truncated:
        known = declared is not None and declared > complete
        if complete == 0:
            raise RecordingError(f"{path} is truncated: it holds no complete data record"
                                 f"{f' (of {declared})' if known else ''}; nothing to import; copy the whole file again")
        seconds = complete * float(edf.data_record_duration)
        notes.append(f"{path} is truncated: imported {complete} of {declared} records ({seconds:g} s)" if known else
                     f"{path} is truncated: imported its {complete} complete records ({seconds:g} s); "
                     f"the last one was cut off")
    notes.extend(f"{path}: {' '.join(str(w.message).split())}" for w in caught
                 if not ((truncated or declared == -1) and _is_truncation(w)))   # -1: count left open (legal)
    return edf, fmt, (complete, declared) if truncated else None


def choose_signals(labels: Sequence[str], wanted: Sequence[str] | None) -> list[int]:
    """Indices of the signals to import: those named in ``wanted``, else ours by label, else the first."""
    if wanted:
        out = []
        folded = [lab.strip().lower() for lab in labels]
        for w in wanted:
            key = w.strip().lower()
            if key in folded:
                out.append(folded.index(key))
            elif key.isdigit() and 1 <= int(key) <= len(labels):
                out.append(int(key) - 1)
            else:
                raise UserError(f"no signal labelled {w!r}; the file has: {', '.join(labels)}")
        return list(dict.fromkeys(out))
    ours = [i for i, lab in enumerate(labels) if _match_label(lab)]
    return ours or [0]


def import_edf(in_path: str | os.PathLike, out_path: str | os.PathLike, *, channels: Sequence[str] | None = None,
               client: str | None = None, anonymize: bool = False, progress: ProgressFn | None = None,
               warn: WarnFn | None = None) -> Path:
    """Turn an EDF(+)/BDF(+) file into a new recording file; returns the recording's path.

    ``warn(line)`` receives one line for a truncated file (what was imported) and for each warning
    of the EDF library; they are never printed raw.
    """
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = _import_edf(in_path, out_path, channels, client, anonymize, progress or _noop, notes)
    notes.extend(f"{in_path}: {' '.join(str(w.message).split())}" for w in caught)
    if warn is not None:
        for line in dict.fromkeys(notes):
            warn(line)
    return out


def _import_edf(in_path, out_path, channels, client, anonymize, progress: ProgressFn, notes: list[str]) -> Path:
    from scipy.signal import resample_poly

    from biofeedback.files.recording import RecordingWriter

    src = Path(in_path)
    if src.is_dir():
        raise RecordingError(f"{src} is a folder, not an EDF/BDF file")
    if not src.is_file():
        raise RecordingError(f"no such file: {src}")
    out = new_output(out_path, inputs=[src], what="recording")
    edf, fmt, truncation = _read(src, notes)
    signals = [s for s in edf.signals]
    if not signals:
        raise RecordingError(f"{src} holds only annotations, no signals to import")
    labels = [s.label for s in signals]
    chosen = choose_signals(labels, channels)
    rate = float(signals[chosen[0]].sampling_frequency)
    if rate <= 0:
        raise RecordingError(f"{src}: signal {labels[chosen[0]]!r} has no sampling rate")

    for idx in chosen:
        _check_scale(src, signals[idx])
    record_onsets = _record_onsets(edf, src)
    columns, chans, names = [], [], []
    n_emg = 0
    for k, idx in enumerate(chosen):
        sig = signals[idx]
        unit, factor, kind = _UNITS.get(_fold(sig.physical_dimension), ("uV", 1.0, "emg"))
        if "press" in sig.label.lower() and kind == "emg" and not _fold(sig.physical_dimension).endswith("v"):
            unit, kind = "cmH2O", "pressure"
        values = np.asarray(sig.data, dtype=np.float64) * factor
        sig_rate = float(sig.sampling_frequency)
        if record_onsets is not None:
            values = _place_records(values, sig.samples_per_data_record, record_onsets, sig_rate)
        if sig_rate != rate:
            values = _resample(values, rate / sig_rate, resample_poly)
        if kind == "emg" and rate < 100:
            kind = "emg_rms"   # a device that already sends an amplitude
        name = _match_label(sig.label)
        if not name or name in names:
            if kind == "pressure":
                name = "pressure" if "pressure" not in names else f"pressure{k + 1}"
            else:
                name = ("pfm", "abd")[n_emg] if n_emg < 2 and ("pfm", "abd")[n_emg] not in names else f"emg{k + 1}"
        if kind != "pressure":
            n_emg += 1
        names.append(name)
        chans.append(Channel(name, kind, unit))
        columns.append(values)
        progress(0.4 * (k + 1) / len(chosen))
    n = min(len(c) for c in columns)
    data = np.stack([c[:n] for c in columns], axis=1)

    events: list[Event] = []
    for ann in edf.annotations:
        text = ann.text.strip()
        if text == END_ANNOTATION:
            n = min(n, int(round(ann.onset * rate)))
            continue
        if text.startswith(LOST_ANNOTATION):
            name = text.partition(":")[2].strip()
            if name in names:
                a = int(round(ann.onset * rate))
                b = a + int(round((ann.duration or 0) * rate))
                data[a:b, names.index(name)] = np.nan
            continue
        m = _TEXT_RE.match(text)
        if m:
            payload = {}
            if m.group(3):
                try:
                    payload = json.loads(m.group(3))
                except ValueError:
                    payload = {}
            events.append(Event(float(ann.onset), m.group(1), m.group(2), payload))
        else:
            extra = {"duration_s": ann.duration} if ann.duration else {}
            events.append(Event(float(ann.onset), "marker", text, extra))
    data = data[:n]

    try:
        start = edf.startdatetime
        started_at = start.isoformat()
    except Exception:  # anonymised start dates cannot be read
        started_at = None
    name = None if anonymize else (client or _patient_name(edf))
    info = StreamInfo(tuple(chans), rate, source=f"{fmt}:{src.name}", device="imported")
    meta = {"imported_from": src.name, "imported_format": fmt.upper(), "edf_labels": [labels[i] for i in chosen]}
    if name:
        meta["client"] = name
    if started_at:
        meta["started_at"] = started_at
    if truncation is not None:
        meta["truncated"] = {"records": truncation[0], "of": truncation[1]}
    with atomic_output(out) as tmp:
        tmp.unlink()                                   # the writer creates its own file (never over one)
        writer = RecordingWriter(tmp, info, meta)
        try:
            step = max(1, int(rate))
            for i in range(0, n, step):
                writer.append(Block(i, data[i:i + step]))
                progress(0.4 + 0.55 * min(n, i + step) / max(1, n))
            for e in sorted(events, key=lambda e: e.time_s):
                writer.add_event(e)
        finally:
            writer.close()
    progress(1.0)
    return out


def _check_scale(src: Path, sig) -> None:
    """Refuse a signal whose scale fields are not numbers: its values could not be given in true units."""
    fields = (("physical minimum", "_physical_min"), ("physical maximum", "_physical_max"),
              ("digital minimum", "_digital_min"), ("digital maximum", "_digital_max"))
    for what, attr in fields:
        raw = getattr(sig, attr, b"")
        text = raw.decode("ascii", "replace").strip() if isinstance(raw, bytes) else str(raw).strip()
        try:
            ok = math.isfinite(float(text))
        except ValueError:
            ok = False
        if not ok:
            raise RecordingError(f"{src}: signal {sig.label!r} has a {what} that is not a number ({text!r}), "
                                 f"so its units cannot be known; it is not imported")


def _record_onsets(edf, src: Path) -> list[float] | None:
    """Start of each data record in an EDF+D (discontinuous) file; None when the file is continuous."""
    try:
        if edf.is_continuous:
            return None
        from edfio.edf_annotations import _get_data_record_onset
        keeper = edf._timekeeping_signal
        records = keeper.digital.reshape((-1, keeper._bytes_per_data_record))
        return [float(_get_data_record_onset(r)) for r in records]
    except Exception as exc:  # edfio's timekeeping helpers are internal: fail clearly if they change
        raise RecordingError(f"cannot read the timing of the discontinuous (EDF+D) file {src} ({exc})") from None


def _place_records(values: np.ndarray, per_record: int, onsets: list[float], rate: float) -> np.ndarray:
    """Put each data record at its own start time; the time between records becomes lost samples (NaN)."""
    starts = [int(round(o * rate)) for o in onsets]
    out = np.full(max(s + per_record for s in starts), np.nan)
    for k, s in enumerate(starts):
        out[s:s + per_record] = values[k * per_record:(k + 1) * per_record]
    return out


def _resample(values: np.ndarray, ratio: float, resample_poly) -> np.ndarray:
    """Change the rate by ``ratio``; lost samples stay lost (NaN) instead of smearing into their neighbours."""
    frac = Fraction(ratio).limit_denominator(1000)
    lost = ~np.isfinite(values)
    out = resample_poly(np.where(lost, 0.0, values), frac.numerator, frac.denominator)
    if lost.any():
        idx = np.minimum((np.arange(len(out)) * frac.denominator) // frac.numerator, len(values) - 1)
        out[lost[idx]] = np.nan
    return out


def _patient_name(edf) -> str | None:
    try:
        name = edf.patient.name
    except Exception:
        return None
    return name.replace("_", " ") if name and name != "X" else None
