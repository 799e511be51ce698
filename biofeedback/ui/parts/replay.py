"""Replaying a recording: the replay bar, and the recorded exercise steps shown as they pass.

The steps come from the recording's own ``step`` events through the one rule for step spans
(:func:`biofeedback.protocols.spans.step_spans`), as analysis and reports read them.
"""
from __future__ import annotations

import math
from collections.abc import Callable

from biofeedback.protocols.spans import StepSpan, span_at, step_spans
from biofeedback.session.controller import SessionController
from biofeedback.sources import is_replay
from biofeedback.ui.liveplot import LivePlot
from biofeedback.ui.parts.cue import CuePart
from biofeedback.ui.replay_bar import ReplayBar


class ReplayPart:
    """The replay bar (play, seek, speed, events, review) and the replayed steps' band and cue."""

    def __init__(self, controller: SessionController, plot: LivePlot, cues: CuePart,
                 open_review: Callable[[str], object]) -> None:
        self.controller, self.plot, self.cues = controller, plot, cues
        self.spans: list[StepSpan] = []
        self.bar = ReplayBar()
        self.bar.setVisible(False)
        self.bar.review.clicked.connect(lambda: open_review(controller.spec.partition(":")[2].split("?")[0]))
        controller.connected.connect(self._connected)
        controller.disconnected.connect(lambda: self.bar.setVisible(False))

    @property
    def active(self) -> bool:
        return is_replay(self.controller.source)

    def _connected(self, _spec: str) -> None:
        source = self.controller.source
        if not self.active:
            self.bar.setVisible(False)
            self.spans = []
            return
        rec = source.recording
        self.bar.attach(source, source.duration_s, list(rec.events))
        self.spans = step_spans(rec.events, source.duration_s)
        self.bar.setVisible(True)

    def show_step(self) -> str | None:
        """The recorded step at the replay's position gives the active band, its own band and the cue."""
        t_s = float(self.controller.source.position_s)
        span = span_at(self.spans, t_s)
        if span is None:
            self.plot.set_step_band_pct(None)
            self.cues.show_if_new("", "")
            return None
        step = span.step
        self.plot.set_step_band_pct(step.band_pct if step.band == "contraction" else None)
        self.cues.show_if_new(step.cue, f"{math.ceil(span.end_s - t_s):.0f} s")
        return step.band

    def state(self, engine_state: str) -> str:
        """The source's state as the status line words it: a replay may be paused or ended."""
        if getattr(self.controller.source, "finished", False):
            return "ended"
        if not self.bar.playing:
            return "paused"
        return engine_state

    def update(self) -> None:
        source = self.controller.source
        self.bar.update_position(source.position_s, bool(source.finished))
