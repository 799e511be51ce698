"""Her progress panel in home mode: a gentle calendar, first week against this week, milestones in plain words.

Drawn from :func:`biofeedback.clinic.her_progress.her_progress`. Days she practised are filled in a
soft colour; other days are simply empty (no red, no crosses: a gap is not a failure). The pictures
have no numbers and no units: two bars, her first week and this week, and a kind sentence.
"""
from __future__ import annotations

import datetime as dt

from PySide6 import QtCore, QtGui, QtWidgets

from biofeedback.clinic.her_progress import Comparison, HerProgress
from biofeedback.ui.theme import LIGHT, OKABE_ITO, Theme, blend

DAY_LETTERS = "MTWTFSS"
#: where a measure's sentence starts under its title and two bars
WORDS_Y = 52


class Calendar(QtWidgets.QWidget):
    """The last four weeks, Monday first; this week is the bottom row, today ringed."""

    def __init__(self, theme: Theme = LIGHT) -> None:
        super().__init__()
        self.theme = theme
        self.progress: HerProgress | None = None
        self.setMinimumSize(230, 150)
        self.setAccessibleName("Practice calendar, last four weeks")

    def set_progress(self, progress: HerProgress) -> None:
        self.progress = progress
        days = sorted(d for d in progress.practised_days if d >= progress.week[0] - dt.timedelta(weeks=3))
        self.setAccessibleDescription(
            f"practised on {len(days)} days in the last four weeks" if days else "no practice yet in these weeks")
        self.update()

    def paintEvent(self, ev: QtGui.QPaintEvent) -> None:
        if self.progress is None:
            return
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        weeks = self.progress.calendar()
        cell = min((self.width() - 4) / 7.0, (self.height() - 22) / len(weeks))
        r = cell * 0.36
        font = p.font()
        font.setPointSizeF(9.5)
        p.setFont(font)
        p.setPen(QtGui.QColor(self.theme.muted))
        for i, letter in enumerate(DAY_LETTERS):
            p.drawText(QtCore.QRectF(i * cell, 0, cell, 18), QtCore.Qt.AlignmentFlag.AlignCenter, letter)
        done = QtGui.QColor(OKABE_ITO["bluish_green"])
        empty = QtGui.QColor(blend(self.theme.foreground, self.theme.background, 0.10))
        for w, week in enumerate(weeks):
            for i, (day, practised) in enumerate(week):
                cx, cy = i * cell + cell / 2, 20 + w * cell + cell / 2
                future = day > self.progress.today
                p.setPen(QtCore.Qt.PenStyle.NoPen)
                colour = done if practised else empty
                if future:
                    colour = QtGui.QColor(blend(self.theme.foreground, self.theme.background, 0.04))
                p.setBrush(colour)
                p.drawEllipse(QtCore.QPointF(cx, cy), r, r)
                if day == self.progress.today:
                    p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
                    p.setPen(QtGui.QPen(QtGui.QColor(self.theme.foreground), 2))
                    p.drawEllipse(QtCore.QPointF(cx, cy), r + 3, r + 3)
        p.end()


