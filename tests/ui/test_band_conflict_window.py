"""In the window: bands typed while another room changed the client -> one sentence in the banner, then saved."""
from __future__ import annotations

from biofeedback.clinic.library import Library
from biofeedback.signal.calibration import Bands

STORED, THEIRS = Bands(10.0, 40.0, 3.0), Bands(12.0, 45.0, 2.0)


def type_release(win, value: float) -> None:
    """As the therapist does: a new value in the release field, then Enter (editingFinished)."""
    field = win.bands_panel.r_high
    field.setValue(value)
    field.editingFinished.emit()


def test_the_window_tells_the_band_conflict_in_its_banner(make_window, tmp_path, monkeypatch):
    lib_path = tmp_path / "library.sqlite"
    with Library.open(lib_path) as lib:
        lib.add_client("Anna", bands=STORED.to_dict())
    win = make_window(source=None, speed=None, library_path=lib_path)
    win.clients.ask_diary = False
    with Library.open(lib_path) as lib:
        win.clients.set_client(lib.client("Anna"))
    assert win.bands_panel.r_high.value() == 3.0
    monkeypatch.setenv("BIOFEEDBACK_THERAPIST", "Maria (room 1)")
    with Library.open(lib_path) as other:                  # room 1 changes her bands meanwhile
        other.update_client(other.client("Anna"), bands=THEIRS.to_dict())
    monkeypatch.delenv("BIOFEEDBACK_THERAPIST")

    type_release(win, 2.5)                                 # typed here on the stale copy: refused
    assert win.banner.isVisible()
    text = win.banner.text()
    assert text.startswith("Anna's record was changed meanwhile by Maria (room 1) at ")
    assert "(contraction 12.0-45.0 µV, release at or below 2.0 µV)" in text
    assert win.bands_panel.r_high.value() == 2.0          # the panel shows what is in use
    win.grab().save(str(tmp_path / "conflict.png"))

    type_release(win, 2.2)                                 # typed again: saved against the fresh row
    with Library.open(lib_path) as lib:
        assert lib.client("Anna").bands["release_high"] == 2.2
    assert win.banner.text() == text                       # nothing new to tell
