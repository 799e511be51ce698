"""Writing output files safely: never over an existing file, never half-written.

Exports, reports and screenshots go through :func:`new_output` (checks, one
clear line when something is wrong) and :func:`atomic_output` (writes a
temporary file beside the target and renames it into place only when complete,
readable by the user only).

Temporary files are named ``.NAME.PID.RANDOM.part`` (:func:`temp_path`): the
process id in the name lets a later run remove the leftovers of a run that was
killed (:func:`clean_stale_parts`) without ever touching a file that is not
ours or that a live process is still writing.
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from biofeedback.errors import UserError

_SIDECARS = ("", "-wal", "-shm", "-journal")


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


def temp_path(out: str | os.PathLike) -> Path:
    """A fresh hidden name beside ``out`` that carries this process's id: ``.NAME.PID.RANDOM.part``."""
    path = Path(out)
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part")


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # another user's live process
        return True
    except OSError:
        return True
    return True


def clean_stale_parts(out: str | os.PathLike) -> list[Path]:
    """Remove leftovers of killed runs that wrote ``out``: only our own pattern, only when their process is gone.

    A leftover is ``.NAME.PID.HEX.part`` (and its SQLite ``-wal``/``-shm``/``-journal``) whose PID no longer
    runs. Files of a live process, of another name, or not matching the pattern exactly are never touched.
    """
    path = Path(out)
    pattern = re.compile(r"^\." + re.escape(path.name) + r"\.(\d+)\.[0-9a-f]{8}\.part(-wal|-shm|-journal)?$")
    removed: list[Path] = []
    try:
        names = os.listdir(path.parent if str(path.parent) else ".")
    except OSError:
        return removed
    for name in names:
        m = pattern.match(name)
        if not m or int(m.group(1)) == os.getpid() or _pid_alive(int(m.group(1))):
            continue
        leftover = path.with_name(name)
        try:
            if leftover.is_symlink() or not leftover.is_file():
                continue
            leftover.unlink()
            removed.append(leftover)
        except OSError:
            pass
    return removed


@contextlib.contextmanager
def atomic_output(out: str | os.PathLike, mode: int = 0o600) -> Iterator[Path]:
    """Yield a temporary path beside ``out``; on success it becomes ``out``, on failure it is removed."""
    path = Path(out)
    clean_stale_parts(path)
    tmp = temp_path(path)
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
        os.close(fd)
        os.chmod(tmp, mode)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        yield tmp
        if path.exists():
            raise UserError(f"{path} appeared while it was being written; the new file is not saved over it")
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        if getattr(exc, "errno", None) == 28:
            raise UserError(f"the disk is full; {path} was not written") from None
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: Path) -> None:
    for suffix in _SIDECARS:
        Path(str(tmp) + suffix).unlink(missing_ok=True)


def publish(tmp: str | os.PathLike, out: str | os.PathLike) -> None:
    """Give the finished file ``tmp`` the name ``out``, never replacing a file (a hard link, then unlink)."""
    tmp, out = Path(tmp), Path(out)
    try:
        os.link(tmp, out)
    except FileExistsError:
        raise UserError(f"{out} already exists; choose another name (nothing is overwritten)") from None
    except OSError:               # a file system without hard links (FAT, some network shares)
        if out.exists() or out.is_symlink():
            raise UserError(f"{out} already exists; choose another name (nothing is overwritten)") from None
        os.rename(tmp, out)
        return
    tmp.unlink()
