"""Protocol files: the built-ins beside this module, the user's own folder, loading by name or path."""
from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from biofeedback.errors import UserError
from biofeedback.paths import from_env_or, user_config_dir
from biofeedback.protocols.model import Protocol, parse_protocol, protocol_error, with_breathing_bpm


def builtin_dir() -> Path:
    """Folder of the protocols that ship with the package."""
    return Path(__file__).resolve().parent


def user_protocol_dir() -> Path:
    """The user's own protocols: ``$BIOFEEDBACK_PROTOCOLS`` or the platform's config folder."""
    return from_env_or("BIOFEEDBACK_PROTOCOLS", user_config_dir("protocols"))


def _read_file(path: Path) -> Protocol:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read protocol file {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise protocol_error(str(path), f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    proto = parse_protocol(data, where=str(path), default_name=path.stem.lower())
    return replace(proto, path=str(path))


#: The order the built-ins are offered in: assessment first, then training, then release practice.
_BUILTIN_ORDER = ("glazer", "work-rest", "work-rest-5-10", "quick-flicks", "endurance", "relaxation", "dilator")


def _builtin_files() -> list[Path]:
    rank = {n: i for i, n in enumerate(_BUILTIN_ORDER)}
    return sorted(builtin_dir().glob("*.json"), key=lambda p: (rank.get(p.stem, len(rank)), p.stem))


def list_protocols(user_dir: Path | None = None, errors: list[str] | None = None) -> list[Protocol]:
    """Built-in protocols, then the user's own.

    A broken user file is skipped and its one-line error goes to ``errors``, so one bad file never hides the rest.
    """
    found: list[Protocol] = [_read_file(p) for p in _builtin_files()]
    names = {p.name for p in found}
    folder = Path(user_dir) if user_dir is not None else user_protocol_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            try:
                proto = _read_file(path)
            except UserError as exc:
                if errors is not None:
                    errors.append(str(exc))
                continue
            if proto.name in names:
                if errors is not None:
                    errors.append(f"protocol {path}: name {proto.name!r} is already taken; rename it")
                continue
            names.add(proto.name)
            found.append(proto)
    return found


def load_protocol(name_or_path: str, user_dir: Path | None = None, breathing_bpm: float | None = None) -> Protocol:
    """A protocol by name (built-in or the user's) or by file path; ``breathing_bpm`` overrides the pacer's pace."""
    text = str(name_or_path or "").strip()
    if not text:
        raise UserError("no protocol given; run 'biofeedback protocols' to see the names")
    path = Path(text).expanduser()
    if path.suffix.lower() == ".json" or os.sep in text or (os.altsep and os.altsep in text):
        if not path.is_file():
            raise UserError(f"protocol file {path} does not exist")
        proto = _read_file(path)
    else:
        key = text.lower()
        candidates = [p for p in list_protocols(user_dir) if p.name == key]
        if not candidates:
            known = ", ".join(p.name for p in list_protocols(user_dir))
            raise UserError(f"unknown protocol {text!r}; known protocols: {known}")
        proto = candidates[0]
    return with_breathing_bpm(proto, breathing_bpm) if breathing_bpm is not None else proto