class ComparisonBars(QtWidgets.QWidget):
    """For each measure, her first week and this week as two bars on one scale, and the words beneath."""

    def __init__(self, theme: Theme = LIGHT) -> None:
        super().__init__()
        self.theme = theme
        self.items: list[Comparison] = []
        self.setMinimumWidth(300)             # its height: minimumSizeHint, from her sentences
        self.setAccessibleName("This week compared with your first week")

    def set_items(self, items: list[Comparison]) -> None:
        self.items = list(items)
        self.setAccessibleDescription(" ".join(f"{c.title}: {c.words}" for c in self.items))
        self.updateGeometry()
        self.update()

    def _small_font(self) -> QtGui.QFont:
        small = QtGui.QFont(self.font())
        small.setPointSizeF(max(8.5, small.pointSizeF() - 1.0))
        return small

    def _words_height(self, c: Comparison, width: float) -> int:
        """The height her sentence needs, wrapped at ``width``."""
        rect = QtGui.QFontMetrics(self._small_font()).boundingRect(
            QtCore.QRect(0, 0, max(1, int(width)), 1000), int(QtCore.Qt.TextFlag.TextWordWrap), c.words)
        return rect.height()

    def row_heights(self, width: float | None = None) -> list[int]:
        """Each measure's height: title, its two bars (when shown) and her whole sentence beneath."""
        width = self.width() if width is None else width
        return [(WORDS_Y if c.shown else 24) + self._words_height(c, width) + 4 for c in self.items]

    def minimumSizeHint(self) -> QtCore.QSize:
        """Never squeezed below what her sentences need: at a small window they were cut in half."""
        return QtCore.QSize(300, max(200, sum(self.row_heights(max(300, self.width())))))

    def paintEvent(self, ev: QtGui.QPaintEvent) -> None:
        if not self.items:
            return
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        needed = self.row_heights()
        spare = max(0.0, (self.height() - sum(needed)) / len(self.items))
        label_w = 92.0
        bar_w = max(40.0, self.width() - label_w - 8)
        fg, muted = QtGui.QColor(self.theme.foreground), QtGui.QColor(self.theme.muted)
        first_c = QtGui.QColor(blend(self.theme.muted, self.theme.background, 0.45))
        now_c = QtGui.QColor(OKABE_ITO["sky_blue"])
        bold = QtGui.QFont(p.font())
        bold.setBold(True)
        small = self._small_font()
        y = 0.0
        for c, row_h in zip(self.items, needed):
            row_h = row_h + spare
            p.setFont(bold)
            p.setPen(fg)
            p.drawText(QtCore.QRectF(0, y, self.width(), 20), QtCore.Qt.AlignmentFlag.AlignLeft, c.title)
            top = max(c.first_week or 0.0, c.this_week or 0.0) or 1.0
            p.setFont(small)
            bars = (("First week", c.first_week, first_c), ("This week", c.this_week, now_c)) if c.shown else ()
            for j, (name, value, colour) in enumerate(bars):
                by = y + 22 + j * 16
                p.setPen(muted)
                p.drawText(QtCore.QRectF(0, by - 2, label_w, 16), QtCore.Qt.AlignmentFlag.AlignLeft, name)
                if value is not None:
                    p.setPen(QtCore.Qt.PenStyle.NoPen)
                    p.setBrush(colour)
                    p.drawRoundedRect(QtCore.QRectF(label_w, by, max(4.0, bar_w * value / top), 11), 5, 5)
            p.setPen(muted)
            words_y = y + (WORDS_Y if c.shown else 24)
            p.drawText(QtCore.QRectF(0, words_y, self.width(), row_h - (words_y - y)),
                       int(QtCore.Qt.AlignmentFlag.AlignLeft) | int(QtCore.Qt.TextFlag.TextWordWrap), c.words)
            y += row_h
        p.end()


class ProgressPanel(QtWidgets.QFrame):
    """The whole "your progress" panel of the home screen."""

    def __init__(self, theme: Theme = LIGHT, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ProgressPanel")
        self.setAccessibleName("Your progress")
        self.title = QtWidgets.QLabel("Your progress")
        f = self.title.font()
        f.setPointSize(15)
        f.setBold(True)
        self.title.setFont(f)
        self.week = QtWidgets.QLabel("")
        self.week.setWordWrap(True)
        self.calendar = Calendar(theme)
        self.bars = ComparisonBars(theme)
        self.milestones = QtWidgets.QLabel("")
        self.milestones.setWordWrap(True)
        self.milestones.setAccessibleName("Milestones")
        self.milestones.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        left = QtWidgets.QVBoxLayout()
        left.addWidget(self.week)
        left.addWidget(self.calendar, 1)
        right = QtWidgets.QVBoxLayout()
        m_title = QtWidgets.QLabel("Milestones")
        m_title.setFont(f)
        right.addWidget(m_title)
        right.addWidget(self.milestones, 1)
        row = QtWidgets.QHBoxLayout()
        row.addLayout(left, 3)
        row.addSpacing(18)
        row.addWidget(self.bars, 4)
        row.addSpacing(18)
        row.addLayout(right, 3)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(22, 16, 22, 16)
        lay.addWidget(self.title)
        lay.addLayout(row, 1)
        self.set_theme(theme)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.calendar.theme = theme
        self.bars.theme = theme
        self.setStyleSheet(f"QFrame#ProgressPanel {{ background:{theme.panel}; border-radius:14px; }}"
                           f"QFrame#ProgressPanel QLabel {{ color:{theme.foreground}; background:transparent; }}")
        self.update()

    def set_progress(self, progress: HerProgress) -> None:
        self.week.setText(progress.week_words)
        self.calendar.set_progress(progress)
        self.bars.set_items(progress.comparisons)
        words = progress.milestones[-6:]
        self.milestones.setText("\n".join(f"✓ {m}" for m in words) if words else
                                "Your milestones will gather here, one calm session at a time.")
