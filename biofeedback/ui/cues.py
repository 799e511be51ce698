"""Guided-exercise widgets: the cue panel (what to do now, for how long, what comes next) and a breathing pacer.

Both are self-contained ``QWidget`` subclasses driven from outside with explicit
stream times, never by their own clock, so a replay, a simulation at any speed
and a test all show the same thing::

    panel = CuePanel()
    panel.update_state(runner.current(t_s), t_s)   # on every frame; None when no step runs

or, without a runner of your own::

    panel.set_protocol(protocol, start_s=0.0)
    panel.set_time(t_s)

Colours are the Okabe-Ito pair that colour-blind eyes tell apart (blue for the
release band, orange for the contraction band), and the band is always named in
words as well. The optional step-change tone is ``QApplication.beep()``:
PySide6-Essentials has no QtMultimedia, and on some desktops the beep is silent.
"""
from __future__ import annotations

import html
import math

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import (
    QApplication,
    QBoxLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from biofeedback.protocols import INHALE_FRACTION, Protocol, ProtocolRunner, Step, StepState
from biofeedback.signal.sound import breath_shape
from biofeedback.ui.theme import Theme, blend

# Okabe-Ito: blue / sky blue for release, orange / vermillion for contraction; neutral greys.
RELEASE_COLOR = QColor("#0072B2")
RELEASE_LIGHT = QColor("#56B4E9")
CONTRACTION_COLOR = QColor("#E69F00")
NEUTRAL_COLOR = QColor("#5A6472")
BACKGROUND = QColor("#F6F8FB")
TEXT = QColor("#15202B")
MUTED = QColor("#4A5563")

_BAND_WORDS = {"release": "Release band", "contraction": "Contraction band", None: "Free"}


class CueColours:
    """The panel's and pacer's colours for a theme (light by default), so the dark theme covers them too."""

    def __init__(self, theme: Theme | None = None) -> None:
        dark = theme is not None and theme.name == "dark"
        self.background = QColor(theme.panel) if theme is not None else BACKGROUND
        self.text = QColor(theme.foreground) if theme is not None else TEXT
        self.muted = QColor(theme.muted) if theme is not None else MUTED
        self.track = QColor(blend(theme.foreground, theme.panel, 0.18)) if theme is not None else QColor("#DDE3EA")
        self.breath_text = RELEASE_LIGHT if dark else RELEASE_COLOR      # readable on either background


def band_color(band: str | None) -> QColor:
    """The colour that stands for a target band."""
    return {"release": RELEASE_COLOR, "contraction": CONTRACTION_COLOR}.get(band, NEUTRAL_COLOR)


def format_countdown(seconds: float) -> str:
    """Whole seconds left, rounded up: ``7``, or ``1:05`` from a minute on."""
    s = max(0, int(math.ceil(seconds - 1e-9)))
    return f"{s // 60}:{s % 60:02d}" if s >= 60 else str(s)


def breath_size(phase: float) -> float:
    """How full the lungs are, 0..1, at ``phase`` through a breath (smooth in, long smooth out)."""
    return float(breath_shape(np.asarray(phase, dtype=float), INHALE_FRACTION))   # the same breath as the pacer's sound


def summary_lines(summary: dict) -> list[str]:
    """A finished session in a few plain sentences: resting tone, letting go, time in band, strength."""
    unit, u = ("cmH2O", "cmh2o") if str(summary.get("unit", "")).lower().startswith("cmh2o") else ("µV", "uv")

    def num(key: str, fmt: str = "{:.1f}") -> str | None:
        v = summary.get(key)
        return None if v is None else fmt.format(v)

    lines = []
    pre, post = num(f"resting_tone_{u}"), num(f"post_resting_tone_{u}")
    if pre:
        lines.append(f"Resting tone {pre} {unit}" + (f", at the end {post} {unit}" if post else ""))
    trials = summary.get("trials") or 0
    if trials:
        released = summary.get("trials_released") or 0
        key = "release_latency_released_s" if "release_latency_released_s" in summary else "release_latency_s"
        latency = num(key)
        average = f", in {latency} s on average" if latency else ""
        lines.append(f"Let go fully in {released} of {trials} tries{average}")
    band = num("time_in_band_pct", "{:.0f}")
    if band:
        lines.append(f"In the target band {band} % of the time")
    peak = num(f"contraction_peak_{u}")
    if peak:   # pressure: the rise above the resting pressure, not the probe's absolute reading
        lines.append(f"Squeeze peak {peak} {unit} above rest" if u == "cmh2o" else f"Contraction peak {peak} {unit}")
    return lines


class FitLabel(QLabel):
    """A label whose font shrinks (from ``max_px`` down to ``min_px``) until its text fits its box.

    A one-line label that still does not fit at ``min_px`` is elided with "…"; :meth:`full_text`
    keeps the whole text.
    """

    def __init__(self, max_px: int, min_px: int, bold: bool = False, wrap: bool = True) -> None:
        super().__init__("")
        self.max_px, self.min_px, self.bold = max_px, min_px, bold
        self._full = ""
        self.setWordWrap(wrap)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored if wrap
                           else QSizePolicy.Policy.Preferred)
        self.setMinimumSize(0, 0)
        self._fit()

    def full_text(self) -> str:
        return self._full

    def font_for(self, px: int) -> QFont:
        f = QFont(self.font())
        f.setBold(self.bold)
        f.setPixelSize(px)
        return f

    def set_limits(self, max_px: int, min_px: int) -> None:
        self.max_px, self.min_px = max(min_px, max_px), min_px
        self._fit()

    def setText(self, text: str) -> None:
        if text != self._full:
            self._full = text
            self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        w, h = max(1, self.width() - 4), max(1, self.height())
        flags = int(Qt.AlignmentFlag.AlignCenter) | (int(Qt.TextFlag.TextWordWrap) if self.wordWrap() else 0)
        text = self._full
        px = self.max_px
        f = QFont(self.font())
        f.setBold(self.bold)
        while px > self.min_px:
            f.setPixelSize(px)
            r = QFontMetrics(f).boundingRect(0, 0, w, 100000, flags, text or " ")
            if r.width() <= w and (r.height() <= h or not self.wordWrap()):
                break
            px -= 1
        f.setPixelSize(max(self.min_px, px))
        if f != self.font():
            super().setFont(f)
            if not self.wordWrap():
                self.setMinimumHeight(QFontMetrics(self.font_for(self.max_px)).height() + 6)
            self.updateGeometry()
        shown = text if self.wordWrap() else QFontMetrics(f).elidedText(text, Qt.TextElideMode.ElideRight, w)
        if shown != super().text():
            super().setText(shown)


