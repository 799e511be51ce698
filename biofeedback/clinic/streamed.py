"""A recording's filtered signal and envelope at full rate, in bounded memory, read stretch by stretch.

Why: the analysis looks at every step of a session through the band-passed EMG and the envelope at the
recording's own rate (0.5-1 s RMS windows, spikes, median frequency, latencies). Holding both for an
8-hour 2 kHz recording takes gigabytes. The signal chain is causal and keeps its state from block to
block, so one pass through the file stores a copy of that state every :data:`CHECKPOINT_S` seconds;
any stretch is then recomputed from the checkpoint before it, sample for sample the same as processing
the whole recording at once. Recent stretches are cached, so the analysis (which visits each step a few
times, mostly in order) runs the chain only a little more than twice over the recording.
"""
from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np

from biofeedback.files.recording import Recording
from biofeedback.stream import Block

#: Seconds between two saved chain states (also the unit of the cache).
CHECKPOINT_S = 30.0
#: Samples (per channel) of recomputed signal kept in the cache, at most.
CACHE_SAMPLES = 1_500_000


class StreamedChain:
    """Filtered signal and envelope of every channel of ``rec``, recomputed on demand from checkpoints."""

    def __init__(self, rec: Recording, settings) -> None:
        from biofeedback.signal.chain import SignalChain
        self.rec = rec
        self.n = rec.n_samples
        self.seg = max(1, int(round(CHECKPOINT_S * rec.rate)))
        self._states: list[SignalChain] = []
        self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._max_segments = max(2, CACHE_SAMPLES // self.seg)
        chain = SignalChain(rec.info, settings)
        for blk in rec.iter_blocks(self.seg):   # one pass: the state at the start of every segment
            self._states.append(copy.deepcopy(chain))
            out = chain.process(blk)
            self._keep(blk.start // self.seg, out.filtered, out.envelope)
        if not self._states:
            self._states.append(chain)

    def _keep(self, j: int, filtered: np.ndarray, envelope: np.ndarray) -> None:
        self._cache[j] = (np.asarray(filtered, dtype=np.float64), np.asarray(envelope, dtype=np.float64))
        self._cache.move_to_end(j)
        while len(self._cache) > self._max_segments:
            self._cache.popitem(last=False)

    def _segment(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        hit = self._cache.get(j)
        if hit is not None:
            self._cache.move_to_end(j)
            return hit
        chain = copy.deepcopy(self._states[j])
        a = j * self.seg
        raw = self.rec.read(a, min(a + self.seg, self.n))
        out = chain.process(Block(a, raw))
        self._keep(j, out.filtered, out.envelope)
        return self._cache[j]

    def stretch(self, a: int, b: int, which: int, col: int) -> np.ndarray:
        """Samples ``a:b`` of one channel's filtered (``which`` 0) or envelope (1) signal."""
        a, b = max(0, min(a, self.n)), max(0, min(b, self.n))
        if b <= a:
            return np.empty(0)
        parts = []
        for j in range(a // self.seg, (b - 1) // self.seg + 1):
            x = self._segment(j)[which][:, col]
            lo, hi = max(a - j * self.seg, 0), min(b - j * self.seg, x.shape[0])
            parts.append(x[lo:hi])
        return parts[0].copy() if len(parts) == 1 else np.concatenate(parts)

    def trace(self, which: int, col: int) -> Trace:
        return Trace(self, which, col)


class _Column:
    """One channel read a stretch at a time, sliced like a 1-D array (``x[a:b]``, ``x[k]``, ``len(x)``):
    what the analysis indexes instead of holding a whole long recording in memory."""

    ndim = 1

    def _length(self) -> int:
        raise NotImplementedError

    def _stretch(self, a: int, b: int) -> np.ndarray:
        raise NotImplementedError

    def __len__(self) -> int:
        return self._length()

    @property
    def size(self) -> int:
        return self._length()

    @property
    def shape(self) -> tuple[int]:
        return (self._length(),)

    def __getitem__(self, key):
        n = self._length()
        if isinstance(key, slice):
            a, b, step = key.indices(n)
            if step < 0:
                raise TypeError(f"{self.WHAT} is read forwards")
            x = self._stretch(a, b)
            return x if step == 1 else x[::step]
        if isinstance(key, (int, np.integer)):
            k = int(key) + (n if key < 0 else 0)
            return self._stretch(k, k + 1)[0]
        raise TypeError(f"{self.WHAT} is read in slices")

    WHAT = "a column"


class Trace(_Column):
    """One channel's filtered signal or envelope, recomputed from the chain's saved state."""

    WHAT = "a streamed trace"

    def __init__(self, source: StreamedChain, which: int, col: int) -> None:
        self._src, self._which, self._col = source, which, col

    def _length(self) -> int:
        return self._src.n

    def _stretch(self, a: int, b: int) -> np.ndarray:
        return self._src.stretch(a, b, self._which, self._col)


class RawColumn(_Column):
    """One channel's raw samples, read from the file a stretch at a time."""

    WHAT = "a raw column"

    def __init__(self, rec: Recording, col: int) -> None:
        self._rec, self._col = rec, col

    def _length(self) -> int:
        return self._rec.n_samples

    def _stretch(self, a: int, b: int) -> np.ndarray:
        return self._rec.read(a, b)[:, self._col]
