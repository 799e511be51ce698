"""Replay controls: play/pause, speed, a seek slider with event ticks, jumps to the previous/next event."""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from biofeedback.stream import Event

SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0)
#: event kinds worth a tick and a jump (gaps and summaries are not places to go)
JUMP_KINDS = ("marker", "step", "protocol", "calibration", "disconnected", "reconnected")


def fmt_time(t: float) -> str:
    t = max(0.0, t)
    return f"{int(t // 60):02d}:{t % 60:04.1f}"


class TickSlider(QtWidgets.QSlider):
    """A horizontal slider in tenths of a second that draws a tick at each event."""

    def __init__(self) -> None:
        super().__init__(QtCore.Qt.Orientation.Horizontal)
        self.ticks: list[tuple[float, str]] = []   # (time_s, kind)
        self.tick_colours = {"marker": "#D55E00", "step": "#0072B2"}
        self.setMinimumHeight(30)

    def set_ticks(self, events: list[Event]) -> None:
        self.ticks = [(e.time_s, e.kind) for e in events if e.kind in JUMP_KINDS]
        self.update()

    def paintEvent(self, ev: QtGui.QPaintEvent) -> None:
        super().paintEvent(ev)
        if not self.ticks or self.maximum() <= 0:
            return
        opt = QtWidgets.QStyleOptionSlider()
        self.initStyleOption(opt)
        groove = self.style().subControlRect(QtWidgets.QStyle.ComplexControl.CC_Slider, opt,
                                             QtWidgets.QStyle.SubControl.SC_SliderGroove, self)
        handle = self.style().subControlRect(QtWidgets.QStyle.ComplexControl.CC_Slider, opt,
                                             QtWidgets.QStyle.SubControl.SC_SliderHandle, self)
        x0 = groove.left() + handle.width() / 2
        span = groove.width() - handle.width()
        p = QtGui.QPainter(self)
        for t, kind in self.ticks:
            x = x0 + span * min(1.0, max(0.0, t * 10 / self.maximum()))
            p.setPen(QtGui.QPen(QtGui.QColor(self.tick_colours.get(kind, "#777777")), 2))
            p.drawLine(QtCore.QPointF(x, 2), QtCore.QPointF(x, 8))
        p.end()


class ReplayBar(QtWidgets.QWidget):
    """Controls for a replay source (``pause``, ``resume``, ``seek``, ``set_speed``)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = None
        self.duration_s = 0.0
        self.events: list[Event] = []
        self.playing = False
        self.speed = 1.0
        self.play = QtWidgets.QPushButton("Pause")
        self.play.setMinimumWidth(80)
        self.play.setToolTip("Pause or play the replay")
        self.prev_event = QtWidgets.QToolButton()
        self.prev_event.setText("◀ event")
        self.prev_event.setToolTip("Go back to the previous event (a step, a marker, a calibration)")
        self.next_event = QtWidgets.QToolButton()
        self.next_event.setText("event ▶")
        self.next_event.setToolTip("Go on to the next event (a step, a marker, a calibration)")
        self.slider = TickSlider()
        self.position = QtWidgets.QLabel("00:00.0 / 00:00.0")
        self.position.setMinimumWidth(130)
        self.speed_box = QtWidgets.QComboBox()
        for s in SPEEDS:
            self.speed_box.addItem(f"{s:g}×", s)
        self.speed_box.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_box.setToolTip("Replay speed (1× is real time)")
        self.slider.setToolTip("Drag to move through the recording; ticks mark steps (blue) and markers (red)")
        self.review = QtWidgets.QPushButton("Whole session…")
        self.review.setToolTip("Review the whole recording at a glance, with zoom")
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(8, 2, 8, 2)
        lay.addWidget(self.play)
        lay.addWidget(self.prev_event)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.next_event)
        lay.addWidget(self.position)
        lay.addWidget(QtWidgets.QLabel("Speed"))
        lay.addWidget(self.speed_box)
        lay.addWidget(self.review)
        self.play.clicked.connect(self.toggle)
        self.speed_box.currentIndexChanged.connect(lambda _i: self.set_speed(self.speed_box.currentData()))
        self.slider.sliderReleased.connect(lambda: self.seek(self.slider.value() / 10))
        self.slider.actionTriggered.connect(self._slider_action)
        self.prev_event.clicked.connect(lambda: self.jump(-1))
        self.next_event.clicked.connect(lambda: self.jump(+1))
        self._now = 0.0

    def attach(self, source, duration_s: float, events: list[Event]) -> None:
        self.source, self.duration_s = source, float(duration_s)
        self.events = sorted((e for e in events if e.kind in JUMP_KINDS), key=lambda e: e.time_s)
        self.slider.setRange(0, max(1, int(round(self.duration_s * 10))))
        self.slider.set_ticks(self.events)
        self.playing = True
        self.play.setText("Pause")
        self.set_speed(self.speed_box.currentData())

    def _slider_action(self, action: int) -> None:
        if action in (QtWidgets.QAbstractSlider.SliderAction.SliderPageStepAdd,
                      QtWidgets.QAbstractSlider.SliderAction.SliderPageStepSub,
                      QtWidgets.QAbstractSlider.SliderAction.SliderSingleStepAdd,
                      QtWidgets.QAbstractSlider.SliderAction.SliderSingleStepSub):
            QtCore.QTimer.singleShot(0, lambda: self.seek(self.slider.value() / 10))

    def toggle(self) -> None:
        if self.source is None:
            return
        if self.playing:
            self.source.pause()
        else:
            if self.source.finished or self._now >= self.duration_s - 1e-3:
                self.source.seek(0.0)
            self.source.resume()
        self.playing = not self.playing
        self.play.setText("Pause" if self.playing else "Play")

    def set_speed(self, speed: float) -> None:
        self.speed = float(speed)
        if self.source is not None:
            self.source.set_speed(self.speed)
        i = self.speed_box.findData(self.speed)
        if i >= 0 and i != self.speed_box.currentIndex():
            self.speed_box.setCurrentIndex(i)

    def seek(self, t_s: float) -> None:
        if self.source is None:
            return
        t_s = min(max(0.0, float(t_s)), self.duration_s)
        self.source.seek(t_s)
        self._now = t_s
        self._show(t_s)

    def jump(self, direction: int) -> None:
        """Seek to the next (+1) or previous (-1) event from the current position."""
        if not self.events:
            return
        now = self._now
        if direction > 0:
            later = [e.time_s for e in self.events if e.time_s > now + 0.05]
            if later:
                self.seek(later[0])
        else:
            earlier = [e.time_s for e in self.events if e.time_s < now - 0.5]
            self.seek(earlier[-1] if earlier else 0.0)

    def update_position(self, t_s: float, finished: bool) -> None:
        """Called from the frame timer with the stream clock."""
        self._now = t_s
        if finished and self.playing:
            self.playing = False
            self.play.setText("Play")
        if not self.slider.isSliderDown():
            self._show(t_s)

    def _show(self, t_s: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(int(round(t_s * 10)))
        self.slider.blockSignals(False)
        self.position.setText(f"{fmt_time(t_s)} / {fmt_time(self.duration_s)}")
