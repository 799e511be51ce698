"""Writing output files safely: never over an existing file, never half-written.

Exports, reports and screenshots go through :func:`new_output` (checks, one
clear line when something is wrong) and :func:`atomic_output` (writes a
temporary file beside the target and renames it into place only when complete,
readable by the user only).
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from biofeedback.errors import UserError


def new_output(out: str | os.PathLike, inputs: Iterable[str | os.PathLike] = (),
               suffixes: Iterable[str] | None = None, what: str = "output") -> Path:
    """Check that ``out`` can be created: a name, an existing writable folder, no existing file, not an input."""
    text = os.fspath(out)
    if not text.strip():
        raise UserError(f"the {what} file name is empty; give a file name")
    path = Path(text).expanduser()
    for src in inputs:
        try:
            if path.exists() and os.path.samefile(path, src):
                raise UserError(f"{path} is the file being read; choose another name for the {what}")
        except OSError:
            pass
    if path.is_dir():
        raise UserError(f"{path} is a folder; give a file name for the {what}")
    if path.exists() or path.is_symlink():
        raise UserError(f"{path} already exists; choose another name (nothing is overwritten)")
    if suffixes is not None:
        allowed = [s.lower() for s in suffixes]
        if path.suffix.lower() not in allowed:
            raise UserError(f"the {what} name must end in {' or '.join(allowed)}, not {path.name!r}")
    folder = path.parent
    if not folder.is_dir():
        raise UserError(f"folder {folder} does not exist; create it or choose another place for the {what}")
    try:
        probe = tempfile.NamedTemporaryFile(dir=folder, prefix=".bf-probe-", delete=True)
        probe.close()
    except OSError as exc:
        raise UserError(f"cannot write in {folder}: {exc.strerror or exc}") from None
    return path


@contextlib.contextmanager
def atomic_output(out: str | os.PathLike, mode: int = 0o600) -> Iterator[Path]:
    """Yield a temporary path beside ``out``; on success it becomes ``out``, on failure it is removed."""
    path = Path(out)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    os.chmod(tmp, mode)
    try:
        yield Path(tmp)
        if path.exists():
            raise UserError(f"{path} appeared while it was being written; the new file is not saved over it")
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if getattr(exc, "errno", None) == 28:
            raise UserError(f"the disk is full; {path} was not written") from None
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
