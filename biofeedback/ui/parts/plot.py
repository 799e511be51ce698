"""The live plot as a part of the window: drawing the engine's newest signal, the bands on it, and
telling when no signal arrives.

The plot only reads the engine (snapshots) and never filters or blocks; its dragged band edges go into
the controller's bands model like every other edit of the bands (see :mod:`biofeedback.ui.parts.bands`).
"""
from __future__ import annotations

import collections
import time

import numpy as np

from biofeedback.session.controller import SessionController, primary_channel
from biofeedback.sources import is_replay
from biofeedback.ui.liveplot import LivePlot
from biofeedback.ui.parts.bands import BandsBinding
from biofeedback.ui.theme import Theme

#: seconds without a new sample after which the readout says there is no signal (devices send every few ms)
NO_SIGNAL_S = 0.5


class PlotPart:
    """The live plot with its readout; the display latency it measures; the no-signal watch."""

    def __init__(self, controller: SessionController, theme: Theme) -> None:
        self.controller = controller
        self.plot = LivePlot(theme)
        self.bands = BandsBinding(controller, self.plot, self.plot.bandsEdited)
        self.plot.framePainted.connect(self._painted)
        self._arrivals: dict[int, float] = {}
        self.latencies_ms: collections.deque[float] = collections.deque(maxlen=120)
        self._connected_at = 0.0
        controller.connected.connect(self._connected)

    def _connected(self, _spec: str) -> None:
        self._arrivals.clear()
        self.latencies_ms.clear()
        self._connected_at = time.monotonic()
        self.plot.configure(self.controller.engine.info)
        self.bands.refresh()

    def draw(self) -> None:
        """Draw what arrived since the last frame (only what is new, in a sweep)."""
        engine = self.controller.engine
        raw = self.plot.wants_raw
        snap = self.plot.draw(lambda s, fresh: engine.snapshot(s, raw=raw, fresh=fresh),
                              float(engine.time_s), engine.info.rate)
        if snap is not None:
            self._arrivals[int(snap.end_index)] = float(getattr(snap, "arrival", 0.0) or 0.0)

    def newest_value(self) -> float:
        """The newest value of the banded channel (NaN while there is no signal), for the patient's bar."""
        if self.plot.no_signal:
            return float("nan")
        engine = self.controller.engine
        env = np.asarray(engine.snapshot(0.25).envelope)
        if env.shape[0] == 0:
            return float("nan")
        col = env[:, primary_channel(engine.info)]
        finite = np.flatnonzero(np.isfinite(col))
        return float(col[finite[-1]]) if finite.size else float("nan")

    def watch_signal(self) -> None:
        """A live source that has delivered no sample for :data:`NO_SIGNAL_S` (a sensor pulled out): say so.

        A replay that is paused or ended delivers nothing by design: that is not a lost signal.
        """
        engine = self.controller.engine
        if engine is None or is_replay(self.controller.source):
            return
        arrival = float(engine.snapshot(0.0, fresh=False).arrival or 0.0)
        if time.monotonic() - max(arrival, self._connected_at) > NO_SIGNAL_S:
            self.plot.show_no_signal()

    def _painted(self, end_index: int, t_paint: float) -> None:
        arrival = self._arrivals.pop(end_index, 0.0)
        if len(self._arrivals) > 256:
            self._arrivals.clear()
        if arrival > 0:
            self.latencies_ms.append(1000.0 * (t_paint - arrival))
