"""A sweep trace: the newest signal is written over the oldest, left to right, like a clinical monitor.

Why: in a scrolling plot every point moves every frame, so Qt repaints the whole
plot area (background, bands, axes, curves) 60 times a second; on these
machines that alone costs more than the display's CPU budget (shared/PLATFORM.md).
In a sweep only the few pixels just written, and the blank gap ahead of them,
change: the item marks only that strip dirty, and Qt repaints only the strip.
The trace is the same envelope; the "now" point is the moving edge before the gap.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets


class SweepCurve(pg.GraphicsObject):
    """``capacity`` points spaced ``dt`` seconds across ``[0, capacity*dt)``; :meth:`write` adds new points.

    Points are addressed by an absolute point number ``k`` (sample index // step):
    point ``k`` lives at column ``k % capacity``. A blank gap of ``gap_s`` seconds is kept
    ahead of the newest point. Inside ``band`` the trace is drawn with ``band_pen``.
    """

    def __init__(self, pen: QtGui.QPen, band_pen: QtGui.QPen | None = None, gap_s: float = 0.25) -> None:
        super().__init__()
        self.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.pen, self.band_pen, self.gap_s = pen, band_pen, gap_s
        self.band: tuple[float, float] | None = None
        self.y_extent = (0.0, 1.0)
        self.reset(2000, 0.005)

    # ------------------------------------------------------------------ data
    def reset(self, capacity: int, dt: float) -> None:
        """Clear the sweep: ``capacity`` points ``dt`` seconds apart."""
        self.capacity, self.dt = int(capacity), float(dt)
        self.x = np.arange(self.capacity + 1, dtype=np.float64) * self.dt
        self.y = np.full(self.capacity + 1, np.nan)   # one spare column so the last segment can close the sweep
        self.head = -1                                # absolute number of the newest point written
        self.gap = max(1, int(round(self.gap_s / self.dt)))
        self.prepareGeometryChange()
        self.update()

    @property
    def width_s(self) -> float:
        return self.capacity * self.dt

    @property
    def newest(self) -> float:
        """The newest value written (NaN before any)."""
        return float(self.y[self.head % self.capacity]) if self.head >= 0 else float("nan")

    def write(self, first: int, values: np.ndarray) -> None:
        """Write consecutive points ``first, first+1, ...``; points at or before :attr:`head` are skipped."""
        values = np.asarray(values, dtype=np.float64)
        skip = max(0, self.head + 1 - first)
        if skip >= values.size:
            return
        first, values = first + skip, values[skip:]
        if self.head >= 0 and first > self.head + 1:        # a jump (after a seek or lost frames): blank between
            self._blank(self.head + 1, min(first, self.head + 1 + self.capacity))
        if values.size > self.capacity:
            first, values = first + values.size - self.capacity, values[-self.capacity:]
        old_head = self.head
        new_head = first + values.size - 1
        # the stretch the moving gap erases now, and the point just after it (its segment changes too)
        erased = self.y[np.arange(max(old_head, first - 1) + self.gap + 1, new_head + self.gap + 2) % self.capacity]
        cols = (first + np.arange(values.size)) % self.capacity
        self.y[cols] = values
        self.head = new_head
        self._blank(self.head + 1, self.head + 1 + self.gap)
        self._sync_spare()
        if old_head >= 0 and old_head >= first - 1:
            # only two small boxes change: the points just written, and the far edge of the blank gap
            written = self.y[np.arange(old_head, self.head + 1) % self.capacity]
            self._dirty(old_head, self.head + 1, written)
            self._dirty(old_head + self.gap, self.head + 1 + self.gap, erased)
        else:
            self._dirty(first, self.head + 1 + self.gap)

    def _blank(self, k0: int, k1: int) -> None:
        if k1 <= k0:
            return
        cols = np.arange(k0, k1) % self.capacity
        self.y[cols] = np.nan

    def _sync_spare(self) -> None:
        # the spare column at x = width continues column 0 only while column capacity-1 is the newest
        self.y[self.capacity] = self.y[0] if (self.head % self.capacity) == self.capacity - 1 else np.nan

    def _dirty(self, k0: int, k1: int, values: np.ndarray | None = None) -> None:
        """Mark points k0..k1 (absolute, ends widened by a segment) for repaint; with ``values``, only the
        height those values span (the trace cannot have changed pixels elsewhere in the strip)."""
        if k1 - k0 >= self.capacity:
            self.update()
            return
        lo, hi = self.y_extent
        if values is not None:
            finite = values[np.isfinite(values)]
            if finite.size == 0:
                return                                   # nothing was or is drawn there
            lo, hi = max(lo, float(finite.min())), min(hi, float(finite.max()))
        c0, c1 = k0 % self.capacity, k1 % self.capacity
        if c0 <= c1:
            self._update_box(c0 - 1, c1 + 1, lo, hi)
        else:
            self._update_box(c0 - 1, self.capacity, lo, hi)
            self._update_box(0, c1 + 1, lo, hi)

    def _update_box(self, c0: int, c1: int, lo: float, hi: float) -> None:
        px = self.pixelWidth() or self.dt
        py = self.pixelHeight() or 0.0
        mx, my = 3 * px, 3 * py                          # the pen's width, and a pixel of rounding
        self.update(QtCore.QRectF(c0 * self.dt - mx, lo - my, (c1 - c0) * self.dt + 2 * mx, hi - lo + 2 * my))

    def getData(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of the sweep's columns (x in seconds across the sweep; NaN = blank)."""
        return self.x[:self.capacity], self.y[:self.capacity]

    def clear(self) -> None:
        self.y[:] = np.nan
        self.head = -1
        self.update()

    # ------------------------------------------------------------------ style
    def set_band(self, band: tuple[float, float] | None) -> None:
        if band != self.band:
            self.band = band
            self.update()

    def set_y_extent(self, low: float, high: float) -> None:
        if (low, high) != self.y_extent:
            self.prepareGeometryChange()
            self.y_extent = (float(low), float(high))
            self.update()

    # ------------------------------------------------------------------ painting
    def boundingRect(self) -> QtCore.QRectF:
        lo, hi = self.y_extent
        return QtCore.QRectF(0.0, lo, self.width_s, hi - lo)

    def paint(self, p: QtGui.QPainter, opt: QtWidgets.QStyleOptionGraphicsItem, widget=None) -> None:
        exposed = opt.exposedRect if opt is not None else self.boundingRect()
        i0 = max(0, int(math.floor(exposed.left() / self.dt)) - 1)
        i1 = min(self.capacity + 1, int(math.ceil(exposed.right() / self.dt)) + 2)
        if i1 - i0 < 2:
            return
        x, y = self.x[i0:i1], self.y[i0:i1]
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        p.setPen(self.pen)
        _draw_runs(p, x, y)
        if self.band is not None and self.band_pen is not None:
            lo, hi = self.band
            with np.errstate(invalid="ignore"):
                inside = np.where((y >= lo) & (y <= hi), y, np.nan)
            p.setPen(self.band_pen)
            _draw_runs(p, x, inside)


def _draw_runs(p: QtGui.QPainter, x: np.ndarray, y: np.ndarray) -> None:
    """Draw each finite run of points as a polyline (NaN = a break); short strips need no path building."""
    finite = np.isfinite(y)
    if not finite.any():
        return
    if y.size > 64:
        p.drawPath(pg.functions.arrayToQPath(x, y, connect="finite"))
        return
    edges = np.flatnonzero(np.diff(np.concatenate(([0], finite.view(np.int8), [0]))))
    for a, b in zip(edges[0::2], edges[1::2]):
        if b - a >= 2:
            p.drawPolyline(QtGui.QPolygonF([QtCore.QPointF(float(xi), float(yi))
                                            for xi, yi in zip(x[a:b], y[a:b])]))
