"""Record and marker controls: start and stop a recording, add labelled markers, show the recording's timer.

Everything shown about a recording is on the recording's own clock (its first sample is 00:00), the
clock of its timer and of the file, never the time since the source was connected.
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from biofeedback.errors import UserError
from biofeedback.session.controller import SessionController
from biofeedback.sources import is_replay
from biofeedback.stream import Event
from biofeedback.ui.parts.status import StatusPart
from biofeedback.ui.replay_bar import fmt_time


class NameField(QtWidgets.QLineEdit):
    """The recording's name: it asks the bar for room to show the whole name, but never insists on it.

    A minimum as wide as the name would push the whole window wider than a 1024-pixel laptop screen the
    moment recording starts; a wider size hint gets the room where the bar has it and gives it up where not.
    """

    wanted_width = 0

    def sizeHint(self) -> QtCore.QSize:
        hint = super().sizeHint()
        return QtCore.QSize(max(hint.width(), self.wanted_width), hint.height())


class RecordingControls:
    """The top bar's record button, name and timer, and the marker button and label."""

    def __init__(self, controller: SessionController, status: StatusPart, recordings_dir: Path) -> None:
        self.controller, self.status, self.recordings_dir = controller, status, recordings_dir
        self.record_button = QtWidgets.QPushButton("● Record")
        self.record_button.setCheckable(True)
        self.record_button.clicked.connect(self.toggle)
        self.record_name = NameField()
        self.record_name.setPlaceholderText("recording name")
        self.record_name.setMaximumWidth(190)
        self.record_time = QtWidgets.QLabel("")
        self.record_time.setMinimumWidth(56)
        self.marker_button = QtWidgets.QPushButton("Marker (M)")
        self.marker_button.clicked.connect(self.add_marker)
        self.marker_label = QtWidgets.QLineEdit()
        self.marker_label.setPlaceholderText("marker label")
        self.marker_label.setMaximumWidth(130)
        self.marker_label.returnPressed.connect(self.add_marker)
        controller.connected.connect(lambda _spec: self.set_live(not is_replay(controller.source)))
        controller.recording_started.connect(self._started)
        controller.recording_stopped.connect(self._stopped)

    @property
    def widgets(self) -> tuple[QtWidgets.QWidget, ...]:
        return (self.record_button, self.record_name, self.record_time, self.marker_button, self.marker_label)

    def set_live(self, live: bool) -> None:
        """Shown and usable for a live source only (nothing is recorded over a replay)."""
        for w in self.widgets:
            w.setEnabled(live)
            w.setVisible(live)

    # ------------------------------------------------------------------ recording
    def next_path(self) -> Path:
        name = self.record_name.text().strip() or time.strftime("session-%Y%m%d-%H%M%S")
        if not name.endswith(".bfr"):
            name += ".bfr"
        path = Path(name) if Path(name).is_absolute() else self.recordings_dir / name
        stem, n = path.with_suffix(""), 2
        while path.exists():
            path = Path(f"{stem}-{n}.bfr")
            n += 1
        return path

    def start(self, path: str | Path | None = None, duration_s: float | None = None) -> Path | None:
        """Record from now on (into ``path`` or the next free name); ``duration_s`` ends it by itself."""
        c = self.controller
        if c.engine is None or c.writer is not None:
            return c.recording_path
        target = Path(path) if path else self.next_path()
        try:
            c.start_recording(target, duration_s=duration_s)
        except (UserError, OSError) as exc:
            self.status.show_banner(f"Cannot record to {target}: {exc}")
            self.record_button.setChecked(False)
            return None
        return target

    def stop(self) -> Path | None:
        """Stop recording: the controller stores the summary and files a client's session."""
        c = self.controller
        if c.writer is None:
            return None
        path = c.recording_path
        c.stop_recording()
        return path

    def toggle(self) -> None:
        if self.controller.writer is None:
            self.start()
        else:
            self.stop()

    def _started(self, target: Path) -> None:
        self.record_button.setChecked(True)
        self.record_button.setText("■ Stop")
        self.show_name(target)
        self.record_time.setText("00:00")

    def show_name(self, target: Path) -> None:
        """The recording's name, read from its start: the field widens to fit it where the bar has room
        (within reason), and a name longer still shows its beginning, with the whole path in the tooltip.

        The field asks for the name's width (:class:`NameField`) rather than insisting on it, so the window
        stays within a 1024-pixel laptop screen while recording.
        """
        field = self.record_name
        field.setText(target.name)
        field.setReadOnly(True)
        wanted = field.fontMetrics().horizontalAdvance(target.name) + 24
        field.setMaximumWidth(max(190, min(wanted, 360)))
        field.wanted_width = min(wanted, 360)
        field.updateGeometry()
        field.setCursorPosition(0)
        field.setToolTip(str(target))

    def _stopped(self, path: Path | None) -> None:
        self.record_button.setChecked(False)
        self.record_button.setText("● Record")
        self.record_name.setReadOnly(False)
        self.record_name.setText("")
        self.record_name.wanted_width = 0
        self.record_name.updateGeometry()
        self.record_name.setMaximumWidth(190)
        self.record_name.setToolTip("Name of the next recording (empty: the date and time)")
        self.record_time.setText("saved ✓" if path else "")
        self.record_time.setToolTip(str(path) if path else "")
        if path:
            self.status.message(f"Recording saved: {path}", 8000)

    def update(self) -> None:
        """A few times a second: the recording's timer."""
        if self.controller.is_recording:
            self.record_time.setText(fmt_time(self.controller.recording_elapsed_s)[:-2])

    # ------------------------------------------------------------------ markers
    def add_marker(self) -> Event | None:
        c = self.controller
        if c.engine is None:
            return None
        label = self.marker_label.text().strip()[:40]
        recording = c.is_recording
        ev = c.add_marker(label)
        self.marker_label.clear()
        if recording:                           # the recording's clock, as its timer and the file have it
            at = fmt_time(ev.time_s - c.engine.recording_start_s)
            self.status.message(f"Marker at {at}" + (f": {label}" if label else ""), 3000)
        else:
            self.status.message("Marker not saved: not recording", 3000)
        return ev
