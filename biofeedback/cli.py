"""The ``biofeedback`` command: one thin function per subcommand.

Each subcommand has an ``_add_<name>(sub)`` that declares its options and a
``cmd_<name>(args) -> int`` that calls into the core. Errors a user can cause
are raised as :class:`~biofeedback.errors.UserError` and printed here as one
line with exit status 2.
"""
from __future__ import annotations

import argparse
import sys

from biofeedback import __version__
from biofeedback.errors import UserError


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option as one line and exit status 2 (argparse's own default)."""

    def error(self, message: str) -> None:  # pragma: no cover - exercised through main()
        self.exit(2, f"biofeedback: {message} (see 'biofeedback {self.prog.split()[-1]} --help')\n"
                  if " " in self.prog else f"biofeedback: {message} (see 'biofeedback --help')\n")


# --------------------------------------------------------------------------- foundation


# --------------------------------------------------------------------------- registry

SUBCOMMANDS: list = [
]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="biofeedback", description="Pelvic-floor biofeedback with release-first metrics.")
    parser.add_argument("--version", action="version", version=f"biofeedback {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv and "gui" in parser._subparsers._group_actions[0].choices:  # type: ignore[union-attr]
        argv = ["gui"]
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"biofeedback: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("biofeedback: interrupted", file=sys.stderr)
        return 130
