"""The bands: one model (the controller's :class:`~biofeedback.session.controller.BandsModel`), many views.

Why: the plot's dragged edges and the panel's typed numbers used to set each other by hand, and every
new view of the bands added another pair of calls. Now each view writes its edits into the one model
and redraws only from the model's one notification; the view that made an edit is the notification's
``origin`` and does not redraw (that would move an edge under the user's mouse or cursor: a loop).
"""
from __future__ import annotations

from typing import Protocol

from PySide6 import QtCore

from biofeedback.session.controller import SessionController
from biofeedback.signal.calibration import Bands
from biofeedback.ui.bands_panel import BandsPanel


class BandsView(Protocol):
    def set_bands(self, bands: Bands) -> None: ...


class BandsBinding:
    """Ties one view of the bands to the controller: its ``edited`` signal (of Bands) in, its ``set_bands`` out."""

    def __init__(self, controller: SessionController, view: BandsView, edited: QtCore.SignalInstance) -> None:
        self.controller, self.view = controller, view
        edited.connect(self._edited)
        controller.bands_model.changed.connect(self._changed)

    def _edited(self, bands: Bands) -> None:
        """A hand edit: into the model (and kept with the client)."""
        self.controller.set_bands(bands, origin=self.view, keep=True)

    def _changed(self, bands: Bands, origin: object) -> None:
        if origin is not self.view:
            self.view.set_bands(bands)

    def refresh(self) -> None:
        """Show the model's bands now (a view rebuilt for a new source)."""
        self.view.set_bands(self.controller.bands)

    def close(self) -> None:
        self.controller.bands_model.changed.disconnect(self._changed)


class BandsPart:
    """The typed bands (µV, cmH₂O or % of the maximum) in the side panel."""

    def __init__(self, controller: SessionController) -> None:
        self.panel = BandsPanel()
        self.binding = BandsBinding(controller, self.panel, self.panel.bandsChanged)
        controller.connected.connect(lambda _spec: self.binding.refresh())
