"""Choose or add the client before a session."""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from biofeedback.clinic.library import Client, Library
from biofeedback.errors import UserError


class ClientDialog(QtWidgets.QDialog):
    """A filterable list of clients and a field to add a new one; :attr:`client` holds the choice."""

    def __init__(self, library: Library, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.client: Client | None = None
        self.setWindowTitle("Choose a client")
        self.resize(420, 460)

        self.filter = QtWidgets.QLineEdit()
        self.filter.setPlaceholderText("Type to find a client…")
        self.filter.setClearButtonEnabled(True)
        self.list = QtWidgets.QListWidget()
        self.list.setAlternatingRowColors(True)
        self.new_name = QtWidgets.QLineEdit()
        self.new_name.setPlaceholderText("Name or alias")
        self.new_notes = QtWidgets.QLineEdit()
        self.new_notes.setPlaceholderText("Notes (optional)")
        self.add_button = QtWidgets.QPushButton("Add client")
        self.add_button.setEnabled(False)
        self.message = QtWidgets.QLabel()
        self.message.setStyleSheet("color: #a33")
        self.message.setWordWrap(True)

        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Ok | QtWidgets.QDialogButtonBox.Cancel)
        self.ok_button = buttons.button(QtWidgets.QDialogButtonBox.Ok)
        self.ok_button.setText("Start with this client")
        self.ok_button.setEnabled(False)
        buttons.accepted.connect(self._choose)
        buttons.rejected.connect(self.reject)

        add_box = QtWidgets.QGroupBox("New client")
        add_layout = QtWidgets.QGridLayout(add_box)
        add_layout.addWidget(self.new_name, 0, 0)
        add_layout.addWidget(self.add_button, 0, 1)
        add_layout.addWidget(self.new_notes, 1, 0, 1, 2)

        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.list, 1)
        layout.addWidget(add_box)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

        self.filter.textChanged.connect(self._apply_filter)
        self.list.itemSelectionChanged.connect(lambda: self.ok_button.setEnabled(bool(self.list.selectedItems())))
        self.list.itemDoubleClicked.connect(lambda _item: self._choose())
        self.new_name.textChanged.connect(lambda text: self.add_button.setEnabled(bool(text.strip())))
        self.new_name.returnPressed.connect(self._add)
        self.add_button.clicked.connect(self._add)
        self._reload()

    def _reload(self, select: str | None = None) -> None:
        self.list.clear()
        for c in self.library.clients():
            sessions = len(self.library.sessions(c))
            item = QtWidgets.QListWidgetItem(f"{c.name}   ({sessions} session{'s' if sessions != 1 else ''})")
            item.setData(QtCore.Qt.UserRole, c.id)
            if c.notes:
                item.setToolTip(c.notes)
            self.list.addItem(item)
            if select and c.name.lower() == select.lower():
                self.list.setCurrentItem(item)
        self._apply_filter(self.filter.text())

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(bool(needle) and needle not in item.text().lower())

    def _add(self) -> None:
        name = self.new_name.text().strip()
        if not name:
            return
        try:
            client = self.library.add_client(name, notes=self.new_notes.text().strip())
        except UserError as exc:
            self.message.setText(str(exc))
            return
        self.message.clear()
        self.new_name.clear()
        self.new_notes.clear()
        self.filter.clear()
        self._reload(select=client.name)

    def _choose(self) -> None:
        items = self.list.selectedItems()
        if not items:
            return
        self.client = self.library.client_by_id(int(items[0].data(QtCore.Qt.UserRole)))
        self.accept()


def choose_client(library: Library, parent: QtWidgets.QWidget | None = None) -> Client | None:
    """Show the dialog; the chosen client, or None when cancelled."""
    dialog = ClientDialog(library, parent)
    dialog.exec()
    return dialog.client


