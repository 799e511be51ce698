"""Signal chain: causal, stateful filters that give the same output in any chunking.

EMG: 4th-order Butterworth band-pass 20-450 Hz (second-order sections), optional
mains notch, then a moving RMS window (default 200 ms) giving the amplitude
envelope in µV. ``emg_rms`` input (a device that already sends an amplitude) is
only smoothed by a moving mean over the same window. Pressure: tare offset and a
5 Hz low-pass, in cmH2O.

NaN samples (lost data; an infinity counts as lost too) come out as NaN; inside the filters they are replaced by
the last valid input so that a gap never poisons the state for the rest of the
session. Filter state is seeded from the first valid sample so the trace does not
start with a long transient.
"""
from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import signal

from biofeedback.errors import UserError
from biofeedback.stream import Block, StreamInfo


@dataclass
class ChainSettings:
    bandpass_hz: tuple[float, float] = (20.0, 450.0)
    order: int = 4
    notch_hz: float | None = None  # 50 or 60; off by default (a notch removes real EMG too)
    rms_window_s: float = 0.2
    pressure_lowpass_hz: float = 5.0
    tare: dict[str, float] = field(default_factory=dict)  # channel name -> offset subtracted (pressure zero)

    def __post_init__(self) -> None:
        lo, hi = (float(x) for x in self.bandpass_hz)
        self.bandpass_hz = (lo, hi)
        if not (0 < lo < hi):
            raise UserError(f"band-pass corners must satisfy 0 < low < high, got {lo}-{hi} Hz")
        if self.notch_hz not in (None, 50, 60, 50.0, 60.0):
            raise UserError(f"mains notch must be 50 or 60 Hz (or off), got {self.notch_hz}")
        if not (0.01 <= self.rms_window_s <= 5.0):
            raise UserError(f"RMS window must be between 0.01 and 5 s, got {self.rms_window_s}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["bandpass_hz"] = list(self.bandpass_hz)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> ChainSettings:
        d = dict(d or {})
        names = ("bandpass_hz", "order", "notch_hz", "rms_window_s", "pressure_lowpass_hz", "tare")
        known = {k: d[k] for k in names if k in d}
        if "bandpass_hz" in known:
            known["bandpass_hz"] = tuple(known["bandpass_hz"])
        return cls(**known)


@dataclass
class Processed:
    """Chain output for one block: band-passed (or tared) signal and amplitude envelope, same shape."""

    start: int
    filtered: np.ndarray
    envelope: np.ndarray


def emg_bandpass_sos(rate: float, settings: ChainSettings) -> np.ndarray:
    """Band-pass (plus optional notch) as SOS; the upper corner is kept below Nyquist for slow devices."""
    lo, hi = settings.bandpass_hz
    nyq = rate / 2.0
    hi = min(hi, 0.9 * nyq)
    if lo >= hi:  # far too slow for raw EMG: fall back to a high-pass only
        sos = signal.butter(settings.order, min(lo, 0.4 * nyq), btype="highpass", fs=rate, output="sos")
    else:
        sos = signal.butter(settings.order, [lo, hi], btype="bandpass", fs=rate, output="sos")
    if settings.notch_hz and settings.notch_hz < nyq:
        b, a = signal.iirnotch(settings.notch_hz, Q=30.0, fs=rate)
        sos = np.vstack([sos, signal.tf2sos(b, a)])
    return sos


def _has_bad(x: np.ndarray) -> bool:
    """Fast test for lost samples: NaN, or an infinity that no sensor can send (a sum is not finite then)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return bool(x.size) and not np.isfinite(x.sum())


class _MovingMean:
    """Causal moving mean over ``width`` samples, per column; partial window at the very start."""

    def __init__(self, width: int, n_channels: int) -> None:
        self.width = max(1, int(width))
        self.tail = np.zeros((self.width - 1, n_channels))
        self.seen = 0

    def __call__(self, x: np.ndarray, square: bool = False) -> np.ndarray:
        """Moving mean of ``x`` (of ``x**2`` with ``square``, for a moving RMS)."""
        w, n = self.width, x.shape[0]
        ext = np.empty((w - 1 + n, x.shape[1]))
        ext[:w - 1] = self.tail
        if square:
            np.square(x, out=ext[w - 1:])
        else:
            ext[w - 1:] = x
        if w == 1:
            return ext
        self.tail = ext[-(w - 1):].copy()
        np.cumsum(ext, axis=0, out=ext)
        # the window ending at sample i covers ext[i : i + w]: C[w-1+i] - C[i-1]
        sums = np.empty((n, x.shape[1]))
        if n:
            sums[0] = ext[w - 1]
            np.subtract(ext[w:], ext[:n - 1], out=sums[1:])
        partial = max(0, min(n, w - 1 - self.seen))
        if partial:
            sums[:partial] /= (self.seen + np.arange(1, partial + 1))[:, None]
        sums[partial:] /= w
        self.seen += n
        return sums


class _NanHold:
    """Replaces lost samples (NaN, inf) by the last valid value per column, remembering it across blocks."""

    def __init__(self, n_channels: int) -> None:
        self.last_valid = np.full(n_channels, np.nan)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if not _has_bad(x):
            if x.shape[0]:
                self.last_valid = x[-1].copy()
            return x
        bad = ~np.isfinite(x)
        n = x.shape[0]
        idx = np.where(~bad, np.arange(n)[:, None], -1)
        np.maximum.accumulate(idx, axis=0, out=idx)
        cols = np.broadcast_to(np.arange(x.shape[1]), x.shape)
        x = np.where(idx >= 0, x[np.maximum(idx, 0), cols], self.last_valid[None, :])
        x = np.where(np.isfinite(x), x, 0.0)  # nothing valid seen yet on that channel
        if n:
            seen = ~bad.all(axis=0)
            self.last_valid[seen] = x[-1, seen]
        return x


class _SosStage:
    """A stateful ``sosfilt`` over several channels, seeded by the first valid sample, NaN-safe."""

    def __init__(self, sos: np.ndarray, n_channels: int) -> None:
        self.sos = sos
        self.zi: np.ndarray | None = None
        self.hold = _NanHold(n_channels)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.zi is None:
            valid = np.isfinite(x)
            if not valid.any(axis=0).all():
                # wait until every channel has shown a valid sample, so the state is seeded, not zero
                self.hold(x)
                return np.zeros_like(x)
            first = x[np.argmax(valid, axis=0), np.arange(x.shape[1])]
            self.zi = signal.sosfilt_zi(self.sos)[:, :, None] * first[None, None, :]
        y, self.zi = signal.sosfilt(self.sos, self.hold(x), axis=0, zi=self.zi)
        return y


class SignalChain:
    """Turns raw blocks into filtered signal and amplitude envelope, per channel kind."""

    def __init__(self, info: StreamInfo, settings: ChainSettings | None = None) -> None:
        self.info = info
        self.settings = settings or ChainSettings()
        rate = info.rate
        kinds = [c.kind for c in info.channels]
        self._groups: list[tuple[str, np.ndarray]] = []
        for kind in ("emg", "emg_rms", "pressure"):
            cols = np.array([i for i, k in enumerate(kinds) if k == kind], dtype=int)
            if cols.size:
                self._groups.append((kind, cols))
        win = max(1, int(round(self.settings.rms_window_s * rate)))
        self._stages: dict[str, tuple] = {}
        for kind, cols in self._groups:
            n = cols.size
            if kind == "emg":
                self._stages[kind] = (_SosStage(emg_bandpass_sos(rate, self.settings), n), _MovingMean(win, n))
            elif kind == "emg_rms":
                self._stages[kind] = (_NanHold(n), _MovingMean(win, n))
            else:
                lp = None
                if self.settings.pressure_lowpass_hz and self.settings.pressure_lowpass_hz < 0.45 * rate:
                    lp = _SosStage(signal.butter(2, self.settings.pressure_lowpass_hz, fs=rate, output="sos"), n)
                tare = np.array([self.settings.tare.get(info.channels[i].name, 0.0) for i in cols])
                self._stages[kind] = (lp, tare)

    def set_tare(self, channel: str, offset: float) -> None:
        """Zero a pressure channel from now on: ``offset`` (e.g. the reading in air) is subtracted."""
        kind = self.info.channels[self.info.index_of(channel)].kind
        if kind != "pressure":
            raise UserError(f"only a pressure channel can be zeroed, not {channel!r} ({kind})")
        self.settings.tare[channel] = float(offset)
        lp, _ = self._stages["pressure"]
        cols = dict(self._groups)["pressure"]
        tare = np.array([self.settings.tare.get(self.info.channels[i].name, 0.0) for i in cols])
        self._stages["pressure"] = (lp, tare)

    @property
    def delay_s(self) -> float:
        """Approximate lag of the EMG envelope behind the muscle (half the RMS window)."""
        return self.settings.rms_window_s / 2.0

    def process(self, block: Block) -> Processed:
        x = block.data
        whole = len(self._groups) == 1 and self._groups[0][1].size == x.shape[1]
        if not whole:
            filtered = np.empty_like(x)
            envelope = np.empty_like(x)
        for kind, cols in self._groups:
            xs = x if whole else x[:, cols]
            if kind == "emg":
                bp, rms = self._stages[kind]
                f = bp(xs)
                env = rms(f, square=True)
                np.maximum(env, 0.0, out=env)
                np.sqrt(env, out=env)
            elif kind == "emg_rms":
                hold, mean = self._stages[kind]
                f = xs.copy() if whole else xs
                env = mean(hold(xs))
            else:
                lp, tare = self._stages[kind]
                f = xs - tare
                env = lp(f) if lp is not None else f.copy()
            if _has_bad(xs):
                nan = ~np.isfinite(xs)
                if f is xs:
                    f = f.copy()
                f[nan] = np.nan
                env[nan] = np.nan
            if whole:
                return Processed(block.start, f, env)
            filtered[:, cols] = f
            envelope[:, cols] = env
        return Processed(block.start, filtered, envelope)


def envelope_offline(data: np.ndarray, info: StreamInfo, settings: ChainSettings | None = None,
                     block_samples: int = 65536, threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Run the live chain over a whole recording: (filtered, envelope).

    The same code as live, fed in cache-sized blocks (the output does not depend
    on the chunking), which is several times faster than one huge block.

    ``threads`` > 1 runs each channel's chain in its own thread (the chain treats channels independently, so
    the result is the same to the bit; scipy's filter and numpy release the interpreter lock): the review of a
    long session waits on this.
    """
    data = np.asarray(data)             # float32 from a recording: converted block by block, not copied whole
    if data.ndim == 1:
        data = data[:, None]
    filtered = np.empty(data.shape, dtype=np.float64)
    envelope = np.empty(data.shape, dtype=np.float64)

    def run(cols: slice) -> None:
        whole = cols == slice(None)
        sub = info if whole else StreamInfo(info.channels[cols], info.rate, info.source, info.device)
        chain = SignalChain(sub, settings if whole else copy.deepcopy(settings))
        for s in range(0, data.shape[0], block_samples):
            out = chain.process(Block(s, np.asarray(data[s:s + block_samples, cols], dtype=np.float64)))
            filtered[s:s + out.filtered.shape[0], cols] = out.filtered
            envelope[s:s + out.envelope.shape[0], cols] = out.envelope

    if threads > 1 and data.shape[1] > 1:
        with ThreadPoolExecutor(max_workers=min(threads, data.shape[1])) as pool:
            list(pool.map(run, [slice(c, c + 1) for c in range(data.shape[1])]))
    else:
        run(slice(None))
    return filtered, envelope


def pressure_lag_s(settings: ChainSettings | None = None, rate: float | None = None) -> float:
    """Delay of the pressure low-pass at slow changes (a 2nd-order Butterworth: sqrt(2) / (2 pi fc)).

    Latencies read on the filtered pressure include it (about 0.045 s at 5 Hz), as EMG latencies
    include half the RMS window; the analysis states it beside them.
    """
    fc = (settings or ChainSettings()).pressure_lowpass_hz
    if not fc or (rate is not None and fc >= 0.45 * rate):
        return 0.0
    return float(np.sqrt(2.0) / (2.0 * np.pi * fc))
