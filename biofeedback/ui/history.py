"""History view: a client's sessions in a table and trend plots over the weeks, with goal lines and milestones."""
from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from biofeedback.clinic.library import Client, Library
from biofeedback.clinic.progress import METRICS, Progress, client_progress, plotted_keys
from biofeedback.errors import UserError
from biofeedback.reports.content import fmt_duration
from biofeedback.reports.overlay import overlay_pair
from biofeedback.reports.plots import date_axis, date_range_x, draw_trend
from biofeedback.ui.theme import blend
from biofeedback.words import plural

_COLUMNS = ("Date", "Programme", "Length", "Resting tone", "Release time", "Contraction peak", "Pain", "Mood")


def run_with_progress(parent: QtWidgets.QWidget | None, label: str, job) -> object:
    """Run ``job(progress)`` with a modal progress dialog; a UserError is shown as a message, not raised."""
    dialog = QtWidgets.QProgressDialog(label, "", 0, 1000, parent)
    dialog.setWindowTitle("Please wait")
    dialog.setCancelButton(None)
    dialog.setWindowModality(QtCore.Qt.WindowModal)
    dialog.setMinimumDuration(300)

    def progress(fraction: float) -> None:
        dialog.setValue(int(max(0.0, min(1.0, fraction)) * 1000))
        QtWidgets.QApplication.processEvents()

    try:
        return job(progress)
    except UserError as exc:
        QtWidgets.QMessageBox.warning(parent, "Could not finish", str(exc))
        return None
    finally:
        dialog.reset()
        dialog.deleteLater()


