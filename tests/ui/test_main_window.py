"""The live window on real sources (offscreen Qt, the real engine, real recordings)."""
from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore

from biofeedback.files.recording import Recording, RecordingWriter
from biofeedback.signal.calibration import CalibrationPlan
from biofeedback.sources.patient import SimulatedPatient
from biofeedback.stream import Block, Event
from biofeedback.ui.main_window import MainWindow

REPO = Path(__file__).resolve().parents[2]
FAST_PLAN = CalibrationPlan(rest_s=6.0, rest_skip_s=1.0, efforts=3, prepare_s=1.0, contract_s=3.0, release_s=3.0)


def current_envelope(win: MainWindow) -> float:
    snap = win.engine.snapshot(0.3)
    return float(np.nanmean(snap.envelope[-20:, 0])) if snap.envelope.shape[0] else math.nan


def demo_recording(path: Path, seconds: float = 20.0) -> Path:
    """A recording made by the foundation's own command line, as a user would."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-m", "biofeedback", "record", "--source", "sim", "--duration", str(seconds),
                    "--speed", "max", "--out", str(path)], check=True, env=env, capture_output=True, timeout=60)
    return path


def recording_with_markers(path: Path, seconds: float = 20.0, markers=(5.0, 12.0)) -> Path:
    patient = SimulatedPatient("healthy", rate=1000.0, seed=3)
    with RecordingWriter(path, patient.info, {"bands": {"contraction_low": 20.0, "contraction_high": 40.0,
                                                         "release_high": 6.0, "mvc": 55.0}}) as w:
        n = int(seconds * 1000)
        for start in range(0, n, 1000):
            w.append(Block(start, patient.generate(1000)))
        for t in markers:
            w.add_event(Event(t, "marker", f"m{t:g}"))
    return path


def test_window_starts_on_simulated_patient_and_plot_receives_data(make_window, qtbot):
    win = make_window(source="sim:healthy")
    assert win.spec.startswith("sim") and win.patient_sim is not None
    assert "Simulated patient" in win.source_label.text()
    qtbot.waitUntil(lambda: win.plot.frames_drawn > 5 and win.plot.end_index > 1000, timeout=5000)
    x, y = win.plot._rows[0].curve.getData()
    assert x.size > 10 and np.isfinite(y).sum() > 10
    assert 0 < win.plot.current_value < 20          # a healthy simulated patient at rest, in µV
    qtbot.waitUntil(lambda: "Hz" in win.status_rate.text() and "dropped" in win.status_dropped.text(), timeout=3000)
    qtbot.waitUntil(lambda: "display" in win.status_latency.text(), timeout=3000)
    assert "streaming" in win.status_state.text()


def test_time_window_and_paused_view_keep_recording(make_window, qtbot):
    win = make_window(speed=4.0)
    win.set_window(30)
    assert win.plot.window_s == 30 and win.window_box.currentData() == 30
    qtbot.waitUntil(lambda: win.plot.frames_drawn > 3, timeout=5000)
    win.start_recording()
    win.pause_button.click()
    assert win.view_paused
    frozen = win.plot.end_index
    t0 = win.engine.time_s
    qtbot.waitUntil(lambda: win.engine.time_s > t0 + 2.0, timeout=5000)
    assert win.plot.end_index == frozen                   # the view stood still ...
    assert win.engine.recording_elapsed_s > 2.0           # ... while the recording went on
    win.pause_button.click()
    qtbot.waitUntil(lambda: win.plot.end_index > frozen, timeout=3000)


def test_calibration_sets_the_bands(make_window, qtbot, tmp_path):
    win = make_window(source="sim:healthy", speed=8.0, calibration_plan=FAST_PLAN)
    qtbot.waitUntil(lambda: win.engine.time_s > 0.5, timeout=5000)
    path = win.start_recording(tmp_path / "cal.bfr")
    wizard = win.open_calibration()
    wizard.start_button.click()
    qtbot.waitUntil(lambda: wizard.running, timeout=2000)
    seen_cues = set()
    wizard.cueChanged.connect(lambda cue, _d: seen_cues.add(cue))
    qtbot.waitUntil(lambda: wizard.result is not None or bool(wizard.error), timeout=15000)
    assert not wizard.error
    cal = wizard.result
    assert {"Squeeze as hard as you can", "Let go completely"} <= seen_cues
    # the simulated healthy patient: rest about 3 µV, maximum squeeze about 60 µV
    assert 1.0 < cal.rest_mean < 6.0
    assert 35.0 < cal.mvc < 90.0 and len(cal.effort_peaks) == 3
    bands = win.bands
    assert bands.mvc == pytest.approx(cal.mvc)
    assert bands.contraction_low == pytest.approx(0.4 * cal.mvc)
    assert bands.contraction_high == pytest.approx(0.7 * cal.mvc)
    assert bands.release_high == pytest.approx(cal.release_target)   # the release target rule (issue 11)
    assert cal.quality is not None and cal.quality["light"] in ("green", "amber")   # the signal check
    assert win.plot.bands == bands and win.bands_panel.bands == bands
    lo, hi = win.plot._regions["contraction"].getRegion()
    assert (lo, hi) == pytest.approx((bands.contraction_low, bands.contraction_high))
    assert win.patient_sim.script is None                 # the simulated patient is free again
    assert any(e.kind == "calibration" for e in win.engine.events_since(0)[0])
    win.stop_recording()
    with Recording.open(path) as rec:
        assert rec.meta["calibration"]["mvc"] == pytest.approx(cal.mvc)
        assert rec.meta["bands"]["contraction_high"] == pytest.approx(bands.contraction_high)
        cal_events = [e for e in rec.events if e.kind == "calibration"]
        assert len(cal_events) == 1 and cal_events[0].data["calibration"]["mvc"] == pytest.approx(cal.mvc)


def test_bands_typed_as_percent_of_max(make_window, qtbot):
    from biofeedback.signal.calibration import Bands
    win = make_window()
    win.controller.set_bands(Bands(20.0, 40.0, 5.0, mvc=50.0))
    panel = win.bands_panel
    panel.units.setCurrentIndex(1)                         # % of max
    assert panel.c_low.value() == pytest.approx(40.0) and panel.c_high.value() == pytest.approx(80.0)
    panel.c_high.setValue(60.0)
    panel.c_high.editingFinished.emit()
    assert win.bands.contraction_high == pytest.approx(30.0)
    assert win.plot._regions["contraction"].getRegion()[1] == pytest.approx(30.0)


def test_record_button_writes_recording_with_markers(make_window, qtbot, tmp_path):
    win = make_window(speed=4.0)
    qtbot.waitUntil(lambda: win.engine.time_s > 0.5, timeout=5000)
    win.record_name.setText("visit-1")
    win.record_button.click()
    assert win.writer is not None and win.recording_path.name == "visit-1.bfr"
    qtbot.waitUntil(lambda: win.engine.recording_elapsed_s > 1.0, timeout=5000)
    win.activateWindow()                                                    # shortcuts need the active window
    qtbot.waitUntil(win.isActiveWindow, timeout=3000)
    win.plot.view.setFocus()
    qtbot.keyClick(win.plot.view, QtCore.Qt.Key.Key_M)                       # M key: unlabelled marker
    assert win.markers_added == 1
    t_m = win.engine.time_s
    qtbot.waitUntil(lambda: win.engine.time_s > t_m + 0.5, timeout=5000)
    win.marker_label.setText("pain 3/10")
    win.marker_button.click()                                               # button with a label
    assert win.markers_added == 2
    t_b = win.engine.time_s
    qtbot.waitUntil(lambda: win.engine.time_s > t_b + 0.5, timeout=5000)
    qtbot.waitUntil(lambda: win.record_time.text().startswith("00:0"), timeout=2000)
    win.record_button.click()
    assert win.writer is None and "saved" in win.record_time.text()
    with Recording.open(win.recording_path) as rec:
        assert rec.closed_cleanly
        assert rec.duration_s > 1.5
        markers = [e for e in rec.events if e.kind == "marker"]
        assert [m.label for m in markers] == ["", "pain 3/10"]
        assert 0.5 < markers[0].time_s < markers[1].time_s < rec.duration_s
        assert rec.meta["source"].startswith("sim")
        assert "bands" in rec.meta


def test_demo_recording_replays_to_its_end(make_window, qtbot, tmp_path):
    path = demo_recording(tmp_path / "demo.bfr", 20.0)
    win = make_window(source=f"replay:{path}", speed=1.0)
    assert win.replay_bar.isVisible() and win.replay_bar.duration_s == pytest.approx(20.0)
    assert not win.record_button.isEnabled()
    win.replay_bar.set_speed(8.0)
    qtbot.waitUntil(lambda: win.source.finished and win.plot.end_index == 40000, timeout=10000)
    qtbot.waitUntil(lambda: win.replay_bar.play.text() == "Play", timeout=2000)
    assert "20.0 / 00:20.0" in win.replay_bar.position.text()
    assert "ended" in win.status_state.text()
    win.replay_bar.review.click()                       # the whole session at a glance
    assert win._review is not None and win._review.duration_s == pytest.approx(20.0)
    win._review.close()


def test_replay_seek_speed_and_event_jumps(make_window, qtbot, tmp_path):
    path = recording_with_markers(tmp_path / "marked.bfr")
    win = make_window(source=f"replay:{path}", speed=1.0)
    bar = win.replay_bar
    assert [t for t, _k in bar.slider.ticks] == [5.0, 12.0]
    assert win.bands.contraction_high == pytest.approx(40.0)               # bands stored in the recording
    bar.toggle()                                                            # pause
    assert win.source.paused and bar.play.text() == "Play"
    bar.seek(15.0)
    qtbot.waitUntil(lambda: abs(win.source.position_s - 15.0) < 1e-6, timeout=2000)
    qtbot.wait(100)
    assert win.source.position_s == pytest.approx(15.0)                     # paused: stays put
    bar.jump(-1)
    assert win.source.position_s == pytest.approx(12.0)
    bar.jump(-1)
    assert win.source.position_s == pytest.approx(5.0)
    bar.jump(+1)
    assert win.source.position_s == pytest.approx(12.0)
    bar.speed_box.setCurrentIndex(bar.speed_box.findData(4.0))
    assert win.source.pacer.speed == 4.0
    bar.toggle()                                                            # play at 4x from 12 s
    t_wall = QtCore.QElapsedTimer()
    t_wall.start()
    qtbot.waitUntil(lambda: win.source.position_s >= 16.0, timeout=5000)
    assert t_wall.elapsed() < 2500                                          # 4 s of signal well under 4 s
    qtbot.waitUntil(lambda: win.plot.end_index >= 16000, timeout=3000)
    x, y = win.plot._rows[0].curve.getData()
    assert np.isfinite(y).sum() > 10


def test_space_bar_makes_the_simulated_muscle_contract(make_window, qtbot):
    win = make_window(source="sim:healthy", speed=2.0)
    qtbot.waitUntil(lambda: win.engine.time_s > 2.0, timeout=5000)
    rest = current_envelope(win)
    assert rest < 10
    target = win.plot.view
    effort = win.practice_effort()
    qtbot.keyPress(target, QtCore.Qt.Key.Key_Space)
    assert effort.held                                                      # graded: the effort ramps up while held
    qtbot.waitUntil(lambda: current_envelope(win) > 25.0, timeout=5000)     # about 0.6 x 60 µV after ~2.4 s
    qtbot.waitUntil(lambda: win.plot.active_band == "contraction", timeout=1000)
    qtbot.keyRelease(target, QtCore.Qt.Key.Key_Space)
    assert not effort.held and effort.level == 0.0                          # let go at once (the default)
    qtbot.waitUntil(lambda: current_envelope(win) < 8.0, timeout=5000)      # the healthy profile lets go
    assert win.plot.active_band == "release"
    # the big on-screen button does the same
    win.practice_button.pressed.emit()
    assert effort.held
    win.practice_button.released.emit()
    assert not effort.held


def test_space_in_a_text_field_types_a_space(make_window, qtbot):
    win = make_window()
    win.marker_label.setFocus()
    qtbot.keyClick(win.marker_label, QtCore.Qt.Key.Key_A)
    qtbot.keyClick(win.marker_label, QtCore.Qt.Key.Key_Space)
    assert not win.practice_effort().held and win.practice_effort().level == 0.0
    assert win.marker_label.text() == "a "


def test_patient_view_shows_the_current_cue(make_window, qtbot):
    win = make_window(source="sim:healthy", speed=2.0)
    win.patient_button.click()
    assert win.patient_view_active
    assert not win.menuBar().isVisible() and not win.statusBar().isVisible()
    assert win.patient.cue.text() == "Rest and breathe"
    qtbot.keyPress(win.patient, QtCore.Qt.Key.Key_Space)
    assert win.patient.cue.text() == "Squeeze gently"
    qtbot.waitUntil(lambda: win.patient.bar.value > 25.0, timeout=5000)
    assert win.patient.bar.target == "contraction"
    qtbot.keyRelease(win.patient, QtCore.Qt.Key.Key_Space)
    assert win.patient.cue.text() == "Let go completely"
    qtbot.waitUntil(lambda: win.patient.bar.in_target and win.patient.bar.target == "release", timeout=5000)
    qtbot.keyClick(win.patient, QtCore.Qt.Key.Key_Escape)
    assert not win.patient_view_active and win.menuBar().isVisible()


def test_patient_view_follows_calibration_cues(make_window, qtbot):
    # 4x: each 3 s squeeze stays on screen for 0.75 s, long enough to be seen on a loaded machine
    win = make_window(source="sim:healthy", speed=4.0, calibration_plan=FAST_PLAN)
    wizard = win.open_calibration()
    wizard.start_button.click()
    win.set_patient_view(True)
    qtbot.waitUntil(lambda: win.patient.cue.text() == "Squeeze as hard as you can", timeout=30000)
    assert " s · squeeze " in win.patient.detail.text()
    wizard.reject()


def test_unknown_source_shows_one_line_and_keeps_window(make_window, qtbot):
    win = make_window(source="nonsense:thing")
    assert win.engine is None
    assert win.banner.isVisible() and "unknown source kind" in win.banner.text()
    assert win.connect_source("sim:weak")
    assert not win.banner.isVisible()
    qtbot.waitUntil(lambda: win.plot.frames_drawn > 2, timeout=5000)


def test_second_channel_gets_its_own_row(make_window, qtbot):
    win = make_window(source="sim:hypertonic?abd=1")
    names = [r.channel for r in win.plot._rows if r.kind == "envelope"]
    assert names == [0, 1]
    qtbot.waitUntil(lambda: win.plot.frames_drawn > 3, timeout=5000)
    assert np.isfinite(win.plot._rows[1].curve.getData()[1]).any()


def test_review_shows_whole_session_and_zooms(make_window, qtbot, tmp_path):
    from biofeedback.ui.review import ReviewWindow
    path = recording_with_markers(tmp_path / "review.bfr", seconds=30.0)
    rev = ReviewWindow(path)
    qtbot.addWidget(rev)
    rev.show()
    x, y = rev.overview_curve.getData()
    assert x[0] == pytest.approx(0.0, abs=0.01) and x[-1] == pytest.approx(30.0, abs=0.05)
    rev.show_range(10.0, 14.0)
    assert rev.detail_range == pytest.approx((10.0, 14.0), abs=0.05)
    xd, _ = rev.detail_curve.getData()
    assert xd[0] >= 9.9 and xd[-1] <= 14.1
    rev.show_range(0.0, rev.duration_s)
    assert rev.detail_range == pytest.approx((0.0, 30.0), abs=0.05)


def test_gui_command_saves_a_screenshot(tmp_path):
    out = tmp_path / "shot.png"
    env = dict(os.environ, PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-m", "biofeedback", "gui", "--screenshot", str(out), "--quit-after", "1.5"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    from PySide6.QtGui import QImage
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1280, 800)
    bad = subprocess.run([sys.executable, "-m", "biofeedback", "gui", "--source", "replay:/nonexistent.bfr",
                          "--screenshot", str(tmp_path / "x.png"), "--quit-after", "1"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr


def test_client_keeps_bands_and_recordings_go_into_the_library(qtbot, tmp_path):
    from biofeedback.clinic.library import Library
    from biofeedback.signal.calibration import Bands
    lib_path = tmp_path / "library.sqlite"
    with Library.open(lib_path) as lib:
        ana = lib.add_client("Ana")
    win = MainWindow(source="sim:healthy", speed=4.0, recordings_dir=tmp_path / "rec", library_path=lib_path)
    qtbot.addWidget(win)
    win.show()
    assert any(a.text() == "&Client" for a in win.menuBar().actions())
    win.clients.ask_diary = False
    win.clients.set_client(ana)
    assert "Ana" in win.client_label.text()
    win.controller.set_bands(Bands(10.0, 30.0, 4.0, mvc=50.0))
    win.bands_panel.c_high.setValue(35.0)
    win.bands_panel.c_high.editingFinished.emit()          # a hand edit is kept with the client
    qtbot.waitUntil(lambda: win.engine.time_s > 0.5, timeout=5000)
    path = win.start_recording()
    qtbot.waitUntil(lambda: win.engine.recording_elapsed_s > 1.0, timeout=5000)
    win.stop_recording()
    with Recording.open(path) as rec:
        assert rec.meta["client"] == "Ana"
    with Library.open(lib_path) as lib:
        client = lib.client("Ana")
        assert client.bands["contraction_high"] == pytest.approx(35.0)
        sessions = lib.sessions(client)
        assert [Path(s.recording_path).name for s in sessions] == [path.name]
    win.close()
    # next session: choosing the client brings her bands back
    win2 = MainWindow(source="sim:healthy", speed=4.0, recordings_dir=tmp_path / "rec", library_path=lib_path)
    qtbot.addWidget(win2)
    with Library.open(lib_path) as lib:
        win2.clients.set_client(lib.client("Ana"))
    assert win2.bands.contraction_high == pytest.approx(35.0) and win2.bands.mvc == pytest.approx(50.0)
    win2.close()


def test_guided_exercise_sets_band_cue_and_stores_summary(make_window, qtbot, tmp_path):
    win = make_window(source="sim:healthy?rate=1000", speed=40.0)
    if not win.protocols:
        pytest.skip("no protocols installed")
    win.start_protocol("quick-flicks")
    assert win.runner is not None and win.protocol_button.text() == "Stop exercise"
    path = win.start_recording(tmp_path / "flicks.bfr")
    qtbot.waitUntil(lambda: win.plot.active_band == "contraction", timeout=10000)
    assert win.cue_text == win.runner.current(win.engine.time_s).step.cue or win.cue_text
    if win.cue_panel is not None:
        assert win.cue_panel.isVisible()
    qtbot.waitUntil(lambda: win.runner is None, timeout=20000)                # ran to its end
    win.stop_recording()
    with Recording.open(path) as rec:
        assert rec.meta.get("protocol") == "quick-flicks"
        assert "summary" in rec.meta and rec.meta["summary"].get("trials")
        assert any(e.kind == "step" for e in rec.events)


def test_theme_and_plot_mode_switch_keep_drawing(make_window, qtbot):
    win = make_window(speed=2.0)
    win.set_theme("dark")
    assert win.plot.view.backgroundBrush().color().name() == "#121417"
    win.plot.set_mode("scroll")
    n = win.plot.frames_drawn
    qtbot.waitUntil(lambda: win.plot.frames_drawn > n + 3, timeout=3000)
    x, _y = win.plot._rows[0].curve.getData()
    assert x.max() <= 0.0 + 1e-9                       # scrolling: seconds before now
    win.plot.set_mode("sweep")
    n = win.plot.frames_drawn
    qtbot.waitUntil(lambda: win.plot.frames_drawn > n + 3, timeout=3000)
    assert win.plot._rows[0].sweep is not None


def test_sweep_repaints_leave_no_stale_trace(make_window, qtbot):
    """Only small boxes are repainted each frame: what is on screen must still equal a full fresh render."""
    from PySide6 import QtGui
    win = make_window(source="sim:healthy?abd=1", speed=4.0)
    assert win.plot.mode == "sweep"
    for k in range(5):                                   # squeezes and releases: the trace jumps up and down
        win.set_practice(k % 2 == 0)
        t0 = win.engine.time_s
        qtbot.waitUntil(lambda t0=t0: win.engine.time_s > t0 + 3.0, timeout=5000)
    win.timer.stop()
    qtbot.wait(100)                                      # let the last frame's paint happen
    on_screen = QtGui.QGuiApplication.primaryScreen().grabWindow(win.winId()).toImage()
    fresh = win.grab().toImage()
    view = win.plot.view
    origin = view.mapTo(win, QtCore.QPoint(0, 0))
    a = on_screen.copy(QtCore.QRect(origin, view.size()))
    b = fresh.copy(QtCore.QRect(origin, view.size()))
    pa = np.frombuffer(a.convertToFormat(QtGui.QImage.Format.Format_RGB32).constBits(), np.uint32)
    pb = np.frombuffer(b.convertToFormat(QtGui.QImage.Format.Format_RGB32).constBits(), np.uint32)
    assert pa.size == pb.size > 100_000
    # a stale trace would leave thousands of wrong pixels; joins of strip-wise polylines differ by a few
    assert np.count_nonzero(pa != pb) < 0.0005 * pa.size


def test_serial_sensor_streams_and_unplugging_shows_it(make_window, qtbot, tmp_path):
    """A device emulator on a pseudo-terminal: the window plots it, then says so when it is unplugged."""
    import time as _time
    link = tmp_path / "cyton"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    emu = subprocess.Popen([sys.executable, "-m", "biofeedback", "emulate", "openbci-cyton", "--link", str(link)],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = _time.monotonic() + 15
        while not link.exists() and _time.monotonic() < deadline and emu.poll() is None:
            _time.sleep(0.05)
        assert link.exists(), emu.stderr.read().decode() if emu.poll() is not None else "no link"
        win = make_window(source=f"serial:{link}?device=openbci-cyton&wait=0")
        assert win.engine is not None, win.banner.text()
        assert "Sensor" in win.source_label.text() and not win.practice_box.isVisible()
        qtbot.waitUntil(lambda: win.plot.frames_drawn > 5 and np.isfinite(win.plot.current_value), timeout=10000)
        qtbot.waitUntil(lambda: "streaming" in win.status_state.text(), timeout=3000)
        assert win.engine.info.rate == 250
        emu.terminate()
        emu.wait(timeout=10)
        qtbot.waitUntil(lambda: win.banner.isVisible() and "disconnected" in win.banner.text(), timeout=10000)
        qtbot.waitUntil(lambda: "disconnected" in win.status_state.text(), timeout=3000)
    finally:
        if emu.poll() is None:
            emu.kill()
            emu.wait()


def test_recording_where_it_cannot_be_written_says_so_and_keeps_running(make_window, qtbot, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the recordings folder should be")
    win = make_window(speed=2.0)
    assert win.start_recording(blocker / "session.bfr") is None
    assert win.writer is None and not win.record_button.isChecked()
    assert win.banner.isVisible() and "Cannot record" in win.banner.text()
    n = win.plot.frames_drawn
    qtbot.waitUntil(lambda: win.plot.frames_drawn > n + 3, timeout=3000)     # the live view goes on


def test_replay_after_a_guided_session_does_not_keep_its_summary_on_screen(make_window, qtbot, tmp_path):
    win = make_window(speed=None)
    win.cue_panel.show_summary({"resting_tone_uv": 3.0, "release_latency_s": 0.9})
    win.cue_panel.setVisible(True)
    win.cues.summary_shown = True
    path = demo_recording(tmp_path / "after.bfr", 5.0)
    assert win.connect_source(f"replay:{path}")
    assert not win.cue_panel.isVisible() and win.cue_big.isVisible()


def test_recording_name_field_shows_the_start_of_the_name(make_window, qtbot, tmp_path):
    """Issue 15: the name of a running recording reads from its beginning, whole when it fits."""
    win = make_window(source="sim:healthy")
    qtbot.waitUntil(lambda: win.controller.engine is not None, timeout=5000)
    name = "anna-glazer-week-three-second-visit"
    win.record_name.setText(name)
    win.start_recording()
    field = win.record_name
    assert field.text() == name + ".bfr" and field.isReadOnly()
    assert field.cursorPosition() == 0
    assert field.maximumWidth() >= field.fontMetrics().horizontalAdvance(field.text())
    assert name in field.toolTip()
    win.stop_recording()


def test_recording_keeps_the_window_on_a_laptop_screen(make_window, qtbot, qapp):
    """A clinic laptop shows 1024 x 640: starting a recording must not push the window wider than that,
    and on a wider screen the bar's spare room still shows the whole name."""
    from biofeedback.ui.theme import LIGHT, apply_theme
    apply_theme(qapp, LIGHT)                             # the program's own 10.5 pt font
    win = make_window(source="sim:healthy")
    win.resize(1024, 640)
    qtbot.waitUntil(lambda: win.controller.engine is not None, timeout=5000)
    qtbot.wait(50)
    room = 1024
    assert win.minimumSizeHint().width() <= room and win.width() <= room
    name = "anna-glazer-week-three-second-visit"
    win.record_name.setText(name)
    win.start_recording()
    qtbot.wait(50)
    assert win.minimumSizeHint().width() <= room and win.width() <= room
    assert win.record_name.cursorPosition() == 0 and name in win.record_name.toolTip()
    win.resize(room + 400, 800)
    field = win.record_name
    qtbot.waitUntil(lambda: field.width() >= field.fontMetrics().horizontalAdvance(field.text()), timeout=2000)
    win.stop_recording()


def test_the_practice_hint_is_never_squeezed_under_its_button(make_window, qtbot):
    """Walkthrough at a laptop's height: the side panel squeezed the wrapped hint under "Hold to squeeze";
    at the window's smallest the hint keeps its lines (the window's minimum height grows to 631 pixels)."""
    from biofeedback.signal.calibration import Calibration
    win = make_window(source="sim:healthy")
    qtbot.waitUntil(lambda: win.controller.engine is not None, timeout=5000)
    win.apply_calibration(Calibration(rest_mean=3.0, rest_sd=0.3, mvc=60.0, effort_peaks=[60.0, 58.0, 57.0],
                                      noise_floor=2.0, rest_cv_pct=8.0))
    win.resize(1024, 400)                          # smaller than it can be: the window keeps its minimum
    qtbot.wait(50)
    button, hint = win.controls.practice_button, win.controls.practice_hint
    assert button.isVisible() and hint.isVisible()
    assert button.geometry().bottom() < hint.geometry().top()
    assert hint.height() >= hint.heightForWidth(hint.width())