class BreathingPacer(QWidget):
    """A calm circle that grows on the in-breath and shrinks on the out-breath, with the words to match.

    Drive it with :meth:`update_state` (a :class:`StepState` whose step has a breathing pace) or
    :meth:`set_phase`. Default pace 6 breaths a minute: 4 s in, 6 s out.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._phase: float | None = None
        self._bpm = 6.0
        self.colours = CueColours()
        self.setMinimumSize(120, 150)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Breathing pacer")

    def set_theme(self, theme: Theme) -> None:
        self.colours = CueColours(theme)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(260, 300)

    @property
    def phase(self) -> float | None:
        return self._phase

    @property
    def breathing_in(self) -> bool | None:
        return None if self._phase is None else self._phase < INHALE_FRACTION

    def instruction(self) -> str:
        """The words under the circle: ``Breathe in`` or ``Breathe out``."""
        if self._phase is None:
            return ""
        return "Breathe in" if self.breathing_in else "Breathe out"

    def set_phase(self, phase: float | None, bpm: float | None = None) -> None:
        """Show ``phase`` (0..1 through the breath; None for no pacing) at ``bpm`` breaths a minute."""
        self._phase = None if phase is None else float(phase) % 1.0
        if bpm:
            self._bpm = float(bpm)
        self.setAccessibleDescription(self.instruction())
        self.update()

    def update_state(self, state: StepState | None, t_s: float | None = None) -> None:
        """Follow a running protocol (``t_s`` is accepted for symmetry with :class:`CuePanel`)."""
        if state is None or state.breathing_phase is None:
            self.set_phase(None)
        else:
            self.set_phase(state.breathing_phase, state.step.breathing_bpm)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = self.width(), self.height()
        text_h = max(44.0, h * 0.2)
        side = min(w, h - text_h) - 12
        cx, cy = w / 2.0, (h - text_h) / 2.0 + 4
        r_max = max(10.0, side / 2.0)
        r_min = r_max * 0.38
        # guide ring: where a full breath reaches
        guide = QPen(RELEASE_LIGHT)
        guide.setWidthF(2.0)
        guide.setStyle(Qt.PenStyle.DashLine)
        p.setPen(guide)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(QRectF(cx - r_max, cy - r_max, 2 * r_max, 2 * r_max))
        if self._phase is not None:
            r = r_min + (r_max - r_min) * breath_size(self._phase)
            fill = QColor(RELEASE_LIGHT)
            fill.setAlpha(150)
            p.setBrush(fill)
            edge = QPen(RELEASE_COLOR)
            edge.setWidthF(3.0)
            p.setPen(edge)
            p.drawEllipse(QRectF(cx - r, cy - r, 2 * r, 2 * r))
        font = QFont(self.font())
        font.setBold(True)
        px = int(max(14, min(34, text_h * 0.5)))
        font.setPixelSize(px)
        while px > 12 and QFontMetrics(font).horizontalAdvance("Breathe gently") > w - 8:
            px -= 1
            font.setPixelSize(px)
        p.setFont(font)
        p.setPen(self.colours.breath_text if self._phase is not None else self.colours.muted)
        words = self.instruction() or "Breathe gently"
        p.drawText(QRectF(0, h - text_h, w, text_h * 0.62), Qt.AlignmentFlag.AlignCenter, words)
        small = QFont(self.font())
        small.setPixelSize(int(max(12, min(16, text_h * 0.24))))
        p.setFont(small)
        p.setPen(self.colours.muted)
        p.drawText(QRectF(0, h - text_h * 0.40, w, text_h * 0.40), Qt.AlignmentFlag.AlignCenter,
                   f"{self._bpm:g} breaths a minute")
        p.end()


class CuePanel(QFrame):
    """What to do now, in large words: the cue, a countdown, the step's progress, what comes next.

    :meth:`update_state` (``StepState | None``, stream time) is the whole API for a caller that runs its
    own :class:`~biofeedback.protocols.ProtocolRunner`; :meth:`set_protocol` + :meth:`set_time` let the
    panel follow a protocol by itself. ``stepChanged(index)`` fires when a new step shows; with
    ``tone_enabled`` a short system beep marks it.
    """

    stepChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tone_enabled = False
        self._runner: ProtocolRunner | None = None
        self._index: int | None = None
        self._shown_any = False
        self._state: StepState | None = None
        self.setObjectName("CuePanel")
        self.setAccessibleName("Exercise cue")
        self.setAutoFillBackground(True)
        self.colours = CueColours()
        self._band: str | None = None
        self._paint_background()

        self.header = FitLabel(18, 11, wrap=False)
        self.header.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.band_tag = QLabel("")
        self.band_tag.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.cue_label = FitLabel(52, 18, bold=True)
        self.cue_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.countdown = QLabel("")
        self.countdown.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom)
        self.countdown_unit = QLabel("")
        self.summary_label = QLabel("")
        self.summary_label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.summary_label.setTextFormat(Qt.TextFormat.RichText)
        self.summary_label.setWordWrap(True)
        self.summary_label.setVisible(False)
        self.countdown_unit.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.next_label = FitLabel(24, 12, wrap=False)
        self.next_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.next_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pacer = BreathingPacer()
        self.pacer.setVisible(False)

        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.band_tag, 0)
        # the countdown sits under the cue (a roomy panel) or left of it (a low strip above a plot)
        self._count_col = QVBoxLayout()
        self._count_col.setSpacing(0)
        self._text_col = QVBoxLayout()
        self._text_col.setSpacing(6)
        self._text_col.addWidget(self.cue_label, 3)
        self._text_col.addWidget(self.summary_label, 2)
        self._text_col.addSpacing(6)
        self._text_col.addWidget(self.progress, 0)
        self._text_col.addSpacing(8)
        self._text_col.addWidget(self.next_label, 0)
        body = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self._body = body
        body.setSpacing(18)
        body.addLayout(self._count_col, 0)
        body.addLayout(self._text_col, 3)
        body.addWidget(self.pacer, 2)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(22, 16, 22, 18)
        outer.setSpacing(10)
        outer.addLayout(top)
        outer.addLayout(body, 1)
        self._strip: bool | None = None
        self._summary: dict | None = None
        self._set_strip(False)
        self._apply_fonts()
        self._show_idle("Choose an exercise to begin", "")

    def set_theme(self, theme: Theme) -> None:
        """Follow the window's light or dark theme (the panel, its words, its progress bar and the pacer)."""
        self.colours = CueColours(theme)
        self.pacer.set_theme(theme)
        self._paint_background()
        self._set_band(self._band, hidden=not self.band_tag.isVisible())
        self._colour_labels()

    def _paint_background(self) -> None:
        pal = self.palette()
        pal.setColor(self.backgroundRole(), self.colours.background)
        pal.setColor(self.foregroundRole(), self.colours.text)
        self.setPalette(pal)
        # a style sheet as well: a window's own style sheet restores the palette each time it is re-applied
        self.setStyleSheet(f"QFrame#CuePanel {{ background:{self.colours.background.name()}; }}")

    # ------------------------------------------------------------------ API

    @property
    def state(self) -> StepState | None:
        """The state shown now (None when idle or finished)."""
        return self._state

    def set_protocol(self, protocol: Protocol | None, start_s: float = 0.0) -> None:
        """Follow ``protocol`` from stream time ``start_s`` (use with :meth:`set_time`); None clears it."""
        self._runner = ProtocolRunner(protocol, start_s) if protocol is not None else None
        self._index = None
        self._shown_any = False
        if protocol is None:
            self._show_idle("Choose an exercise to begin", "")
        else:
            self._show_idle(protocol.title, "Get comfortable; the first cue comes shortly")

    def set_time(self, t_s: float) -> None:
        """Show the protocol given to :meth:`set_protocol` as it stands at stream time ``t_s``."""
        if self._runner is not None:
            self.update_state(self._runner.current(t_s), t_s)

    def update_state(self, state: StepState | None, t_s: float | None = None) -> None:
        """Show ``state`` (from ``ProtocolRunner.current(t_s)``); None shows the finished / idle screen."""
        self._state = state
        if state is None:
            self.pacer.update_state(None)
            if self._shown_any:
                self._show_idle("Well done: session complete", "Rest, breathe, and let go", done=True)
            return
        changed = state.index != self._index
        self._index = state.index
        self._shown_any = True
        step = state.step
        title = f"{state.protocol_title} · " if state.protocol_title else ""
        left = max(0.0, state.protocol_total_s - state.protocol_elapsed_s)
        self.header.setText(f"{title}step {state.index + 1} of {state.n_steps} · {format_countdown(left)} left"
                            if left >= 60 else f"{title}step {state.index + 1} of {state.n_steps}")
        self._set_band(step.band)
        self.cue_label.setText(step.cue)
        self.summary_label.setVisible(False)
        self.progress.setVisible(True)
        self.countdown.setVisible(True)
        self.countdown.setText(format_countdown(state.remaining_s))
        self.countdown_unit.setText("minutes left" if state.remaining_s > 60 else
                                    "second left" if format_countdown(state.remaining_s) == "1" else "seconds left")
        self.progress.setValue(int(round(1000 * state.progress)))
        nxt = state.next_step
        self.next_label.setText(f"Next: {nxt.cue} ({format_countdown(nxt.duration_s)} s)" if nxt and nxt.duration_s < 60
                                else f"Next: {nxt.cue} ({format_countdown(nxt.duration_s)})" if nxt
                                else "Next: finished")
        has_pacer = state.breathing_phase is not None
        self.pacer.setVisible(has_pacer)
        self.pacer.update_state(state, t_s)
        if changed:
            self.setAccessibleDescription(step.cue)
            if self.tone_enabled:
                QApplication.beep()
            self.stepChanged.emit(state.index)

    def show_summary(self, summary: dict) -> None:
        """Show a finished session's key numbers (the dict from :func:`biofeedback.clinic.analysis.summarize`)."""
        self._state = None
        self._show_idle("Well done: session complete", "Rest, breathe, and let go", done=True)
        self.countdown.setText("")
        self._summary = dict(summary)
        self._render_summary()
        self.summary_label.setVisible(True)
        self.progress.setVisible(not self._strip)

    # ------------------------------------------------------------------ look

    def _render_summary(self) -> None:
        lines = [html.escape(x) for x in summary_lines(self._summary)] if self._summary else []
        if self._strip:  # a low strip: one flowing paragraph
            self.summary_label.setText("<p style='line-height:130%'>" + " &nbsp;·&nbsp; ".join(lines) + "</p>")
        else:
            self.summary_label.setText("<p style='line-height:150%'>" + "<br>".join(lines) + "</p>")

    def _show_idle(self, title: str, subtitle: str, done: bool = False) -> None:
        self._state = None
        self.header.setText("")
        self._set_band(None, hidden=True)
        self.cue_label.setText(title)
        self.countdown.setText("")
        self.countdown.setVisible(False)
        self.countdown_unit.setText("")
        self.summary_label.setVisible(False)
        self._set_band("release" if done else None, hidden=True)
        self.progress.setValue(1000 if done else 0)
        self.next_label.setText(subtitle)
        self.pacer.setVisible(False)

    def _set_band(self, band: str | None, hidden: bool = False) -> None:
        self._band = band
        self.band_tag.setVisible(not hidden)
        color = band_color(band)
        fg = "#15202B" if band == "contraction" else "#FFFFFF"
        self.band_tag.setText(f"  Target: {_BAND_WORDS.get(band, 'Free').lower()}  " if band else "  Free movement  ")
        self.band_tag.setStyleSheet(f"background:{color.name()}; color:{fg}; border-radius:12px; padding:4px 10px;")
        self.progress.setStyleSheet(
            f"QProgressBar{{background:{self.colours.track.name()};border:none;border-radius:7px;"
            "min-height:14px;max-height:14px;}"
            f"QProgressBar::chunk{{background:{color.name()};border-radius:7px;}}")

    @property
    def strip(self) -> bool:
        """True when laid out as a low strip (countdown left of the cue), e.g. above a plot."""
        return bool(self._strip)

    def _set_strip(self, strip: bool) -> None:
        if strip == self._strip:
            return
        self._strip = strip
        for w in (self.countdown, self.countdown_unit):
            self._count_col.removeWidget(w)
            self._text_col.removeWidget(w)
        if strip:
            self._count_col.addWidget(self.countdown, 1)
            self._count_col.addWidget(self.countdown_unit, 0)
            self.countdown.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.pacer.setMinimumSize(110, 110)
        else:
            self._text_col.insertWidget(1, self.countdown, 2)
            self._text_col.insertWidget(2, self.countdown_unit, 0)
            self.countdown.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom)
            self.pacer.setMinimumSize(120, 150)

    def _apply_fonts(self) -> None:
        h = max(150, self.height())
        w = max(320, self.width())
        if self._strip:
            self.cue_label.set_limits(int(min(44, max(20, h * 0.2))), 16)
            f = QFont(self.font())
            f.setBold(True)
            f.setPixelSize(int(min(96, max(36, h * 0.38))))
            self.countdown.setFont(f)
            self.countdown.setMinimumWidth(QFontMetrics(f).horizontalAdvance("0:00") + 12)
            f2 = QFont(self.font())
            f2.setPixelSize(14)
            self.countdown_unit.setFont(f2)
            self.next_label.set_limits(int(min(22, max(14, h * 0.08))), 12)
            self.header.set_limits(16, 11)
            f3 = QFont(self.font())
            f3.setPixelSize(int(min(20, max(15, h * 0.08))))
            self.summary_label.setFont(f3)
            self._render_summary()
            self._colour_labels()
            return
        self.countdown.setMinimumWidth(0)
        scale = min(h / 420.0, w / 640.0)

        def font(px: float, bold: bool = False) -> QFont:
            f = QFont(self.font())
            f.setPixelSize(int(max(11, px)))
            f.setBold(bold)
            return f

        self.cue_label.set_limits(int(min(56, max(26, 48 * scale))), 18)
        self.countdown.setFont(font(min(110, max(40, 88 * scale)), bold=True))
        self.countdown_unit.setFont(font(max(14, 18 * scale)))
        self.next_label.set_limits(int(min(26, max(16, 21 * scale))), 12)
        self.summary_label.setFont(font(min(28, max(16, 24 * scale))))
        self._render_summary()
        self.header.set_limits(int(max(14, 17 * scale)), 11)
        self.band_tag.setFont(font(max(14, 18 * scale), bold=True))
        self._colour_labels()

    def _colour_labels(self) -> None:
        text, muted = self.colours.text, self.colours.muted
        for lab, col in ((self.summary_label, text), (self.cue_label, text), (self.countdown, text),
                         (self.countdown_unit, muted), (self.next_label, muted), (self.header, muted)):
            lab.setStyleSheet(f"color:{col.name()};")

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        # a tall, narrow place (a side panel): the pacer goes under the words instead of beside them
        narrow = self.width() < 640 and self.height() > self.width()
        self._body.setDirection(QBoxLayout.Direction.TopToBottom if narrow else QBoxLayout.Direction.LeftToRight)
        # a low, wide place (a strip above the plot): the countdown moves left of the cue
        self._set_strip(self.height() < 320 and self.width() >= 2 * self.height())
        self._apply_fonts()

    def sizeHint(self) -> QSize:
        return QSize(760, 460)


__all__ = ["CuePanel", "BreathingPacer", "FitLabel", "band_color", "format_countdown", "breath_size", "summary_lines",
           "RELEASE_COLOR", "CONTRACTION_COLOR", "Step"]
