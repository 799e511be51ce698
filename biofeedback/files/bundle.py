"""Bundles: the files that carry a home programme (``.bfprog``) and home practice (``.bfpack``).

A bundle is a zip archive with every member *stored* (not compressed: recordings are
already compact, and a stored archive cannot hide a decompression bomb) plus a
``manifest.json`` that says what the bundle is::

    {"format": "biofeedback-programme", "format_version": 1, "program_version": "0.1.0",
     "created": "2026-12-01T14:00:00+00:00", "client_id": "<uuid4>",
     "members": {"programme.json": {"sha256": "...", "size": 1234}, ...}}

Reading never trusts the archive: :func:`open_bundle` checks the member names (no absolute
paths, no ``..``, no links, no duplicates, no folders), the sizes (a bundle may not unpack
to more than :data:`MAX_TOTAL_BYTES`), the format and its version, and then copies each
member into a private temporary folder (0700) while computing its SHA-256, so that a damaged,
truncated or tampered bundle is refused *before* anything is imported. Nothing in a bundle
is ever executed or unpacked anywhere but that folder, which is removed afterwards.

Writing goes through :mod:`biofeedback.files.outputs`: the name is checked first, the file
appears whole or not at all, readable by its owner only, and never over an existing file.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from biofeedback import __version__
from biofeedback.errors import UserError
from biofeedback.files.outputs import atomic_output, new_output

MANIFEST = "manifest.json"
#: Largest manifest accepted (it lists names and hashes only).
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
#: Largest bundle content accepted: 20 weeks of daily sessions fit many times over.
MAX_TOTAL_BYTES = 8 * 1024**3
MAX_MEMBERS = 20_000
_COPY_CHUNK = 1024 * 1024


class BundleError(UserError):
    """A bundle that cannot be used: damaged, truncated, tampered with, of another kind, or too new."""


@dataclass(frozen=True)
class Bundle:
    """An opened, verified bundle: its manifest and the private folder its members were copied to."""

    path: Path
    folder: Path
    manifest: dict[str, Any]

    @property
    def client_id(self) -> str:
        return str(self.manifest.get("client_id") or "")

    @property
    def format_version(self) -> int:
        return int(self.manifest["format_version"])

    def member(self, name: str) -> Path:
        """The verified copy of a member (one clear line if the bundle lacks it)."""
        if name not in self.manifest["members"]:
            raise BundleError(f"{self.path.name} has no {name}; it is damaged or not made by this program")
        return self.folder / name

    def read_json(self, name: str) -> Any:
        try:
            return json.loads(self.member(name).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise BundleError(f"{self.path.name}: {name} is not readable JSON; the bundle is damaged") from None


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _check_name(name: str, where: str) -> str:
    """A member name that stays inside the bundle's folder: relative, no ``..``, no drive, no backslash."""
    posix = PurePosixPath(name)
    if (not name or name.startswith("/") or "\\" in name or ":" in name or "\x00" in name
            or any(part in ("", ".", "..") for part in name.split("/")) or posix.is_absolute()):
        raise BundleError(f"{where}: unsafe member name {name!r}; the bundle is refused")
    return name


def _sha256_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_COPY_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


# --------------------------------------------------------------------------- writing

