"""Small texts and help: a Help menu with a short first-run guide, tooltips on icon-like buttons, plurals,
and an aligned `history` table."""
from PySide6 import QtWidgets


def test_help_menu_opens_the_first_steps_guide(make_window, qtbot):
    win = make_window(source="sim:healthy")
    menus = {a.text().replace("&", ""): a.menu() for a in win.menuBar().actions() if a.menu()}
    assert "Help" in menus
    first = next(a for a in menus["Help"].actions() if a.text() == "First steps…")
    first.trigger()
    qtbot.waitUntil(lambda: getattr(win, "_guide", None) is not None and win._guide.isVisible(), timeout=3000)
    text = win._guide.text.toPlainText()
    for words in ("What the bands mean", "release band", "contraction band", "How to calibrate",
                  "How to practise at home", "Any day you practise counts", "arrow keys"):
        assert words in text


def test_icon_like_buttons_have_tooltips(make_window):
    win = make_window(source="sim:healthy")
    for name in ("record_button", "marker_button"):
        assert getattr(win, name).toolTip(), name
    bar = win.replay_bar
    for button in (bar.prev_event, bar.next_event, bar.play):
        assert button.toolTip()
    buttons = [b for b in win.findChildren(QtWidgets.QAbstractButton)
               if b.isVisibleTo(win) and b.text() and not any(c.isalpha() for c in b.text()[:1])]
    assert all(b.toolTip() for b in buttons), [b.text() for b in buttons if not b.toolTip()]


def test_history_command_table_is_aligned(tmp_path, capsys):
    from biofeedback.cli import main
    from biofeedback.clinic.library import Library
    with Library.open(tmp_path / "lib.sqlite") as lib:
        c = lib.add_client("Dee")
        for i, (when, protocol) in enumerate([("2026-12-01T09:00:00", "glazer"),
                                              ("2026-12-02T09:00:00", "relaxation")]):
            lib.add_session(c, tmp_path / f"{i}.bfr", when, protocol, 300,
                            {"unit": "uV", "resting_tone_uv": 10.0 + i, "release_latency_s": 12.5,
                             "contraction_peak_uv": 40.0})
    assert main(["history", "Dee", "--library", str(tmp_path / "lib.sqlite")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Dee: 2 sessions, 0 diary entries"
    head, rows = lines[1], lines[2:4]
    # every column ends (figures) or starts (text) at the same place, with room between the headings
    for label in ("Resting tone", "Release time", "Contraction peak (typical)"):
        end = head.index(label) + len(label)
        assert all(r[end - 1] != " " and (len(r) == end or r[end] == " ") for r in rows), (label, head, rows)
    assert "  Resting tone  Release time  " in head and head.index("programme") == rows[0].index("glazer")
