import os
import stat

import pytest

from biofeedback.errors import UserError
from biofeedback.files.outputs import atomic_output, new_output


def test_refuses_existing_files_inputs_folders_and_missing_folders(tmp_path):
    src = tmp_path / "in.bfr"
    src.write_bytes(b"precious")
    with pytest.raises(UserError, match="already exists"):
        new_output(src)
    with pytest.raises(UserError, match="being read"):
        new_output(src, inputs=[src])
    with pytest.raises(UserError, match="folder"):
        new_output(tmp_path)
    with pytest.raises(UserError, match="does not exist"):
        new_output(tmp_path / "no" / "x.csv")
    with pytest.raises(UserError, match="empty"):
        new_output("")
    with pytest.raises(UserError, match="must end in .png"):
        new_output(tmp_path / "shot.bfr", suffixes=[".png"], what="screenshot")
    with pytest.raises(UserError, match="cannot write"):
        new_output("/proc/x.csv")
    assert src.read_bytes() == b"precious"
    assert new_output(tmp_path / "fresh.csv") == tmp_path / "fresh.csv"


def test_atomic_output_appears_whole_or_not_at_all(tmp_path):
    out = tmp_path / "a.csv"
    with atomic_output(out) as tmp:
        tmp.write_text("hello")
        assert not out.exists()
    assert out.read_text() == "hello"
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    bad = tmp_path / "b.csv"
    with pytest.raises(RuntimeError):
        with atomic_output(bad) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert not bad.exists() and [p.name for p in tmp_path.iterdir()] == ["a.csv"]
