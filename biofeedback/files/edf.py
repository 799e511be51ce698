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
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

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
_TEXT_RE = re.compile(r"^(" + "|".join(_EVENT_KINDS) + r"): ?(.*?)(?: \| (\{.*\}))?$", re.S)

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


def _range_from(lo: float | None, hi: float | None, lost: bool) -> tuple[float, float]:
    """:func:`physical_range` from a running minimum/maximum (None: no finite value) and whether samples were lost."""
    lo_v = 0.0 if lo is None else lo
    hi_v = 1.0 if hi is None else hi
    if lost:
        lo_v, hi_v = min(lo_v, 0.0), max(hi_v, 0.0)
    if hi_v <= lo_v:
        hi_v = lo_v + max(1.0, abs(lo_v) * 1e-3)
    return _round_out(lo_v, math.floor), _round_out(hi_v, math.ceil)


class _LostRuns:
    """NaN runs of one channel found block by block (a run may span blocks)."""

    def __init__(self) -> None:
        self.runs: list[tuple[int, int]] = []
        self._open: int | None = None

    def feed(self, start: int, column: np.ndarray) -> None:
        bad = ~np.isfinite(column)
        if self._open is not None and (not bad.size or not bad[0]):
            self.runs.append((self._open, start))
            self._open = None
        if not bad.any():
            return
        edges = np.flatnonzero(np.diff(np.concatenate([[0], bad.astype(np.int8), [0]])))
        for a, b in zip(edges[::2].tolist(), edges[1::2].tolist()):
            a_abs = self._open if (a == 0 and self._open is not None) else start + a
            self._open = None
            if b == len(column):
                self._open = a_abs
            else:
                self.runs.append((a_abs, start + b))

    def close(self, n: int) -> list[tuple[int, int]]:
        if self._open is not None:
            self.runs.append((self._open, n))
            self._open = None
        return self.runs


