"""The cue panel and breathing pacer, in a real offscreen window, driven by explicit stream times."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtWidgets import QApplication

from biofeedback.protocols import ProtocolRunner, load_protocol, timeline
from biofeedback.ui.cues import (
    CONTRACTION_COLOR,
    RELEASE_COLOR,
    BreathingPacer,
    CuePanel,
    breath_size,
    format_countdown,
)


@pytest.fixture
def panel(qtbot):
    w = CuePanel()
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_glazer_cues_advance_on_time(panel, qtbot):
    p = load_protocol("glazer")
    panel.set_protocol(p, start_s=10.0)
    seen: list[int] = []
    panel.stepChanged.connect(seen.append)
    panel.set_time(5.0)
    assert panel.state is None and seen == []
    panel.set_time(10.0)
    assert seen == [0] and panel.cue_label.text() == p.steps[0].cue
    assert panel.countdown.text() == "1:00"
    assert panel.next_label.text() == "Next: Quick squeeze, then let go (2 s)"
    panel.set_time(10.0 + 59.99)
    assert seen == [0] and panel.countdown.text() == "1"
    panel.set_time(10.0 + 60.0)                       # the first flick starts exactly on time
    assert seen == [0, 1] and panel.cue_label.text() == "Quick squeeze, then let go"
    assert panel.countdown.text() == "2" and "contraction" in panel.band_tag.text()
    panel.set_time(10.0 + 61.0)
    assert panel.countdown.text() == "1" and panel.progress.value() == 500
    # walk the whole assessment at 10 frames a second: every step shows once, in order, at its start
    starts = [a for a, _, _ in timeline(p, 10.0)]
    t = 10.0 + 61.0
    while t < 10.0 + p.total_s + 1:
        panel.set_time(t)
        if panel.state is not None:
            assert starts[panel.state.index] <= t < starts[panel.state.index] + p.steps[panel.state.index].duration_s
        t = round(t + 0.1, 6)
    assert seen == list(range(len(p.steps)))
    assert panel.state is None and "session complete" in panel.cue_label.text()


def test_update_state_from_an_external_runner(panel):
    p = load_protocol("work-rest")
    runner = ProtocolRunner(p)
    panel.update_state(runner.current(65.2), 65.2)
    assert panel.cue_label.text() == "Squeeze and hold"
    assert panel.countdown.text() == "5" and panel.countdown_unit.text() == "seconds left"
    assert panel.next_label.text() == "Next: Let go completely (10 s)"
    assert "step 2 of 22" in panel.header.text()
    assert not panel.pacer.isVisible()
    panel.update_state(runner.current(p.total_s - 30), p.total_s - 30)
    assert panel.next_label.text() == "Next: finished" and "release" in panel.band_tag.text()


def test_breathing_pacer_shows_in_relaxation_and_leads_the_release_on_the_in_breath(panel, qtbot):
    p = load_protocol("relaxation")
    panel.set_protocol(p)
    panel.set_time(30.0)                              # pre-baseline: slow breathing
    assert panel.pacer.isVisible() and panel.pacer.instruction() in ("Breathe in", "Breathe out")
    panel.set_time(61.0)                              # gentle contraction: no pacer
    assert panel.state.step.kind == "contract" and not panel.pacer.isVisible()
    release_start = timeline(p)[2][0]
    panel.set_time(release_start + 0.1)               # the release cue comes with an in-breath
    assert panel.state.step.kind == "release" and panel.pacer.isVisible()
    assert panel.pacer.instruction() == "Breathe in"
    small = _blue_area(panel.pacer)
    panel.set_time(release_start + 3.9)               # lungs nearly full
    assert panel.pacer.instruction() == "Breathe in"
    big = _blue_area(panel.pacer)
    panel.set_time(release_start + 4.5)
    assert panel.pacer.instruction() == "Breathe out"
    assert big > 3 * small > 0


def _blue_area(pacer: BreathingPacer) -> int:
    img = pacer.grab().toImage()
    fill = QColor("#56B4E9")
    n = 0
    for y in range(0, img.height(), 3):
        for x in range(0, img.width(), 3):
            c = img.pixelColor(x, y)
            if abs(c.red() - 166) < 40 and abs(c.green() - 211) < 30 and c.blue() > 220 and c != fill:
                n += 1
    return n


def test_pacer_pace_follows_the_protocol(qtbot):
    pacer = BreathingPacer()
    qtbot.addWidget(pacer)
    p = load_protocol("relaxation", breathing_bpm=4.0)
    runner = ProtocolRunner(p)
    state = runner.current(16.0)                      # 4 a minute: 15 s a breath, 6 s in
    pacer.update_state(state, 16.0)
    assert pacer.phase == pytest.approx(1 / 15) and pacer.instruction() == "Breathe in"
    pacer.update_state(runner.current(21.5), 21.5)
    assert pacer.instruction() == "Breathe out"
    pacer.update_state(None)
    assert pacer.phase is None and pacer.instruction() == ""


def test_cue_text_is_large_and_fits(panel):
    panel.set_protocol(load_protocol("dilator"))
    panel.set_time(100.0)
    f = panel.cue_label.font()
    assert f.pixelSize() >= 32 and f.bold()
    box = panel.cue_label.contentsRect()
    r = QFontMetrics(f).boundingRect(box, int(panel.cue_label.alignment()) | 0x1000, panel.cue_label.text())
    assert r.width() <= box.width() and r.height() <= box.height()
    assert panel.countdown.font().pixelSize() >= 60
    panel.resize(640, 360)
    QApplication.processEvents()
    assert panel.width() == 640  # nothing forces the panel wider than its place


def test_band_colours_are_colour_blind_safe_and_named(panel):
    panel.set_protocol(load_protocol("glazer"))
    panel.set_time(1.0)
    assert RELEASE_COLOR.name() in panel.band_tag.styleSheet() and "release band" in panel.band_tag.text()
    panel.set_time(60.5)
    assert CONTRACTION_COLOR.name() in panel.band_tag.styleSheet() and "contraction band" in panel.band_tag.text()


def test_optional_tone_on_step_change(panel, monkeypatch):
    beeps = []
    monkeypatch.setattr(QApplication, "beep", staticmethod(lambda: beeps.append(1)))
    panel.set_protocol(load_protocol("glazer"))
    panel.set_time(1.0)
    assert beeps == []
    panel.tone_enabled = True
    panel.set_time(60.0)
    panel.set_time(60.5)
    assert beeps == [1]


def test_helpers():
    assert format_countdown(0.2) == "1" and format_countdown(0) == "0" and format_countdown(65) == "1:05"
    assert format_countdown(60) == "1:00" and format_countdown(59.01) == "1:00"
    assert breath_size(0.0) == pytest.approx(0) and breath_size(0.4) == pytest.approx(1)
    assert breath_size(0.7) == pytest.approx(0.5) and breath_size(1.0) == pytest.approx(0)


def test_session_summary_shows_at_the_end(panel):
    from biofeedback.ui.cues import summary_lines
    summary = {"unit": "uV", "resting_tone_uv": 8.42, "post_resting_tone_uv": 7.9, "trials": 11,
               "trials_released": 9, "release_latency_s": 1.84, "time_in_band_pct": 63.2, "contraction_peak_uv": 41.3}
    panel.set_protocol(load_protocol("glazer"))
    panel.set_time(70.0)
    panel.show_summary(summary)
    assert panel.summary_label.isVisible() and not panel.countdown.isVisible() and not panel.pacer.isVisible()
    assert "session complete" in panel.cue_label.text()
    text = panel.summary_label.text()
    assert "Resting tone 8.4 µV, at the end 7.9 µV" in text and "9 of 11" in text and "1.8 s" in text
    assert summary_lines({"unit": "cmH2O", "resting_tone_cmh2o": 20.0, "trials": 0}) == ["Resting tone 20.0 cmH2O"]
    pressure = summary_lines({"unit": "cmH2O", "resting_tone_cmh2o": 20.0, "trials": 0,
                              "contraction_peak_cmh2o": 23.94, "contraction_baseline_cmh2o": 20.0})
    assert pressure == ["Resting tone 20.0 cmH2O", "Squeeze peak 23.9 cmH2O above rest"]
    assert "Contraction peak 41.3 µV" in text
    panel.set_time(75.0)  # a new session takes the screen back
    assert not panel.summary_label.isVisible() and panel.countdown.isVisible()


def test_narrow_place_puts_the_pacer_under_the_words_and_nothing_is_cut(qtbot):
    w = CuePanel()
    qtbot.addWidget(w)
    w.resize(480, 700)
    w.show()
    qtbot.waitExposed(w)
    w.set_protocol(load_protocol("relaxation"))
    w.set_time(67.0)
    QApplication.processEvents()
    assert w.pacer.isVisible() and w.pacer.geometry().top() >= w.next_label.geometry().bottom()
    nl = w.next_label
    assert nl.height() >= QFontMetrics(nl.font()).height()
    assert nl.full_text().startswith("Next: Keep breathing")
    w.resize(1280, 400)
    QApplication.processEvents()
    assert w.pacer.geometry().left() > w.cue_label.geometry().right()


def test_low_strip_above_a_plot(qtbot):
    """As the live window places it: at most 230 px high above the plot; the countdown goes left of the cue."""
    from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget
    host = QWidget()
    qtbot.addWidget(host)
    lay = QVBoxLayout(host)
    panel = CuePanel()
    panel.setMaximumHeight(230)
    lay.addWidget(panel)
    plot = QLabel("plot")
    plot.setMinimumHeight(400)
    lay.addWidget(plot, 1)
    host.resize(1280, 800)
    host.show()
    qtbot.waitExposed(host)
    panel.set_protocol(load_protocol("relaxation"))
    panel.set_time(67.0)
    QApplication.processEvents()
    assert panel.height() <= 230 and panel.strip
    cd, cue = panel.countdown.geometry(), panel.cue_label.geometry()
    assert cd.right() < cue.left() and panel.countdown.text() == "18"
    assert QFontMetrics(panel.countdown.font()).height() <= cd.height()
    f = panel.cue_label.font()
    r = QFontMetrics(f).boundingRect(panel.cue_label.contentsRect(), int(panel.cue_label.alignment()) | 0x1000,
                                     panel.cue_label.text())
    assert f.pixelSize() >= 30 and r.height() <= panel.cue_label.height()
    assert panel.pacer.isVisible() and panel.pacer.geometry().left() > cue.right()
    panel.show_summary({"unit": "uV", "resting_tone_uv": 8.4, "trials": 11, "trials_released": 9,
                        "release_latency_s": 3.1, "release_latency_released_s": 1.8, "time_in_band_pct": 63.0})
    assert "9 of 11 tries, in 1.8 s" in panel.summary_label.text() and not panel.progress.isVisible()
