"""`biofeedback gui --screenshot`: never over an existing file; a PNG appears whole."""
from tests.helpers import assert_one_line_error, run_cli


def test_screenshot_refuses_to_overwrite_anything(tmp_path):
    (tmp_path / "visit.bfr").write_bytes(b"a patient's recording")
    r = run_cli("gui", "--screenshot", "visit.bfr", "--quit-after", "1", cwd=tmp_path)
    assert "already exists" in assert_one_line_error(r)
    r = run_cli("gui", "--screenshot", "new.bfr", "--quit-after", "1", cwd=tmp_path)
    assert "must end in .png" in assert_one_line_error(r)
    (tmp_path / "old.png").write_bytes(b"old")
    r = run_cli("gui", "--screenshot", "old.png", "--quit-after", "1", cwd=tmp_path)
    assert "already exists" in assert_one_line_error(r)
    assert (tmp_path / "visit.bfr").read_bytes() == b"a patient's recording"
    assert (tmp_path / "old.png").read_bytes() == b"old"


def test_screenshot_is_a_png_of_the_window(tmp_path):
    r = run_cli("gui", "--source", "sim:hypertonic?seed=2", "--screenshot", "w.png", "--quit-after", "1.5",
                cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    data = (tmp_path / "w.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.png"]


def test_screenshot_is_readable_by_its_owner_only(tmp_path):
    import stat
    r = run_cli("gui", "--source", "sim:healthy?seed=1", "--screenshot", "p.png", "--quit-after", "1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE((tmp_path / "p.png").stat().st_mode) == 0o600