def write_bundle(out: str | os.PathLike, format_name: str, format_version: int, client_id: str,
                 members: Mapping[str, bytes | Path], suffix: str, what: str) -> Path:
    """Write a bundle of ``members`` (bytes, or a file to copy) with its manifest; never over a file.

    ``what`` names the file in messages ("home programme"); ``suffix`` is its required ending.
    """
    path = new_output(out, suffixes=[suffix], what=what,
                      inputs=[m for m in members.values() if isinstance(m, Path)])
    entries: dict[str, dict[str, Any]] = {}
    for name, content in members.items():
        _check_name(name, "bundle")
        if name == MANIFEST:
            raise ValueError("the manifest is written by write_bundle itself")
        if isinstance(content, Path):
            sha, size = _sha256_file(content)
        else:
            sha, size = hashlib.sha256(content).hexdigest(), len(content)
        entries[name] = {"sha256": sha, "size": size}
    manifest = {"format": format_name, "format_version": format_version, "program_version": __version__,
                "created": _now(), "client_id": client_id, "members": entries}
    with atomic_output(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            zf.writestr(_info(MANIFEST), json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8"))
            for name, content in members.items():
                if isinstance(content, Path):
                    with open(content, "rb") as src, zf.open(_info(name), "w", force_zip64=True) as dst:
                        shutil.copyfileobj(src, dst, _COPY_CHUNK)
                else:
                    zf.writestr(_info(name), content)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
    return path


def _info(name: str) -> zipfile.ZipInfo:
    """A member entry: a regular file readable by its owner only, stored."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = (stat.S_IFREG | 0o600) << 16
    return info


# --------------------------------------------------------------------------- reading

def _open_zip(path: Path, what: str) -> zipfile.ZipFile:
    if path.is_dir():
        raise BundleError(f"{path} is a folder; give the {what} file")
    if not path.exists():
        raise BundleError(f"no such file: {path}")
    try:
        return zipfile.ZipFile(path, "r")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise BundleError(f"{path.name} is not a readable {what} (damaged, truncated, or another kind of "
                          f"file: {exc}); ask for it to be sent again") from None


def _check_entries(zf: zipfile.ZipFile, where: str) -> dict[str, zipfile.ZipInfo]:
    """Every entry a plain stored file with a safe, unique name; sizes within bounds."""
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise BundleError(f"{where}: too many members ({len(infos)}); the bundle is refused")
    by_name: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = _check_name(info.filename, where)
        if name in by_name:
            raise BundleError(f"{where}: the member {name!r} appears twice; the bundle is refused")
        kind = stat.S_IFMT(info.external_attr >> 16)      # 0 when the writer recorded no file type
        if info.is_dir() or kind not in (0, stat.S_IFREG):
            raise BundleError(f"{where}: {name!r} is not a plain file (a folder or a link); the bundle is refused")
        if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
            raise BundleError(f"{where}: {name!r} is compressed; bundles hold stored members only")
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise BundleError(f"{where}: the bundle would unpack to more than {MAX_TOTAL_BYTES // 1024**3} GB; refused")
        by_name[name] = info
    return by_name


def _read_manifest(zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], where: str, format_name: str,
                   max_version: int, what: str) -> dict[str, Any]:
    info = infos.get(MANIFEST)
    if info is None:
        raise BundleError(f"{where} has no manifest; it is not a {what} made by this program")
    if info.file_size > MAX_MANIFEST_BYTES:
        raise BundleError(f"{where}: the manifest is too large; the bundle is refused")
    try:
        manifest = json.loads(zf.read(info).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, OSError):
        raise BundleError(f"{where}: the manifest is damaged; ask for the file to be sent again") from None
    if not isinstance(manifest, dict) or manifest.get("format") != format_name:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise BundleError(f"{where} is not a {what} (it is {found or 'something else'!s})")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise BundleError(f"{where}: the manifest has no valid format version; the bundle is refused")
    if version > max_version:
        raise BundleError(f"{where} was written by a newer version of biofeedback "
                          f"({manifest.get('program_version', '?')}, {what} format {version}; this one reads up to "
                          f"{max_version}); update the program")
    members = manifest.get("members")
    if not isinstance(members, dict):
        raise BundleError(f"{where}: the manifest lists no members; the bundle is refused")
    listed, present = set(members), set(infos) - {MANIFEST}
    if listed != present:
        missing, extra = sorted(listed - present), sorted(present - listed)
        detail = f"missing {', '.join(missing)}" if missing else f"unlisted {', '.join(extra)}"
        raise BundleError(f"{where} does not match its manifest ({detail}); it is damaged or was changed")
    for name, entry in members.items():
        if (not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str)
                or not isinstance(entry.get("size"), int) or entry["size"] != infos[name].file_size):
            raise BundleError(f"{where}: {name} does not match its manifest; it is damaged or was changed")
    return manifest


def _extract_verified(zf: zipfile.ZipFile, info: zipfile.ZipInfo, entry: dict[str, Any], folder: Path,
                      where: str) -> None:
    """Copy one member into ``folder`` while hashing it; its size and SHA-256 must match the manifest."""
    target = folder.joinpath(*info.filename.split("/"))
    if folder.resolve() not in target.resolve().parents:
        raise BundleError(f"{where}: unsafe member name {info.filename!r}; the bundle is refused")
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with zf.open(info) as src, os.fdopen(fd, "wb") as dst:
            while chunk := src.read(_COPY_CHUNK):
                size += len(chunk)
                if size > entry["size"]:
                    break
                digest.update(chunk)
                dst.write(chunk)
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise BundleError(f"{where}: {info.filename} is damaged ({exc}); ask for the file to be sent again") from None
    except FileExistsError:
        raise BundleError(f"{where}: the member {info.filename!r} appears twice; the bundle is refused") from None
    if size != entry["size"] or digest.hexdigest() != entry["sha256"]:
        raise BundleError(f"{where}: {info.filename} does not match its SHA-256 in the manifest; the bundle was "
                          f"damaged or changed on the way and is refused")


@contextlib.contextmanager
def open_bundle(path: str | os.PathLike, format_name: str, max_version: int, what: str) -> Iterator[Bundle]:
    """Verify a bundle completely and yield its members copied into a private temporary folder.

    Every check runs before the ``with`` body: a caller that imports inside it only ever sees
    a bundle whose every member matched the manifest. The folder is removed afterwards.
    """
    path = Path(path).expanduser()
    where = path.name
    folder = Path(tempfile.mkdtemp(prefix="biofeedback-bundle-"))
    os.chmod(folder, 0o700)
    try:
        try:
            with _open_zip(path, what) as zf:
                infos = _check_entries(zf, where)
                manifest = _read_manifest(zf, infos, where, format_name, max_version, what)
                for name, entry in manifest["members"].items():
                    _extract_verified(zf, infos[name], entry, folder, where)
        except OSError as exc:
            raise BundleError(f"cannot read {path}: {exc.strerror or exc}") from None
        yield Bundle(path, folder, manifest)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