def _num(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _tal(onset: float, duration: float | None, text: str) -> bytes:
    """One EDF+ time-stamped annotation list entry."""
    head = "+" + _num(max(0.0, onset)) + (f"\x15{_num(duration)}" if duration is not None else "")
    return (head + "\x14" + text + "\x14\x00").encode("utf-8")


def _annotation_records(n_records: int, record_s: float, tals: list[bytes], unit: int) -> tuple[list[bytes], int]:
    """Spread the annotations over the data records after each record's time-keeping entry; (bytes per record, size)."""
    keep = [f"+{_num(k * record_s)}\x14\x14\x00".encode() for k in range(n_records)]
    longest = max(len(t) for t in keep) + (max((len(t) for t in tals), default=0))
    total = sum(len(t) for t in keep) + sum(len(t) for t in tals)
    size = max(longest, -(-total // n_records) + 8)
    while True:
        size = -(-size // unit) * unit
        out, i = [], 0
        for k in range(n_records):
            part = bytearray(keep[k])
            while i < len(tals) and len(part) + len(tals[i]) <= size:
                part += tals[i]
                i += 1
            out.append(bytes(part.ljust(size, b"\x00")))
        if i == len(tals):
            return out, size
        size = int(size * 1.5) + unit


def _field(value: object, width: int) -> bytes:
    text = value if isinstance(value, str) else str(value)
    raw = text.encode("ascii", "replace")
    if len(raw) > width:
        raise RecordingError(f"cannot write the EDF header: {text!r} does not fit {width} characters")
    return raw.ljust(width, b" ")


def export_edf(recording_path: str | os.PathLike, out_path: str | os.PathLike, *, fmt: str = "edf",
               anonymize: bool = False, progress: ProgressFn | None = None, warn: WarnFn | None = None) -> Path:
    """Write a recording as EDF+ (16 bit) or BDF+ (24 bit) with events as annotations.

    ``out_path`` must be a new file ending in .edf (or .bdf); an existing file, the recording itself or a
    missing folder is refused with one line before anything is read. The recording is read twice in
    blocks (ranges and lost runs, then the data records), so memory stays bounded whatever its length.
    """
    import edfio

    from biofeedback.files.markers import current_events
    from biofeedback.files.recording import Recording

    progress = progress or _noop
    fmt = fmt.lower()
    if fmt not in ("edf", "bdf"):
        raise UserError(f"unknown export format {fmt!r}; use edf or bdf")
    out = new_output(out_path, inputs=[recording_path], suffixes=[f".{fmt}"], what=f"{fmt.upper()} export")
    with Recording.open(recording_path) as rec:
        info, meta, events = rec.info, dict(rec.meta), current_events(list(rec.events))  # markers as edited
        n, rate = rec.n_samples, info.rate
        if n == 0:
            raise RecordingError(f"{recording_path} holds no samples; nothing to export")
        n_ch = info.n_channels
        lows: list[float | None] = [None] * n_ch
        highs: list[float | None] = [None] * n_ch
        lost = [_LostRuns() for _ in range(n_ch)]
        last = np.zeros(n_ch)
        for blk in rec.iter_blocks():
            for i in range(n_ch):
                col = blk.data[:, i]
                finite = col[np.isfinite(col)]
                if finite.size:
                    lo_i, hi_i = float(finite.min()), float(finite.max())
                    lows[i] = lo_i if lows[i] is None else min(lows[i], lo_i)    # type: ignore[type-var]
                    highs[i] = hi_i if highs[i] is None else max(highs[i], hi_i)  # type: ignore[type-var]
                lost[i].feed(blk.start, col)
            tail = blk.data[-1]
            last = np.where(np.isfinite(tail), tail, 0.0)
            progress(0.3 * (blk.start + blk.n) / n)
        runs = [lost[i].close(n) for i in range(n_ch)]
        ranges = [_range_from(lows[i], highs[i], bool(runs[i])) for i in range(n_ch)]

        record_s = _record_seconds(rate)
        per_record = int(round(rate * record_s))
        n_records = -(-n // per_record)
        duration = n_records * record_s
        tals: list[tuple[float, bytes]] = []
        for i, channel in enumerate(info.channels):
            for a, b in runs[i]:
                tals.append((a / rate, _tal(a / rate, (b - a) / rate, f"{LOST_ANNOTATION}: {channel.name}")))
        for e in events:
            onset = min(max(0.0, float(e.time_s)), duration)
            length = e.data.get("duration_s") if isinstance(e.data, dict) else None
            length = float(length) if isinstance(length, (int, float)) and length >= 0 else None
            tals.append((onset, _tal(onset, length, event_text(e))))
        tals.append((n / rate, _tal(n / rate, None, END_ANNOTATION)))
        tals.sort(key=lambda item: item[0])
        bytes_per_sample = 2 if fmt == "edf" else 3
        ann, ann_size = _annotation_records(n_records, record_s, [t for _, t in tals], bytes_per_sample)

        digital = (-32768, 32767) if fmt == "edf" else (-8388608, 8388607)
        start = _parse_start(rec.started_at)
        name = "" if anonymize else str(meta.get("client") or "")
        protocol = meta.get("protocol")
        protocol = protocol.get("name") if isinstance(protocol, dict) else protocol
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            patient = edfio.Patient(name=_ascii(name) if name else "X")._to_str()
            recording = edfio.Recording(startdate=start.date() if start else None, equipment_code="biofeedback",
                                        additional=(_ascii(str(protocol)),) if protocol else ())._to_str()
        signals = [(_label(c), "pressure probe" if c.kind == "pressure" else "surface EMG probe", c.unit,
                    ranges[i], digital, "none (raw)" if c.kind == "emg" else "", per_record)
                   for i, c in enumerate(info.channels)]
        signals.append((f"{fmt.upper()} Annotations", "", "", digital, digital, "", ann_size // bytes_per_sample))
        header = _header(fmt, patient, recording, start, n_records, record_s, signals)

        gains = []
        for lo_hi in ranges:
            gain = (lo_hi[1] - lo_hi[0]) / (digital[1] - digital[0])
            gains.append((gain, lo_hi[1] / gain - digital[1]))
        block = max(1, 65536 // per_record) * per_record
        with atomic_output(out) as tmp, open(tmp, "wb") as fh:
            fh.write(header)
            for blk in rec.iter_blocks(block):
                data = blk.data
                k0 = blk.start // per_record
                k = -(-data.shape[0] // per_record)
                if data.shape[0] < k * per_record:      # the last record is padded with the last value
                    pad = np.repeat(last[None, :], k * per_record - data.shape[0], axis=0)
                    data = np.concatenate([data, pad], axis=0)
                parts = []
                for i in range(n_ch):
                    gain, offset = gains[i]
                    col = np.where(np.isfinite(data[:, i]), data[:, i], 0.0)
                    dig = np.clip(np.round(col / gain - offset), digital[0], digital[1]).astype("<i4")
                    if fmt == "edf":
                        raw = dig.astype("<i2").view(np.uint8).reshape(k, per_record * 2)
                    else:
                        raw = dig.view(np.uint8).reshape(-1, 4)[:, :3].reshape(k, per_record * 3)
                    parts.append(raw)
                parts.append(np.frombuffer(b"".join(ann[k0:k0 + k]), dtype=np.uint8).reshape(k, ann_size))
                fh.write(np.concatenate(parts, axis=1).tobytes())
                progress(0.3 + 0.7 * (blk.start + blk.n) / n)
    _pass_on(caught, warn, out)
    progress(1.0)
    return out


def _header(fmt: str, patient: str, recording: str, start: dt.datetime | None, n_records: int, record_s: float,
            signals: list[tuple]) -> bytes:
    """The EDF+/BDF+ header: the fixed part, then each field for all signals in turn."""
    ns = len(signals)
    date = start.strftime("%d.%m.%y") if start else "01.01.85"
    time_ = start.strftime("%H.%M.%S") if start else "00.00.00"
    fixed = [(b"0       " if fmt == "edf" else b"\xffBIOSEMI"), _field(patient, 80), _field(recording, 80),
             _field(date, 8), _field(time_, 8), _field(256 * (ns + 1), 8), _field(f"{fmt.upper()}+C", 44),
             _field(n_records, 8), _field(_num(record_s), 8), _field(ns, 4)]
    cols = [
        [_field(s[0], 16) for s in signals], [_field(s[1], 80) for s in signals], [_field(s[2], 8) for s in signals],
        [_field(_num(s[3][0]), 8) for s in signals], [_field(_num(s[3][1]), 8) for s in signals],
        [_field(s[4][0], 8) for s in signals], [_field(s[4][1], 8) for s in signals],
        [_field(s[5], 80) for s in signals], [_field(s[6], 8) for s in signals], [_field("", 32) for _ in signals],
    ]
    return b"".join(fixed) + b"".join(b"".join(c) for c in cols)


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
    edf: Any
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
                                 f"{f' (of {declared})' if known else ''}; nothing to import; "
                                 f"copy the whole file again")
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
    # a continuous EDF whose chosen signals share one rate is read slice by slice (bounded memory);
    # discontinuous (EDF+D), mixed-rate or BDF files are read whole, as before
    streaming = (fmt == "edf" and record_onsets is None
                 and all(float(signals[i].sampling_frequency) == rate for i in chosen))
    columns: list[np.ndarray] = []
    chans: list[Channel] = []
    names: list[str] = []
    factors: list[float] = []
    lengths: list[int] = []
    n_emg = 0
    for k, idx in enumerate(chosen):
        sig = signals[idx]
        unit, factor, kind = _UNITS.get(_fold(sig.physical_dimension), ("uV", 1.0, "emg"))
        if "press" in sig.label.lower() and kind == "emg" and not _fold(sig.physical_dimension).endswith("v"):
            unit, kind = "cmH2O", "pressure"
        factors.append(factor)
        if streaming:
            lengths.append(int(sig.samples_per_data_record) * int(edf.num_data_records))
        else:
            values = _whole_column(sig, factor, record_onsets, rate)
            columns.append(values)
            lengths.append(len(values))
        if kind == "emg" and rate < 100:
            kind = "emg_rms"   # a device that already sends an amplitude
        name = _channel_name(sig.label, kind, k, names, n_emg)
        if kind != "pressure":
            n_emg += 1
        names.append(name)
        chans.append(Channel(name, kind, unit))
        progress(0.4 * (k + 1) / len(chosen))
    n = min(lengths)

    events, lost, end = _annotations(edf, names, rate)
    n = min(n, end)
    if streaming:
        blocks = _slices(signals, chosen, factors, rate, n, lost)
    else:
        blocks = _whole(columns, n, lost, max(1, int(rate)))

    info = StreamInfo(tuple(chans), rate, source=f"{fmt}:{src.name}", device="imported")
    meta = _import_meta(edf, src, fmt, [labels[i] for i in chosen], None if anonymize else client, anonymize,
                        truncation)
    with atomic_output(out) as tmp:
        tmp.unlink()                                   # the writer creates its own file (never over one)
        writer = RecordingWriter(tmp, info, meta, commit_every_s=60.0)
        try:
            for blk in blocks:
                writer.append(blk)
                progress(0.4 + 0.55 * min(n, blk.start + blk.n) / max(1, n))
            for e in sorted(events, key=lambda e: e.time_s):
                writer.add_event(e)
        finally:
            writer.close()
    progress(1.0)
    return out


def _whole_column(sig, factor: float, record_onsets: list[float] | None, rate: float) -> np.ndarray:
    """One signal read whole: in our units, each record at its time (EDF+D), at the recording's rate."""
    from scipy.signal import resample_poly
    values = np.asarray(sig.data, dtype=np.float64) * factor
    sig_rate = float(sig.sampling_frequency)
    if record_onsets is not None:
        values = _place_records(values, sig.samples_per_data_record, record_onsets, sig_rate)
    if sig_rate != rate:
        values = _resample(values, rate / sig_rate, resample_poly)
    return values


def _import_meta(edf, src: Path, fmt: str, labels: list[str], client: str | None, anonymize: bool,
                 truncation) -> dict[str, Any]:
    try:
        started_at = edf.startdatetime.isoformat()
    except Exception:  # anonymised start dates cannot be read
        started_at = None
    client_name = None if anonymize else (client or _patient_name(edf))
    meta: dict[str, Any] = {"imported_from": src.name, "imported_format": fmt.upper(), "edf_labels": labels}
    if client_name:
        meta["client"] = client_name
    if started_at:
        meta["started_at"] = started_at
    if truncation is not None:
        meta["truncated"] = {"records": truncation[0], "of": truncation[1]}
    return meta


def _channel_name(label: str, kind: str, k: int, names: list[str], n_emg: int) -> str:
    """Our name for an imported signal: ours by label, else pfm/abd for EMG, pressure, then numbered."""
    name = _match_label(label)
    if not name or name in names:
        if kind == "pressure":
            name = "pressure" if "pressure" not in names else f"pressure{k + 1}"
        else:
            name = ("pfm", "abd")[n_emg] if n_emg < 2 and ("pfm", "abd")[n_emg] not in names else f"emg{k + 1}"
    return name


def _annotations(edf, names: list[str], rate: float) -> tuple[list[Event], list[tuple[int, int, int]], int]:
    """(events, lost runs as (start, stop, column), the true end in samples) from the file's annotations."""
    events: list[Event] = []
    lost: list[tuple[int, int, int]] = []
    end = 2 ** 62
    for ann in edf.annotations:
        text = ann.text.strip()
        if text == END_ANNOTATION:
            end = min(end, int(round(ann.onset * rate)))
            continue
        if text.startswith(LOST_ANNOTATION):
            name = text.partition(":")[2].strip()
            if name in names:
                a = int(round(ann.onset * rate))
                lost.append((a, a + int(round((ann.duration or 0) * rate)), names.index(name)))
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
    return events, lost, end


def _mark_lost(block: np.ndarray, start: int, lost: list[tuple[int, int, int]]) -> np.ndarray:
    for a, b, col in lost:
        lo, hi = max(a, start), min(b, start + block.shape[0])
        if lo < hi:
            block[lo - start:hi - start, col] = np.nan
    return block


def _slices(signals, chosen: list[int], factors: list[float], rate: float, n: int,
            lost: list[tuple[int, int, int]]) -> Iterator[Block]:
    """The chosen signals read a few data records at a time (edfio reads only the requested slice)."""
    per_record = int(signals[chosen[0]].samples_per_data_record)
    step = max(1, 65536 // per_record) * per_record
    for i in range(0, n, step):
        j = min(n, i + step)
        cols = []
        for idx, factor in zip(chosen, factors):
            part = np.asarray(signals[idx].get_data_slice(i / rate, j / rate), dtype=np.float64)[:j - i] * factor
            if part.shape[0] < j - i:
                part = np.concatenate([part, np.full(j - i - part.shape[0], np.nan)])
            cols.append(part)
        yield Block(i, _mark_lost(np.stack(cols, axis=1), i, lost))


def _whole(columns: list[np.ndarray], n: int, lost: list[tuple[int, int, int]], step: int) -> Iterator[Block]:
    data = _mark_lost(np.stack([c[:n] for c in columns], axis=1), 0, lost)
    for i in range(0, n, step):
        yield Block(i, data[i:i + step])


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