class HistoryView(QtWidgets.QWidget):
    """Sessions table above, trends below. ``recording_chosen(path)`` fires on a double-clicked session."""

    recording_chosen = QtCore.Signal(str)

    def __init__(self, library: Library, client: Client | str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.client = library.client(client) if isinstance(client, str) else client
        self.progress: Progress | None = None
        self.setWindowTitle(f"History — {self.client.name}")

        self.heading = QtWidgets.QLabel()
        self.heading.setTextFormat(QtCore.Qt.RichText)
        self.heading.setWordWrap(True)          # wraps rather than push the window past a 1024-pixel screen
        self.goals_label = QtWidgets.QLabel()
        self.goals_label.setTextFormat(QtCore.Qt.RichText)
        self.goals_label.setWordWrap(True)
        self.report_button = QtWidgets.QPushButton("Progress report…")
        self.session_report_button = QtWidgets.QPushButton("Session report…")
        self.session_report_button.setEnabled(False)
        self.export_button = QtWidgets.QPushButton("Export EDF+…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self._export)
        self.diary_button = QtWidgets.QPushButton("Diary entry…")
        self.goal_button = QtWidgets.QPushButton("New goal…")
        self.overlay_button = QtWidgets.QPushButton("First vs latest…")
        self.overlay_button.setToolTip("Lay the first and the latest session of the same exercise over each "
                                       "other, aligned at its squeezes")
        self.overlay_button.clicked.connect(self.open_overlay)
        self.report_button.setToolTip("A report (PDF or web page) of her progress over the weeks: trends, goals "
                                      "and diary")
        self.session_report_button.setToolTip("A report (PDF or web page) of the session chosen in the table "
                                              "(choose one first)")
        self.export_button.setToolTip("The session chosen in the table as an EDF+ file for other software "
                                      "(choose one first)")
        self.diary_button.setToolTip("Add today's diary: pain, mood, minutes practised, notes")
        self.goal_button.setToolTip("Set a goal for one of her measures; the charts mark the day it is met")
        self.diary_button.clicked.connect(self._diary)
        self.goal_button.clicked.connect(self._goal)
        self.report_button.clicked.connect(self._progress_report)
        self.session_report_button.clicked.connect(self._session_report)

        self.table = QtWidgets.QTableWidget(0, len(_COLUMNS))
        self.table.setHorizontalHeaderLabels(_COLUMNS)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        self.table.setMinimumHeight(150)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.cellDoubleClicked.connect(self._open_row)

        self.plots_widget = pg.GraphicsLayoutWidget()
        self.plots_widget.setBackground("w")
        self.plots: dict[str, pg.PlotItem] = {}

        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.diary_button)
        top.addWidget(self.goal_button)
        top.addWidget(self.overlay_button)
        top.addWidget(self.export_button)
        top.addWidget(self.session_report_button)
        top.addWidget(self.report_button)
        split = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.plots_widget)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        split.setSizes([230, 600])
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.goals_label)
        layout.addWidget(split, 1)
        self.refresh()

    # ---- data

    def refresh(self) -> None:
        """Reload from the library (after a session or a diary entry)."""
        self.progress = p = client_progress(self.library, self.client)
        n, d = len(p.sessions), len(p.diary)
        weeks = ""
        days = [s.day for s in p.sessions] + [e.day for e in p.diary]
        if days:
            n_weeks = max(1, ((max(days) - min(days)).days + 6) // 7)
            weeks = f" over {plural(n_weeks, 'week')}"
        self.heading.setText(f"<span style='font-size:15pt;font-weight:600'>{self.client.name}</span>"
                             f"&nbsp;&nbsp;<span style='color:{self._muted()}'>{plural(n, 'session')}, "
                             f"{plural(d, 'diary entry', 'diary entries')}{weeks}</span>")
        self._fill_goals(p)
        self.overlay_button.setEnabled(overlay_pair(p.sessions) is not None)
        self._fill_table(p)
        self._fill_plots(p)
        show_practice(self, p)          # adherence and home/clinic (clinic <-> home loop)

    def _muted(self) -> str:
        """Quiet words that stay readable in the dark theme too (a fixed dark grey vanished on it)."""
        pal = self.palette()
        return blend(pal.color(QtGui.QPalette.ColorRole.WindowText).name(),
                     pal.color(QtGui.QPalette.ColorRole.Window).name(), 0.7)

    def _met_colour(self) -> str:
        """The green of a met goal: dark on a light window, light on a dark one."""
        return "#7fd4a0" if self.palette().color(QtGui.QPalette.ColorRole.Window).lightness() < 128 else "#2e7a46"

    def _fill_goals(self, p: Progress) -> None:
        if not p.goals:
            self.goals_label.setText(f"<span style='color:{self._muted()}'>No goals set yet.</span>")
            return
        bits = []
        for g in p.goals:
            if g.met_on:
                bits.append(f"<span style='color:{self._met_colour()}'>★ {g.description} — first met {g.met_on.day} "
                            f"{g.met_on:%b %Y}</span>")
            else:
                latest = f" (latest {g.metric.format(g.latest)})" if g.latest is not None else ""
                bits.append(f"<span style='color:{self._muted()}'>○ {g.description} — not yet{latest}</span>")
        self.goals_label.setText("Goals: " + " &nbsp;·&nbsp; ".join(bits))

    def _fill_table(self, p: Progress) -> None:
        by_day = {e.day: e for e in p.diary}
        self.table.setRowCount(len(p.sessions))
        for row, s in enumerate(reversed(p.sessions)):      # newest first
            entry = next((e for e in p.diary if e.session_id == s.id), None) or by_day.get(s.day)
            values = [f"{s.day.day} {s.day:%b %Y}  {s.started_at[11:16]}", s.protocol or "—",
                      fmt_duration(s.duration_s) if s.duration_s else "—"]
            for keys in (("resting_tone_uv", "resting_tone_cmh2o"), ("release_latency_s",),
                         ("contraction_peak_uv", "contraction_peak_cmh2o")):
                key = next((k for k in keys if _num(s.summary.get(k)) is not None), keys[0])
                text = METRICS[key].format(_num(s.summary.get(key)))
                if key == "contraction_peak_cmh2o" and text != "—":
                    text += " above rest"            # a pressure squeeze is the rise above resting pressure
                values.append(text)
            values.append(METRICS["pain_intercourse"].format(entry.pain_intercourse) if entry and
                          entry.pain_intercourse is not None else "")
            values.append(METRICS["mood"].format(entry.mood) if entry and entry.mood is not None else "")
            for col, text in enumerate(values):
                item = QtWidgets.QTableWidgetItem(text)
                if col >= 3:
                    item.setTextAlignment(QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter)
                item.setData(QtCore.Qt.UserRole, s.recording_path)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.Stretch)

    def _fill_plots(self, p: Progress) -> None:
        self.plots_widget.clear()
        self.plots = {}
        keys = plotted_keys(p.trends)
        if not keys:
            label = self.plots_widget.addLabel("No measures or diary scores yet: they appear here after the first "
                                               "session or diary entry.", color="#555")
            label.setMinimumHeight(40)
            return
        first_x = None
        shared = p.date_range           # one date range for sessions and diary (as in the progress report)
        x_range = date_range_x(shared) if shared else None
        for i, key in enumerate(keys):
            plot = self.plots_widget.addPlot(row=i // 2, col=i % 2, axisItems={"bottom": date_axis()})
            trend = p.trends[key]
            # y by the shared rule (reports.content.trend_y_range); shaping steps on the resting tone
            draw_trend(plot, trend, p.goals, x_range, p.target_steps)
            if first_x is None:
                first_x = plot
            else:
                plot.setXLink(first_x)
            self.plots[key] = plot

    # ---- actions

    def open_overlay(self):
        """The first and latest session of one protocol laid over each other (see reports/overlay.py)."""
        from biofeedback.ui.overlay import OverlayWindow
        pair = overlay_pair(self.progress.sessions if self.progress else [])
        if pair is None:
            return None
        first, latest = self._local_file(pair[0].recording_path), self._local_file(pair[1].recording_path)
        if first is None or latest is None:
            return None
        try:
            win = OverlayWindow(first, latest)
        except UserError as exc:
            QtWidgets.QMessageBox.information(self, "Nothing to compare", str(exc))
            return None
        win.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        win.show()
        self._overlay = win
        return win

    def _selection_changed(self) -> None:
        chosen = bool(self.table.selectedItems())
        self.session_report_button.setEnabled(chosen)
        self.export_button.setEnabled(chosen)

    def _export(self) -> None:
        from biofeedback.files.edf import export_edf
        path = self._selected_recording()
        if not path:
            return
        out, chosen = QtWidgets.QFileDialog.getSaveFileName(self, "Export for another program",
                                                            str(Path(path).with_suffix(".edf").name),
                                                            "EDF+ (*.edf);;BDF+, 24 bit (*.bdf)")
        if not out:
            return
        fmt = "bdf" if out.lower().endswith(".bdf") or "BDF" in chosen else "edf"
        if not Path(out).suffix:
            out += f".{fmt}"                     # a name typed without its ending
        answer = QtWidgets.QMessageBox.question(self, "Leave the name out?",
                                                "Leave the client's name out of the exported file?",
                                                QtWidgets.QMessageBox.Yes | QtWidgets.QMessageBox.No)
        anonymize = answer == QtWidgets.QMessageBox.Yes
        run_with_progress(self, "Exporting…", lambda progress: export_edf(path, out, fmt=fmt, anonymize=anonymize,
                                                                         progress=progress))

    def _local_file(self, recorded_path: str) -> str | None:
        """A file on this computer for a session's recording: the original, or (on a clinic server) a
        verified copy fetched into the local cache, so any room can replay, report and export it."""
        session = next((s for s in (self.progress.sessions if self.progress else [])
                        if s.recording_path == recorded_path), None)
        if session is None:
            return recorded_path
        try:
            return str(self.library.recording_file(session))
        except UserError as exc:
            QtWidgets.QMessageBox.warning(self, "Recording not available", str(exc))
            return None

    def _selected_recording(self) -> str | None:
        items = self.table.selectedItems()
        return self._local_file(items[0].data(QtCore.Qt.UserRole)) if items else None

    def _open_row(self, row: int, _col: int) -> None:
        item = self.table.item(row, 0)
        if item is not None and (path := self._local_file(item.data(QtCore.Qt.UserRole))):
            self.recording_chosen.emit(path)

    def _diary(self) -> None:
        from biofeedback.ui.diary import ask_diary
        if ask_diary(self.library, self.client, parent=self) is not None:
            self.refresh()

    def _goal(self) -> None:
        from biofeedback.ui.clients import GoalDialog
        if GoalDialog(self.library, self.client, self).exec() == QtWidgets.QDialog.Accepted:
            self.refresh()

    def _ask_out(self, title: str, default: str) -> Path | None:
        path, chosen = QtWidgets.QFileDialog.getSaveFileName(self, title, default, "PDF (*.pdf);;Web page (*.html)")
        if path and not Path(path).suffix:
            path += ".html" if "html" in chosen else ".pdf"       # a name typed without its ending
        return Path(path) if path else None

    def _progress_report(self) -> None:
        from biofeedback.reports import progress_report
        out = self._ask_out("Save progress report", f"{self.client.name} progress.pdf")
        if out is None:
            return
        run_with_progress(self, "Writing the progress report…",
                          lambda progress: progress_report(self.library, self.client.name, out, progress=progress))

    def _session_report(self) -> None:
        from biofeedback.reports import session_report
        path = self._selected_recording()
        if not path:
            return
        out = self._ask_out("Save session report", str(Path(path).with_suffix(".pdf").name))
        if out is None:
            return
        run_with_progress(self, "Writing the session report…",
                          lambda progress: session_report(path, out, self.library, progress=progress))


def show_practice(view: HistoryView, p: Progress) -> None:
    """Practice against the programme under the goals, and where each session took place (a last column)."""
    from biofeedback.clinic.adherence import adherence_lines
    label = getattr(view, "adherence_label", None)
    if label is None:
        label = view.adherence_label = QtWidgets.QLabel()
        label.setWordWrap(True)
        label.setAccessibleName("Practice against the programme")
        view.layout().insertWidget(2, label)
    recent = adherence_lines(p.adherence[-4:])
    label.setText("Practice against the programme: " + " · ".join(recent) if recent else "")
    label.setVisible(bool(recent))
    table = view.table
    if not any(place == "home" for place in p.places.values()):
        return                                       # clinic sessions only: no column needed
    col = table.columnCount()
    if table.horizontalHeaderItem(col - 1).text() != "Place":
        table.insertColumn(col)
        table.setHorizontalHeaderItem(col, QtWidgets.QTableWidgetItem("Place"))
    else:
        col -= 1
    for row, s in enumerate(reversed(p.sessions)):   # newest first, as the table
        item = QtWidgets.QTableWidgetItem("home" if p.places.get(s.id) == "home" else "clinic")
        item.setData(QtCore.Qt.UserRole, s.recording_path)
        table.setItem(row, col, item)


def _num(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


__all__ = ["HistoryView", "run_with_progress"]
