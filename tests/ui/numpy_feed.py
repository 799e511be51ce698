"""A small numpy feed that produces the engine's own Snapshot, for plot tests that need no engine thread."""
from __future__ import annotations

import numpy as np

from biofeedback.session.engine import DISPLAY_RATE, Snapshot
from biofeedback.stream import Channel, StreamInfo


class NumpyFeed:
    """Envelope = rest level with a contraction every 10 s (2..7 s); filtered = noise scaled by it; optional gap."""

    def __init__(self, rate: float = 2000.0, abd: bool = True, gap: tuple[float, float] | None = None,
                 rest_uv: float = 4.0, peak_uv: float = 60.0) -> None:
        chans = [Channel("pfm")] + ([Channel("abd")] if abd else [])
        self.info = StreamInfo(tuple(chans), rate, source="numpy")
        self.rate, self.gap, self.rest_uv, self.peak_uv = rate, gap, rest_uv, peak_uv
        self.step = max(1, int(round(rate / DISPLAY_RATE)))
        self.index = 0
        self._rng = np.random.default_rng(0)

    def advance(self, seconds: float) -> None:
        self.index += int(round(seconds * self.rate))

    def envelope_at(self, t: np.ndarray) -> np.ndarray:
        phase = np.mod(t, 10.0)
        act = np.clip(np.minimum(phase - 2.0, 7.0 - phase) * 2.0, 0.0, 1.0)
        return self.rest_uv + (self.peak_uv - self.rest_uv) * act

    def _channels(self, t: np.ndarray) -> np.ndarray:
        env = self.envelope_at(t)
        out = np.stack([env] + ([env * 0.3 + 2.0] if self.info.n_channels > 1 else []), axis=1)
        if self.gap is not None:
            out[(t >= self.gap[0]) & (t < self.gap[1])] = np.nan
        return out

    def snapshot(self, seconds: float, raw: bool = False) -> Snapshot:
        first = max(0, self.index - int(round(seconds * self.rate)))
        env_idx = np.arange(-(-first // self.step) * self.step, self.index, self.step)
        t = env_idx / self.rate
        snap = Snapshot(self.rate, self.index, 0.0, t, self._channels(t))
        if raw:
            raw_t = np.arange(first, self.index) / self.rate
            snap.raw_t = raw_t
            snap.filtered = self._channels(raw_t) * self._rng.standard_normal((raw_t.size, self.info.n_channels))
        return snap
