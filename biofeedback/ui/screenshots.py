"""Documentation screenshots at 1280×800: clinic view, patient view, replay and review.

``python -m biofeedback.ui.screenshots OUT_DIR`` drives a real window on the
simulated patient faster than real time: a calibration, then a work-rest
exercise the simulated patient follows, a recording with markers, its replay
and its review.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

SIZE = (1280, 800)


def _wait(app, until, timeout_s: float = 60.0) -> None:
    import time

    from PySide6 import QtCore
    deadline = time.monotonic() + timeout_s
    loop = QtCore.QEventLoop()
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError("screenshot scene did not reach its state in time")
        QtCore.QTimer.singleShot(20, loop.quit)
        loop.exec()


def make_screenshots(out_dir: str | Path, theme: str = "light") -> list[Path]:
    """Write clinic.png, patient.png, replay.png and review.png into ``out_dir``; return their paths."""
    from biofeedback.signal.calibration import CalibrationPlan
    from biofeedback.ui.app import ensure_app
    from biofeedback.ui.main_window import MainWindow
    from biofeedback.ui.theme import apply_theme, get_theme

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    app = ensure_app()
    apply_theme(app, get_theme(theme))
    work = Path(tempfile.mkdtemp(prefix="biofeedback-shots-"))
    plan = CalibrationPlan(rest_s=20.0, rest_skip_s=3.0, efforts=3, prepare_s=2.0, contract_s=5.0, release_s=6.0)
    win = MainWindow(source="sim:healthy?abd=1&seed=7", theme=theme, speed=8.0, recordings_dir=work,
                     calibration_plan=plan)
    win.resize(*SIZE)
    win.show()
    shots: list[Path] = []

    wizard = win.open_calibration()
    wizard.start_button.click()
    _wait(app, lambda: wizard.result is not None or bool(wizard.error))
    wizard.accept()
    win.record_name.setText("demo-session")
    win.start_recording()
    if win.protocols:
        win.protocol_combo.setCurrentIndex(win.protocol_combo.findData("work-rest"))
        win.sim_follows.setChecked(True)     # the demo (off by default): the simulated patient does the exercise
        win.start_protocol("work-rest")
        win.engine.add_marker("start")
        # 60 s rest, then contractions: stop mid-way through the second contraction, a release behind it
        start = win.runner.start_s
        _wait(app, lambda: win.engine.time_s > start + 86.5)
        win.engine.add_marker("cramp left side")
    else:
        _wait(app, lambda: win.engine.time_s > 40.0)
    win.source.pacer.set_speed(1.0)
    _wait(app, lambda: win.plot.frames_drawn > 0)
    path = out / "clinic.png"
    win.grab().save(str(path))
    shots.append(path)

    win.set_patient_view(True, full_screen=False)
    _wait(app, lambda: win.patient.bar.value == win.patient.bar.value)   # a value has arrived (not NaN)
    _wait(app, lambda: True)
    path = out / "patient.png"
    win.grab().save(str(path))
    shots.append(path)
    win.set_patient_view(False)

    win.source.pacer.set_speed(8.0)
    t_mark = win.engine.time_s
    _wait(app, lambda: win.engine.time_s > t_mark + 25)
    recording = win.stop_recording()
    win.connect_source(f"replay:{recording}")
    win.replay_bar.seek(76.0)
    win.replay_bar.set_speed(2.0)
    _wait(app, lambda: win.source.position_s > 88.0)
    win.replay_bar.toggle()                                              # pause on a contraction
    _wait(app, lambda: True)
    path = out / "replay.png"
    win.grab().save(str(path))
    shots.append(path)

    review = win.open_review(recording)
    if review is not None:
        review.resize(*SIZE)
        review.show_range(55.0, 130.0)
        _wait(app, lambda: True)
        path = out / "review.png"
        review.grab().save(str(path))
        shots.append(path)
        review.close()
    win.close()
    return shots


if __name__ == "__main__":  # pragma: no cover - documentation helper
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    for p in make_screenshots(sys.argv[1] if len(sys.argv) > 1 else "screenshots",
                              sys.argv[2] if len(sys.argv) > 2 else "light"):
        print(p)
