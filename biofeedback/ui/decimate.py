"""Peak (min/max) decimation for drawing: about two points per screen pixel, NaN gaps kept."""
from __future__ import annotations

import numpy as np


def bucket_size(n_samples: int, pixels: int, points_per_pixel: float = 2.0) -> int:
    """Samples per min/max bucket so that ``n_samples`` draw as about ``points_per_pixel`` per pixel."""
    return max(1, int(np.ceil(n_samples * 2.0 / max(1.0, pixels * points_per_pixel))))


def peak_decimate(y: np.ndarray, first_index: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of each ``k``-sample bucket of ``y`` (buckets aligned to absolute sample indices).

    Returns ``(index, value)``: sample indices (float) and values, two points per
    bucket (min then max, in time order of the bucket), so the shape does not
    shimmer as the window scrolls. A bucket of only NaN stays NaN (a gap).
    """
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    if k <= 1 or n < 2 * k:
        return first_index + np.arange(n, dtype=np.float64), y
    head = (-first_index) % k                      # samples before the first aligned boundary
    body_n = ((n - head) // k) * k
    parts_i, parts_v = [], []
    if head:
        parts_i.append(first_index + np.arange(head, dtype=np.float64))
        parts_v.append(y[:head])
    body = y[head:head + body_n].reshape(-1, k)
    with np.errstate(invalid="ignore"):
        lo = np.fmin.reduce(body, axis=1)
        hi = np.fmax.reduce(body, axis=1)
    starts = first_index + head + np.arange(body.shape[0], dtype=np.float64) * k
    idx = np.empty(2 * body.shape[0])
    val = np.empty(2 * body.shape[0])
    idx[0::2], idx[1::2] = starts, starts + k / 2.0
    val[0::2], val[1::2] = lo, hi
    parts_i.append(idx)
    parts_v.append(val)
    tail = n - head - body_n
    if tail:
        parts_i.append(first_index + head + body_n + np.arange(tail, dtype=np.float64))
        parts_v.append(y[head + body_n:])
    return np.concatenate(parts_i), np.concatenate(parts_v)
