"""The window's frame loop: draw the newest snapshot, follow the exercise, update the status bar.

A mixin of :class:`~biofeedback.ui.main_window.MainWindow`; it only reads the engine
(snapshots, events, stats) and never filters or blocks.
"""
from __future__ import annotations

import math
import time

import numpy as np

from biofeedback.protocols.spans import span_at
from biofeedback.session.controller import primary_channel
from biofeedback.stream import Event
from biofeedback.ui.replay_bar import fmt_time

#: seconds without a new sample after which the readout says there is no signal (devices send every few ms)
NO_SIGNAL_S = 0.5


class FrameLoop:
    """Runs on the window's ~60 fps timer."""

    def _frame(self) -> None:
        engine = self.engine
        if engine is None:
            return
        t_now = float(engine.time_s)
        state = self.controller.protocol_state(t_now)
        if self.is_replay:
            band = self._show_recorded_step(float(self.source.position_s))
        else:
            band = self._active_band(state)
        self.plot.set_active_band(band)
        if self.patient_view_active:
            snap = engine.snapshot(0.25)
            value = float("nan") if self.plot.no_signal else self._last_value(snap)
            self.patient.set_level(value, self.plot.shown_bands, band)   # a step's own band, as the plot shows it
        elif not self.view_paused:
            raw = self.plot.wants_raw
            snap = self.plot.draw(lambda s, fresh: engine.snapshot(s, raw=raw, fresh=fresh), t_now, engine.info.rate)
            if snap is not None:
                self._arrivals[int(snap.end_index)] = float(getattr(snap, "arrival", 0.0) or 0.0)
        events, self._event_i = engine.events_since(self._event_i)
        for ev in events:
            self._on_event(ev)
        self.patient.show_state(state)                  # the breathing pacer in the patient view
        if state is not None:
            self._show_state(state, t_now)
        self.controller.poll()                 # an exercise that ended, a recording the engine closed
        now = time.monotonic()
        if now - self._last_slow >= 0.25:
            self._last_slow = now
            self._slow_update(t_now)

    def _active_band(self, state) -> str | None:
        if state is not None:
            return getattr(state.step, "band", None)
        if self.wizard is not None and self.wizard.run is not None and self.wizard.running:
            phase = self.wizard.run.phase_at(float(self.engine.time_s))
            return "contraction" if phase is not None and phase.kind == "contract" else "release"
        if self.is_replay:
            return None
        return "contraction" if self.practice_held else "release"

    def _show_recorded_step(self, t_s: float) -> str | None:
        """In a replay: the recorded exercise step at ``t_s`` gives the active band, its own band and the cue."""
        span = span_at(self._replay_spans, t_s)
        if span is None:
            self.plot.set_step_band_pct(None)
            if self.cue_text != "" or self.cue_detail != "":
                self._set_cue("", "")
            return None
        step = span.step
        self.plot.set_step_band_pct(step.band_pct if step.band == "contraction" else None)
        detail = f"{math.ceil(span.end_s - t_s):.0f} s"
        if step.cue != self.cue_text or detail != self.cue_detail:
            self._set_cue(step.cue, detail)
        return step.band

    def _last_value(self, snap) -> float:
        env = np.asarray(snap.envelope)
        if env.shape[0] == 0:
            return float("nan")
        col = env[:, primary_channel(self.engine.info)]
        finite = np.flatnonzero(np.isfinite(col))
        return float(col[finite[-1]]) if finite.size else float("nan")

    def _show_state(self, state, t_now: float) -> None:
        step = state.step
        detail = f"{math.ceil(state.remaining_s):.0f} s"
        if getattr(state, "next_step", None) is not None:
            detail += f" · next: {state.next_step.cue}"
        if step.cue != self.cue_text or detail != self.cue_detail:
            self._set_cue(step.cue, detail)
        if self.cue_panel is not None:
            if not self.cue_panel.isVisible():
                self.cue_panel.setVisible(True)
                self.cue_big.setVisible(False)
            self.cue_panel.update_state(state, t_now)

    def _on_event(self, ev: Event) -> None:
        if ev.kind == "summary":
            self._show_summary(dict(ev.data))
        elif ev.kind == "disconnected":
            self.show_banner("Sensor disconnected — recording keeps what came so far; waiting for it to come back")
        elif ev.kind == "reconnected":
            self.hide_banner()

    def _painted(self, end_index: int, t_paint: float) -> None:
        arrival = self._arrivals.pop(end_index, 0.0)
        if len(self._arrivals) > 256:
            self._arrivals.clear()
        if arrival > 0:
            self.latencies_ms.append(1000.0 * (t_paint - arrival))

    def _signal_lost(self) -> bool:
        """True when a live source has delivered no sample for :data:`NO_SIGNAL_S` (a sensor pulled out).

        A replay that is paused or ended delivers nothing by design: that is not a lost signal.
        """
        engine = self.engine
        if engine is None or self.is_replay:
            return False
        arrival = float(engine.snapshot(0.0, fresh=False).arrival or 0.0)
        return time.monotonic() - max(arrival, self._connected_at) > NO_SIGNAL_S

    def _slow_update(self, t_now: float) -> None:
        engine = self.engine
        if self._signal_lost():
            self.plot.show_no_signal()
        state = engine.stats.state
        if self.is_replay and getattr(self.source, "finished", False):
            state = "ended"
        elif self.is_replay and not self.replay_bar.playing:
            state = "paused"
        self.status_state.setText(f"● {state}")
        stats = engine.stats
        rate = getattr(stats, "measured_rate", None) if stats is not None else None
        self.status_rate.setText(f"{rate:.0f} Hz" if rate else f"{engine.info.rate:.0f} Hz nominal")
        dropped = getattr(stats, "dropped", 0) if stats is not None else 0
        self.status_dropped.setText(f"{dropped} dropped")
        if self.latencies_ms:
            self.status_latency.setText(f"display {np.median(self.latencies_ms):.0f} ms")
        if self.controller.is_recording:
            self.record_time.setText(fmt_time(self.controller.recording_elapsed_s)[:-2])
        elif engine.error:
            self.show_banner(engine.error)
        if self.is_replay:
            self.replay_bar.update_position(self.source.position_s, bool(self.source.finished))
