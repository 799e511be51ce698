"""The clinic window's parts: each owns its widgets and talks through the session controller.

:class:`~biofeedback.ui.main_window.MainWindow` only assembles them (napari's ``QtViewer`` over its
``ViewerModel``, split by what a therapist sees rather than by lines of code). A part subscribes to the
controller's notifications itself; parts never set each other's state by hand.
"""
from biofeedback.ui.parts.bands import BandsBinding, BandsPart
from biofeedback.ui.parts.cue import CuePart
from biofeedback.ui.parts.plot import PlotPart
from biofeedback.ui.parts.recording import RecordingControls
from biofeedback.ui.parts.replay import ReplayPart
from biofeedback.ui.parts.session import SessionControls
from biofeedback.ui.parts.shaping import ShapingBar
from biofeedback.ui.parts.status import StatusPart

__all__ = ["BandsBinding", "BandsPart", "CuePart", "PlotPart", "RecordingControls", "ReplayPart", "SessionControls",
           "ShapingBar", "StatusPart"]
