"""A small numpy feed shaped like the engine's snapshots, for plot tests that need no engine."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from biofeedback.stream import Channel, StreamInfo


@dataclass
class FeedSnapshot:
    t: np.ndarray
    filtered: np.ndarray
    envelope: np.ndarray
    end_index: int
    rate: float
    arrival: float = 0.0


class NumpyFeed:
    """Envelope = rest level with contractions every 10 s; filtered = noise scaled by it; NaN gap optional."""

    def __init__(self, rate: float = 2000.0, abd: bool = True, gap: tuple[float, float] | None = None,
                 rest_uv: float = 4.0, peak_uv: float = 60.0) -> None:
        chans = [Channel("pfm")] + ([Channel("abd")] if abd else [])
        self.info = StreamInfo(tuple(chans), rate, source="numpy")
        self.rate, self.gap, self.rest_uv, self.peak_uv = rate, gap, rest_uv, peak_uv
        self.index = 0
        self._rng = np.random.default_rng(0)

    def advance(self, seconds: float) -> None:
        self.index += int(round(seconds * self.rate))

    def envelope_at(self, t: np.ndarray) -> np.ndarray:
        phase = np.mod(t, 10.0)
        act = np.clip(np.minimum(phase - 2.0, 7.0 - phase) * 2.0, 0.0, 1.0)
        return self.rest_uv + (self.peak_uv - self.rest_uv) * act

    def snapshot(self, seconds: float) -> FeedSnapshot:
        n = min(self.index, int(round(seconds * self.rate)))
        idx = np.arange(self.index - n, self.index)
        t = idx / self.rate
        env = self.envelope_at(t)
        envs = np.stack([env] + ([env * 0.3 + 2.0] if self.info.n_channels > 1 else []), axis=1)
        filt = envs * self._rng.standard_normal(envs.shape)
        if self.gap is not None:
            g = (t >= self.gap[0]) & (t < self.gap[1])
            envs[g] = np.nan
            filt[g] = np.nan
        return FeedSnapshot(t, filt, envs, self.index, self.rate)