class GoalDialog(QtWidgets.QDialog):
    """Set a small, achievable goal: a measure, a direction and a target; :attr:`goal` holds the stored goal."""

    WORDS = (("under", "<"), ("at most", "<="), ("over", ">"), ("at least", ">="))

    def __init__(self, library: Library, client: Client, parent: QtWidgets.QWidget | None = None) -> None:
        from biofeedback.clinic.progress import METRICS
        super().__init__(parent)
        self.library, self.client = library, client
        self.goal = None
        self.setWindowTitle(f"New goal — {client.name}")
        self.measure = QtWidgets.QComboBox()
        for key in ("resting_tone_uv", "release_latency_s", "post_resting_tone_uv", "resting_variability_pct",
                    "contraction_peak_uv", "time_in_band_pct", "pain_intercourse", "pain_pelvic", "mood",
                    "minutes_practised", "resting_tone_cmh2o"):
            m = METRICS[key]
            self.measure.addItem(f"{m.label} ({m.unit})" if m.unit not in ("/10", "/5") else f"{m.label} ({m.unit[1:]}"
                                f"-point scale)", key)
        self.direction = QtWidgets.QComboBox()
        for words, op in self.WORDS:
            self.direction.addItem(words, op)
        self.target = QtWidgets.QDoubleSpinBox()
        self.target.setRange(0, 1000)
        self.target.setDecimals(1)
        self.label = QtWidgets.QLineEdit()
        self.label.setPlaceholderText("In your words, e.g. 'release within 1 s'")
        self.protocol = QtWidgets.QComboBox()
        self.protocol.setToolTip("Only sessions of this exercise can meet the goal: a relaxation session does not "
                                 "meet a goal set for the Glazer assessment")
        self.protocol.setAccessibleName("Exercise the goal is for")
        form = QtWidgets.QFormLayout()
        form.addRow("Measure", self.measure)
        form.addRow("Should be", self.direction)
        form.addRow("Target", self.target)
        form.addRow("Counts for", self.protocol)
        form.addRow("Called", self.label)
        self._fill_protocols()
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Save | QtWidgets.QDialogButtonBox.Cancel)
        self.save_button = buttons.button(QtWidgets.QDialogButtonBox.Save)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.measure.currentIndexChanged.connect(self._defaults)
        self._defaults()

    def _fill_protocols(self) -> None:
        """Every exercise, then each protocol by its title; the one she practises most comes first after that."""
        from biofeedback.protocols import list_protocols
        self.protocol.addItem("Every exercise", "")
        done = [s.protocol for s in self.library.sessions(self.client) if s.protocol]
        known = list_protocols()
        known.sort(key=lambda p: -done.count(p.name))
        for proto in known:
            self.protocol.addItem(f"{proto.title} only" if proto.title else f"{proto.name} only", proto.name)

    def _defaults(self) -> None:
        """Sensible starting points: lower is better for tone, release time and pain."""
        from biofeedback.clinic.progress import METRICS
        m = METRICS[self.measure.currentData()]
        from_session = m.source == "session"      # pain, mood and minutes come from the diary, not a protocol
        self.protocol.setEnabled(from_session)
        if not from_session:
            self.protocol.setCurrentIndex(0)
        self.direction.setCurrentIndex(1 if m.lower_is_better else 3)
        self.target.setDecimals(1 if m.unit in ("s", "µV", "cmH2O") else 0)
        self.target.setValue({"release_latency_s": 1.0, "resting_tone_uv": 5.0, "pain_intercourse": 3,
                              "pain_pelvic": 3, "mood": 4}.get(m.key, self.target.value()))

    def _save(self) -> None:
        from biofeedback.clinic.progress import update_milestones
        try:
            self.goal = self.library.add_goal(self.client, self.measure.currentData(), self.direction.currentData(),
                                              self.target.value(), self.label.text().strip(),
                                              protocol=self.protocol.currentData() or "")
        except UserError as exc:
            QtWidgets.QMessageBox.warning(self, "Goal not saved", str(exc))
            return
        update_milestones(self.library, self.client)
        self.accept()
