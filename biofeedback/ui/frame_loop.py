"""The window's frame loop: draw the newest signal, follow the exercise, update the status line.

It runs on the window's ~60 fps timer and only asks the parts to show what the controller and its
engine hold (snapshots, events, stats); it never filters or blocks.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6 import QtCore

from biofeedback.stream import Event

if TYPE_CHECKING:
    from biofeedback.ui.main_window import MainWindow

FRAME_MS = 16
SLOW_S = 0.25        # status line, recording timer, replay position, the no-signal watch


class FrameLoop:
    """Ticks the window's parts: every frame the plot, the cue and the engine's events; a few times a second
    the status line, the recording's timer and the replay bar."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.controller = window.controller
        self._event_i = 0
        self._last_slow = 0.0
        self.timer = QtCore.QTimer(window)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.frame)
        self.controller.connected.connect(self._connected)
        self.controller.disconnected.connect(self.timer.stop)

    def _connected(self, _spec: str) -> None:
        self._event_i = 0
        self.timer.start()

    def frame(self) -> None:
        w, c = self.window, self.controller
        engine = c.engine
        if engine is None:
            return
        t_now = float(engine.time_s)
        state = c.protocol_state(t_now)
        if w.replay.active:
            band = w.replay.show_step()
        else:                                  # a running step's own %MVC band shows while it runs
            w.plot.set_step_band_pct(getattr(state.step, "band_pct", None) if state is not None else None)
            band = w.controls.active_band(state)
        w.plot.set_active_band(band)
        if w.patient_view_active:
            w.patient.set_level(w.plot_part.newest_value(), w.plot.shown_bands, band)   # a step's own band
        elif not w.view_paused:
            w.plot_part.draw()
        events, self._event_i = engine.events_since(self._event_i)
        for ev in events:
            self._on_event(ev)
        w.patient.show_state(state)                     # the breathing pacer in the patient view
        if state is not None:
            w.cues.show_state(state, t_now)
        c.poll()                               # an exercise that ended, a recording the engine closed
        now = time.monotonic()
        if now - self._last_slow >= SLOW_S:
            self._last_slow = now
            self._slow_update()

    def _on_event(self, ev: Event) -> None:
        status = self.window.status
        if ev.kind == "summary":
            self.window.cues.show_summary(dict(ev.data))
        elif ev.kind == "disconnected":
            status.show_banner("Sensor disconnected — recording keeps what came so far; waiting for it to come back")
        elif ev.kind == "reconnected":
            status.hide_banner()

    def _slow_update(self) -> None:
        w = self.window
        w.plot_part.watch_signal()
        state = self.controller.engine.stats.state
        if w.replay.active:
            state = w.replay.state(state)
        elif w.plot.no_signal and state == "streaming":    # the source thinks so, but nothing comes
            state = "no signal"
        w.status.update(state, w.plot_part.latencies_ms)
        w.recording.update()
        if w.replay.active:
            w.replay.update()
