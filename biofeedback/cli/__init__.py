"""The ``biofeedback`` command: one thin function per subcommand.

Each subcommand has an ``_add_<name>(sub)`` that declares its options and a
``cmd_<name>(args) -> int`` that calls into the core. Errors a user can cause
are raised as :class:`~biofeedback.errors.UserError` and printed here as one
line with exit status 2.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import NoReturn

from biofeedback import __version__
from biofeedback.errors import UserError
from biofeedback.words import plural, unit_text


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option as one line and exit status 2 (argparse's own default)."""

    def error(self, message: str) -> NoReturn:  # pragma: no cover - exercised through main()
        self.exit(2, f"biofeedback: {message} (see 'biofeedback {self.prog.split()[-1]} --help')\n"
                  if " " in self.prog else f"biofeedback: {message} (see 'biofeedback --help')\n")


# --------------------------------------------------------------------------- foundation

def _speed(text: str) -> float | None:
    """``--speed``: a multiple of real time, or ``max`` for as fast as possible."""
    if text.strip().lower() == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--speed must be a number (e.g. 8) or max, not {text!r}") from None
    if not (0 < value <= 1000):
        raise argparse.ArgumentTypeError(f"--speed must be above 0, got {text}")
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def _add_chain_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--notch", type=int, choices=(50, 60), help="mains notch filter in Hz (off by default)")
    p.add_argument("--rms-window", type=float, default=0.2, metavar="S",
                   help="RMS window for the envelope (default 0.2 s)")


def _chain_settings(args: argparse.Namespace):
    from biofeedback.signal.chain import ChainSettings
    return ChainSettings(notch_hz=args.notch, rms_window_s=args.rms_window)


def _add_record(sub) -> None:
    p = sub.add_parser("record", help="record a session headless",
                       description="Record from a source into a recording file, without a window.")
    p.add_argument("--source", default="sim", metavar="SPEC",
                   help="KIND[:NAME][?key=value&...], e.g. sim:hypertonic, serial:/dev/ttyUSB0?device=openbci-cyton, "
                        "replay:FILE (default sim)")
    p.add_argument("--duration", type=_positive, metavar="SECONDS",
                   help="how long to record (required unless --protocol gives it)")
    p.add_argument("--speed", type=_speed, default=1.0, metavar="X",
                   help="simulated or replayed sources: multiple of real time, or max (default 1)")
    p.add_argument("--out", required=True, metavar="FILE", help="the new recording file (never overwritten)")
    p.add_argument("--client", default="", help="client name or alias: stored with the recording, and the session "
                                                "is filed in her history in the client library")
    _library_option(p)
    p.add_argument("--protocol", metavar="NAME",
                   help="run a guided protocol (see 'biofeedback protocols'); a simulated patient follows its cues; "
                        "the duration defaults to the protocol's length")
    _add_chain_options(p)
    p.set_defaults(func=cmd_record)


def cmd_record(args: argparse.Namespace) -> int:
    from biofeedback.session.headless import record_headless
    # with --client the library is checked before recording (record_headless): a typo must not split a
    # patient's history, a damaged library must show now
    result = record_headless(args.source, args.out, duration_s=args.duration, speed=args.speed,
                             settings=_chain_settings(args), client=args.client, protocol=args.protocol,
                             library=args.library, file_in_library=bool(args.client))
    print(result.summary_line())
    if result.filing_queued:
        print(f"kept on this computer in {result.path}; it will be filed in {args.client}'s history when the "
              f"library server is back (biofeedback library sync)")
    if result.filing_error is not None:
        raise UserError(f"{result.filing_error}; the recording is kept in {result.path}")
    if result.filed is not None:
        print(f"filed in {result.filed.client.name}'s history ({result.filed.library_path})")
        for g in result.filed.newly_met:
            print(f"milestone: {g.description} (first met {g.met_on})")
        _print_shaping(result.filed)
    if result.error is not None:
        print(f"biofeedback: stopped early: {result.error}; "
              f"the {result.duration_s:.1f} s recorded are kept in {result.path}",
              file=sys.stderr)
        return 2
    return 0


def _print_shaping(filed) -> None:
    """After filing: the next release-target step (waiting for the therapist, or taken by her programme)."""
    import shlex

    from biofeedback.clinic.shaping import applied_line, proposal_line
    outcome = filed.shaping
    if outcome is None:
        return
    if outcome.waiting:
        name = shlex.quote(filed.client.name)
        print(f"{proposal_line(outcome.proposal)} Accept with: biofeedback target {name} --accept")
    else:
        print(applied_line(outcome))


def _add_info(sub) -> None:
    p = sub.add_parser("info", help="describe a recording",
                       description="Describe a recording: channels, duration, events, "
                                   "and whether it was closed cleanly.")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=cmd_info)


def cmd_info(args: argparse.Namespace) -> int:
    from biofeedback.files.recording import Recording, describe
    with Recording.open(args.file) as rec:
        print(describe(rec))
    return 0


def _add_recover(sub) -> None:
    p = sub.add_parser("recover", help="make a crashed recording one self-contained file",
                       description="Fold the FILE-wal sidecar that a crash or a full disk left beside a recording "
                                   "into the recording itself, so the .bfr alone can be copied or mailed. Reading "
                                   "commands (info, export, analyze, report, replay) never change a file; this does.")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=cmd_recover)


def cmd_recover(args: argparse.Namespace) -> int:
    from biofeedback.files.recording import recover
    print(recover(args.file))
    return 0


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="export a recording to CSV or EDF+/BDF+", description="Export a recording.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", choices=("csv", "edf", "bdf"), default=None,
                   help="csv, edf (EDF+, 16 bit) or bdf (BDF+, 24 bit); default from the --out extension, else csv")
    p.add_argument("--anonymize", action="store_true", help="EDF/BDF: leave the client's name out")
    p.add_argument("--out", required=True, metavar="PATH")
    p.add_argument("--processed", action="store_true", help="CSV: add the envelope columns (<channel>_envelope_<unit>)")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    if _interchange_format(args) != "csv":
        return cmd_export_edf(args)
    from biofeedback.files.csvio import export_csv
    from biofeedback.files.recording import Recording
    with Recording.open(args.file) as rec:
        rows = export_csv(rec, args.out, processed=args.processed)
    print(f"exported {rows} samples to {args.out}")
    return 0


def _add_import(sub) -> None:
    p = sub.add_parser("import", help="import a CSV, EDF(+) or BDF(+) file as a recording",
                       description="Import a file from this or another program (.csv, .edf, .bdf) as a new recording. "
                                   "A truncated EDF/BDF file (cut off while copying or recording) is imported up to "
                                   "its last complete data record, with one warning line saying how much; a file "
                                   "without a single complete record is refused.")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--out", required=True, metavar="FILE")
    _import_edf_options(p)
    _notch_option(p, default=None)
    p.set_defaults(func=cmd_import)


#: What ``import`` reads, by file name ending.
_IMPORT_KINDS = {".csv": "csv", ".edf": "edf", ".bdf": "edf", ".rec": "edf"}
_IMPORTABLE = ".csv, .edf or .bdf"


def _import_kind(path: Path) -> str:
    """'csv' or 'edf' for a file ``import`` can read; one clear line for anything else."""
    if path.is_dir():
        raise UserError(f"{path} is a folder, not a file; give a {_IMPORTABLE} file to import")
    if not path.exists():
        raise UserError(f"no such file: {path}")
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    if head.startswith(b"SQLite format 3\x00") or path.suffix.lower() == ".bfr":
        raise UserError(f"{path} is already a recording; nothing to import (use it directly, e.g. "
                        f"biofeedback info {path.name}; import reads {_IMPORTABLE} files)")
    kind = _IMPORT_KINDS.get(path.suffix.lower())
    if kind is None and head.startswith((b"0       ", b"\xffBIOSEMI")):
        kind = "edf"                                # an EDF/BDF file under another name
    if kind is None:
        raise UserError(f"cannot import {path.name}: unsupported file type {path.suffix or '(no extension)'!r}; "
                        f"import reads {_IMPORTABLE} files")
    return kind


def cmd_import(args: argparse.Namespace) -> int:
    from biofeedback.files.outputs import new_output
    kind = _import_kind(Path(args.path))
    new_output(args.out, inputs=[args.path], what="recording")
    if kind == "edf":
        status = cmd_import_edf(args)
    else:
        from biofeedback.files.csvio import import_csv
        n = import_csv(args.path, args.out)
        print(f"imported {n} samples into {args.out}")
        status = 0
    if status == 0 and args.notch is not None:
        _store_notch(args.out, args.notch)
    return status


def _add_bench(sub) -> None:
    p = sub.add_parser("bench", help="measure speed and memory",
                       description="Measure the signal chain, recording load time and (if the GUI is installed) "
                                   "the live display.")
    p.add_argument("--quick", action="store_true", help="shorter runs (for a smoke test)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    from biofeedback.cli.bench import format_report, run_bench
    figures = run_bench(quick=args.quick)
    if args.json:
        import json
        print(json.dumps(figures, indent=2))
    else:
        print(format_report(figures))
    return 0


# --------------------------------------------------------------------------- serial devices

def _add_devices(sub) -> None:
    p = sub.add_parser("devices", help="list serial ports and known devices",
                       description="List the serial ports found and the device profiles the serial source knows.")
    p.add_argument("--json", action="store_true", help="print the listing as JSON")
    p.set_defaults(func=cmd_devices)


def cmd_devices(args: argparse.Namespace) -> int:
    from biofeedback.sources.serial import describe_devices
    print(describe_devices(as_json=args.json))
    return 0


def _add_emulate(sub) -> None:
    def seed(text: str) -> int:
        """``--seed``: a whole number 0 or more."""
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number 0 or more, not {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"must be a whole number 0 or more, not {text}")
        return value

    p = sub.add_parser("emulate", help="pretend to be a sensor on a pseudo-terminal",
                       description="Stream a simulated patient in a real device's byte format on a pseudo-terminal, "
                                   "so the program can be tried without hardware. Stop with Ctrl-C.")
    p.add_argument("device", metavar="DEVICE", help="a device profile name ('biofeedback devices' lists them)")
    p.add_argument("--profile", default="healthy", metavar="PATIENT",
                   help="simulated patient: healthy, hypertonic or weak (default healthy)")
    p.add_argument("--link", metavar="PATH",
                   help="also make a stable symlink to the pseudo-terminal at PATH (never replaces anything there "
                        "except a leftover link to a pseudo-terminal that is gone; removed on exit)")
    p.add_argument("--seed", type=seed, default=0, metavar="N",
                   help="random seed of the simulated patient: a whole number 0 or more (default 0)")
    p.add_argument("--duration", type=_positive, metavar="SECONDS", help="stop after this long (default: until Ctrl-C)")
    p.set_defaults(func=cmd_emulate)


def cmd_emulate(args: argparse.Namespace) -> int:
    from biofeedback.sources.emulate import run_emulator
    return run_emulator(args.device, patient=args.profile, seed=args.seed, link=args.link,
                        duration_s=args.duration, out=lambda line: print(line, flush=True))


# --------------------------------------------------------------------------- registry

SUBCOMMANDS: list = [
    _add_record, _add_info, _add_recover, _add_export, _add_import, _add_bench,
    _add_devices, _add_emulate,
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
    if not argv:                        # plain `biofeedback` opens the window
        argv = ["gui"]
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # e.g. 'biofeedback analyze FILE | head': the reader left, nothing to report
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except UserError as exc:
        print(f"biofeedback: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("biofeedback: interrupted", file=sys.stderr)
        return 130


# --------------------------------------------------------------------------- exercises and metrics

def _add_protocols(sub) -> None:
    p = sub.add_parser("protocols", help="list the guided exercise protocols (built-in and your own)",
                       description="List the guided exercise protocols: the built-ins and those in your protocol "
                                   "folder ($BIOFEEDBACK_PROTOCOLS or the platform's config folder).")
    p.add_argument("name", nargs="?", help="show the steps of this protocol")
    p.set_defaults(func=cmd_protocols)


def cmd_protocols(args) -> int:
    from biofeedback.protocols import list_protocols, load_protocol, timeline, user_protocol_dir
    if args.name:
        proto = load_protocol(args.name)
        print(f"{proto.name}: {proto.title} ({proto.total_s / 60:.1f} min)\n{proto.description}\n")
        for i, (a, _b, s) in enumerate(timeline(proto), start=1):
            extra = [x for x in (s.band and f"{s.band} band", s.breathing_bpm and f"breathing {s.breathing_bpm:g}/min",
                                 s.window and f"{s.window}") if x]
            trial = f" {s.trial}" if s.trial else ""
            print(f"{i:3d}  {a:6.0f} s  {s.duration_s:5.0f} s  {s.phase + trial:<16} {s.cue}"
                  + (f"  ({', '.join(extra)})" if extra else ""))
        return 0
    errors: list[str] = []
    protocols = list_protocols(errors=errors)
    width = max(len(p.name) for p in protocols)
    for proto in protocols:
        print(f"{proto.name.ljust(width)}  {proto.total_s / 60:4.1f} min  {proto.title}")
    print(f"\nYour own protocols go in {user_protocol_dir()}")
    for line in errors:
        print(f"biofeedback: skipped {line}", file=sys.stderr)
    return 0


def _add_analyze(sub) -> None:
    p = sub.add_parser("analyze", help="clinical metrics of a recorded session",
                       description="Resting tone, contractions, onset and release latencies, time in band, "
                                   "endurance and co-activation of a recording, per step and per trial.")
    p.add_argument("file", help="recording file (.bfr)")
    p.add_argument("--protocol", help="protocol to lay over a recording that has no recorded steps "
                                      "(name or .json file; see 'biofeedback protocols')")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    _notch_option(p, default=None)
    p.set_defaults(func=cmd_analyze)


_NOTCH_CHOICES = ("50", "60", "auto", "off")


def _notch_option(p, default: str | None) -> None:
    p.add_argument("--notch", choices=_NOTCH_CHOICES, default=default,
                   help="mains notch for the analysis: 50 or 60 Hz, auto (the default: only when mains hum is "
                        "found, and the result says so) or off; on import it is stored with the session")


def _store_notch(path: str, notch: str) -> None:
    """Store ``--notch`` with an imported session (and the hum measured), so its analysis uses it."""
    from biofeedback.files.recording import Recording, update_meta
    from biofeedback.signal import hum
    with Recording.open(path) as rec:
        data, info = rec.read(), rec.info
    estimates = [hum.estimate(data[:, i], info.rate) for i, c in enumerate(info.channels) if c.kind == "emg"]
    hz, reason = hum.notch_choice(notch, estimates) if estimates else (None, "no EMG channel")
    update_meta(path, {"notch": notch, "notch_hz": hz, "notch_reason": reason})
    print(reason)


def cmd_analyze(args) -> int:
    import json

    from biofeedback.clinic.analysis import analyze, format_table
    result = analyze(args.file, protocol=args.protocol, notch=args.notch)
    print(json.dumps(result, indent=2, ensure_ascii=False) if args.json else format_table(result))
    return 0


def _add_calibrate(sub) -> None:
    p = sub.add_parser("calibrate", help="calibrate rest and maximum effort without a window",
                       description="Run the rest + maximum-effort calibration from a source (a simulated patient "
                                   "follows the cues); print rest mean, spread, noise floor, maximum, signal "
                                   "quality, the contraction band and the release target with the rule chosen. "
                                   "With --client the result is stored with her (a target the therapist typed "
                                   "is kept).")
    p.add_argument("--source", required=True, metavar="SPEC", help="e.g. sim:hypertonic, serial:/dev/ttyUSB0?...")
    p.add_argument("--client", default="", metavar="NAME", help="store the calibration and bands with this client")
    p.add_argument("--speed", type=_speed, default=1.0, metavar="X",
                   help="simulated or replayed sources: multiple of real time, or max (default 1)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    _library_option(p)
    p.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args) -> int:
    import json

    from biofeedback.session.calibrate import calibrate_client, run_calibration
    if args.client:
        outcome = calibrate_client(args.source, args.client, args.library, speed=args.speed)
    else:
        outcome = run_calibration(args.source, speed=args.speed)
    print(json.dumps(outcome.to_json(), indent=2, ensure_ascii=False) if args.json else outcome.text())
    return 0


SUBCOMMANDS += [_add_protocols, _add_analyze, _add_calibrate]


# --------------------------------------------------------------------------- library, diary, history, reports

def _progress_line(label: str):
    """A ``progress(fraction)`` callback drawing one updating line on stderr (only on a terminal)."""
    if not sys.stderr.isatty():
        return lambda fraction: None
    last = [-1]

    def progress(fraction: float) -> None:
        pct = int(max(0.0, min(1.0, fraction)) * 100)
        if pct != last[0]:
            last[0] = pct
            sys.stderr.write(f"\r{label}: {pct:3d} %" + ("\n" if pct >= 100 else ""))
            sys.stderr.flush()
    return progress


def _library_target(text: str) -> str:
    """``--library``/``--to``: a file path or a server; a server's password belongs in ~/.pgpass, not here."""
    from biofeedback.clinic.store import has_password
    if has_password(text):
        raise argparse.ArgumentTypeError("a password on the command line is visible to other users; put it in "
                                         "~/.pgpass (or $PGPASSFILE) and leave it out of the URL")
    return text


def _library_option(p) -> None:
    p.add_argument("--library", metavar="PATH|URL", type=_library_target,
                   help="client library: a file, or a server (postgresql://..., service=NAME) "
                        "(default: $BIOFEEDBACK_LIBRARY or the file in the user data folder)")


def _add_report(sub) -> None:
    p = sub.add_parser("report", help="write a session or progress report (PDF or HTML)",
                       description="Session report: biofeedback report FILE --out X.pdf. Progress report: "
                                   "biofeedback report --client NAME [--from DATE] [--to DATE] --out X.html")
    p.add_argument("file", nargs="?", help="recording file for a session report")
    p.add_argument("--client", help="client name for a progress report")
    p.add_argument("--from", dest="start", metavar="DATE", help="first day (YYYY-MM-DD) of a progress report")
    p.add_argument("--to", dest="end", metavar="DATE", help="last day (YYYY-MM-DD) of a progress report")
    p.add_argument("--out", required=True, metavar="PATH", help="output file ending in .pdf or .html")
    p.add_argument("--for", dest="voice", choices=("clinician", "patient"), default="clinician",
                   help="a session report for the clinician (default: every measure, changes beyond the noise "
                        "marked) or for the patient (short and kind, no units)")
    _library_option(p)
    _notch_option(p, default=None)
    p.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    from biofeedback.clinic.library import Library, parse_day
    from biofeedback.clinic.store import resolve_target
    from biofeedback.files.outputs import new_output
    from biofeedback.reports import progress_report, report_format, session_report

    report_format(args.out)
    if bool(args.file) == bool(args.client):
        raise UserError("give either a recording FILE (session report) or --client NAME (progress report)")
    new_output(args.out, inputs=[args.file] if args.file else [], what="report")   # before any rendering
    if args.file:
        target = resolve_target(args.library)
        library = Library.open(target, create=False) if isinstance(target, str) or target.exists() else None
        from biofeedback.clinic.analysis import notch_for_reports
        try:
            if library is not None and library.is_server and not Path(args.file).exists():
                session = library.session_for_recording(args.file)    # recorded in another room: from the server
                if session is not None:
                    args.file = str(library.recording_file(session))
            with notch_for_reports(args.notch):
                out = session_report(args.file, args.out, library, progress=_progress_line("report"),
                                     voice=args.voice)
        finally:
            if library is not None:
                library.close()
    else:
        start = parse_day(args.start) if args.start else None
        end = parse_day(args.end) if args.end else None
        _check_period(start, end)
        with Library.open(args.library, create=False) as library:
            out = progress_report(library, args.client, args.out, start, end, progress=_progress_line("report"))
    print(out)
    return 0


def _check_period(start, end) -> None:
    """``--from`` must not come after ``--to`` (the same message as the progress report)."""
    if start and end and end < start:
        raise UserError(f"--from {start} is after --to {end}; swap them")


def _add_history(sub) -> None:
    p = sub.add_parser("history", help="a client's sessions, trends and goals")
    p.add_argument("name", help="client name or alias")
    p.add_argument("--json", action="store_true", help="print the history as JSON")
    p.add_argument("--from", dest="start", metavar="DATE")
    p.add_argument("--to", dest="end", metavar="DATE")
    _library_option(p)
    p.set_defaults(func=cmd_history)


def cmd_history(args) -> int:
    import json

    from biofeedback.clinic.library import Library, parse_day
    from biofeedback.clinic.progress import METRICS, client_progress

    start = parse_day(args.start) if args.start else None
    end = parse_day(args.end) if args.end else None
    _check_period(start, end)
    with Library.open(args.library, create=False) as library:
        p = client_progress(library, args.name, start, end)
    if args.json:
        print(json.dumps(p.to_dict(), indent=2, ensure_ascii=False))
        return 0
    n_sessions, n_diary = len(p.sessions), len(p.diary)
    print(f"{p.client.name}: {n_sessions} session{'' if n_sessions == 1 else 's'}, "
          f"{plural(n_diary, 'diary entry', 'diary entries')}")
    keys = ("resting_tone_uv", "release_latency_s", "contraction_peak_uv")
    if p.sessions:
        rows = [["date", "programme"] + [METRICS[k].label for k in keys] + ["place"]]
        rows += [[s.started_at[:16].replace("T", " "), s.protocol or "-"]
                 + [METRICS[k].format(s.summary.get(k)) for k in keys] + [p.places.get(s.id, "clinic")]
                 for s in p.sessions]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:      # text columns to the left, figures to the right, two spaces between columns
            print("  " + "  ".join(cell.ljust(w) if i < 2 or i == len(r) - 1 else cell.rjust(w)
                                   for i, (cell, w) in enumerate(zip(r, widths))).rstrip())
    from biofeedback.clinic.adherence import adherence_lines
    for line in adherence_lines(p.adherence):
        print(f"  adherence {line}")
    for d in p.diary[-10:]:
        scores = [f"{label} {v:g}{unit}" for label, v, unit in (("pain", d.pain_intercourse, "/10"),
                                                              ("pelvic pain", d.pain_pelvic, "/10"),
                                                              ("mood", d.mood, "/5"),
                                                              ("practised", d.minutes_practised, " min"))
                  if v is not None]
        print(f"  diary {d.day.isoformat()}: {', '.join(scores)}{('  ' + d.notes) if d.notes else ''}")
    for g in p.goals:
        state = f"met on {g.met_on.isoformat()}" if g.met_on else "not yet"
        print(f"  goal: {g.description}: {state}")
    return 0


def _add_diary(sub) -> None:
    p = sub.add_parser("diary", help="add a diary entry (pain, mood, practice, notes)")
    p.add_argument("name", help="client name or alias")
    p.add_argument("--date", help="day of the entry (YYYY-MM-DD, default today)")
    p.add_argument("--pain", type=float, help="pain during intercourse or dilator use, 0-10")
    p.add_argument("--pelvic-pain", type=float, help="general pelvic pain, 0-10")
    p.add_argument("--mood", type=int, help="mood, 1 (very low) to 5 (very good)")
    p.add_argument("--minutes", type=float, help="minutes practised")
    p.add_argument("--notes", default="", help="free notes")
    _library_option(p)
    p.set_defaults(func=cmd_diary)


def cmd_diary(args) -> int:
    from biofeedback.clinic.library import Library
    from biofeedback.clinic.progress import update_milestones

    with Library.open(args.library) as library:
        client = library.client(args.name)
        entry = library.add_diary(client, args.date, pain_intercourse=args.pain, pain_pelvic=args.pelvic_pain,
                                  mood=args.mood, minutes_practised=args.minutes, notes=args.notes)
        newly = update_milestones(library, client)
    print(f"diary entry for {client.name} on {entry.day.isoformat()} saved")
    for g in newly:
        print(f"milestone: {g.description} (first met {(g.met_on or entry.day).isoformat()})")
    return 0


def _add_clients(sub) -> None:
    p = sub.add_parser("clients", help="list or add clients, set goals, add recordings to the library")
    p.add_argument("name", nargs="?", help="the client to change")
    p.add_argument("--add", action="store_true", help="add NAME as a new client")
    p.add_argument("--notes", help="notes for the client")
    p.add_argument("--goal", metavar="SPEC", help="add a goal, e.g. release_latency_s<=1 or resting_tone_uv<5")
    p.add_argument("--label", default="", help="words for the goal, e.g. 'release within 1 s'")
    p.add_argument("--goal-protocol", metavar="PROTOCOL", default="",
                   help="only sessions of this protocol can meet the goal, e.g. glazer; 'all' (the default) "
                        "lets every protocol count")
    p.add_argument("--add-recording", nargs="+", metavar="FILE", help="put recording files into the library")
    _library_option(p)
    p.set_defaults(func=cmd_clients)


def cmd_clients(args) -> int:
    from biofeedback.clinic.library import Library, check_goal_target
    from biofeedback.clinic.progress import client_goals, parse_goal, update_milestones

    goal = None
    if args.goal_protocol and not args.goal:
        raise UserError("--goal-protocol belongs to a goal: add --goal SPEC, e.g. --goal release_latency_s<=1")
    if args.goal:
        goal = parse_goal(args.goal)                      # checked before anything is changed
        check_goal_target(goal[2])
        goal_protocol = _known_goal_protocol(goal[0], args.goal_protocol)
    with Library.open(args.library) as library:
        if not args.name:
            if args.add or args.goal or args.add_recording:
                raise UserError("name the client, e.g. biofeedback clients NAME --add")
            for c in library.clients():
                print(f"{c.name}\t{plural(len(library.sessions(c)), 'session')}\t{c.notes}")
            return 0
        client = library.add_client(args.name, notes=args.notes or "") if args.add else library.client(args.name)
        if args.notes is not None and not args.add:
            library.update_client(client, notes=args.notes)
        if goal is not None:
            metric, comparison, target = goal
            library.add_goal(client, metric, comparison, target, args.label, protocol=goal_protocol)
        if args.add_recording:      # the analysis (scipy) loads only when recordings are added
            from biofeedback.clinic.filing import register_recording
        for path in args.add_recording or []:
            session = register_recording(library, path, client)
            print(f"added {session.started_at[:16].replace('T', ' ')} {session.recording_path}")
        update_milestones(library, client)
        statuses = client_goals(library, client)
        print(f"{client.name}: {plural(len(library.sessions(client)), 'session')}, {plural(len(statuses), 'goal')}")
        for g in statuses:
            print(f"  {'★' if g.met_on else '○'} {g.description}"
                  + (f" (first met {g.met_on.isoformat()})" if g.met_on else ""))
    return 0


def _known_goal_protocol(metric: str, name: str) -> str:
    """``--goal-protocol``: "" for every protocol, else a protocol this machine knows (built-in or the user's)."""
    from biofeedback.clinic.catalogue import check_goal_protocol
    from biofeedback.protocols import list_protocols
    protocol = check_goal_protocol(metric, name)
    if protocol:
        known = [p.name for p in list_protocols()]
        if protocol not in known:
            raise UserError(f"--goal-protocol {protocol!r} is not a protocol here; choose one of "
                            f"{', '.join(known)}, or 'all'")
    return protocol


def _interchange_format(args) -> str:
    """The export format: --format, else the --out extension (.edf/.bdf), else csv."""
    if args.format:
        return args.format
    return {".edf": "edf", ".bdf": "bdf"}.get(Path(args.out).suffix.lower(), "csv")


def cmd_export_edf(args) -> int:
    from biofeedback.files.edf import export_edf
    fmt = _interchange_format(args)
    out = export_edf(args.file, args.out, fmt=fmt, anonymize=args.anonymize,
                     progress=_progress_line(f"export {fmt.upper()}"), warn=_warn)
    print(f"exported {args.file} to {out} ({'BDF+' if fmt == 'bdf' else 'EDF+'}"
          f"{', anonymised' if args.anonymize else ''})")
    return 0


def _warn(line: str) -> None:
    """A warning the user should see (the command still succeeds): one line on stderr."""
    print(f"biofeedback: warning: {line}", file=sys.stderr)


def _import_edf_options(p) -> None:
    p.add_argument("--channel", action="append", metavar="LABEL",
                   help="EDF/BDF: signal to import, by label or number (repeat for more; default: our labels, "
                        "else the first signal)")
    p.add_argument("--anonymize", action="store_true", help="EDF/BDF: do not keep the patient's name")


def cmd_import_edf(args) -> int:
    from biofeedback.files.edf import import_edf
    out = import_edf(args.path, args.out, channels=args.channel, anonymize=args.anonymize,
                     progress=_progress_line("import"), warn=_warn)
    print(f"imported {args.path} into {out}")
    return 0


def _add_library(sub) -> None:
    p = sub.add_parser("library", help="the client library: status, sync uploads, migrate to a clinic's server",
                       description="The client library: which one is in use, uploads waiting for the server, and "
                                   "moving a library file to a clinic's PostgreSQL server.")
    lsub = p.add_subparsers(dest="library_command", metavar="status|sync|migrate", required=True)
    s = lsub.add_parser("status", help="backend, schema version and pending uploads")
    _library_option(s)
    s = lsub.add_parser("sync", help="file and upload the recordings waiting for the server now")
    _library_option(s)
    m = lsub.add_parser("migrate", help="copy a library (file) to a server: clients, sessions with recordings, "
                                        "diary, goals; verified; running it again copies nothing twice")
    m.add_argument("--to", required=True, metavar="URL", type=_library_target,
                   help="the server library, e.g. postgresql://therapist@db.clinic/biofeedback or service=NAME")
    _library_option(m)
    p.set_defaults(func=cmd_library)


def cmd_library(args) -> int:
    from biofeedback.clinic.library import Library
    from biofeedback.clinic.store import is_server, redact, resolve_target
    if args.library_command == "status":
        from biofeedback.clinic.sync import status_lines
        lines, unreachable = status_lines(resolve_target(args.library))
        print("\n".join(lines), flush=True)       # what stays true without the server (its upload queue)
        if unreachable is not None:
            raise unreachable                       # then the one line and exit 2, as every command does
        return 0
    if args.library_command == "sync":
        from biofeedback.clinic.sync import UploadQueue, sync_pending
        target = resolve_target(args.library)
        if not isinstance(target, str):
            print(f"{target} is a library file on this computer: nothing to upload")
            return 0
        with Library.open(target, retry_uploads=False) as library:
            result = sync_pending(library)
        for path, why in result.failed:
            _warn(f"{path} is still waiting: {why}")
        left = len(UploadQueue().pending(target))
        print(f"stored {plural(len(result.stored), 'recording')} on {redact(target)}; {left} still waiting")
        return 2 if result.failed else 0
    from biofeedback.clinic.store_migrate import migrate_library
    if not is_server(args.to):
        raise UserError(f"--to must name a library server (postgresql://... or service=NAME), not {args.to!r}")
    report, source, dest = migrate_library(args.library, args.to)
    print("\n".join(report.lines(source, dest)))
    return 0


def _target_value(text: str) -> float:
    """``--set``: a release target in her unit (µV; cmH2O for a pressure probe), a positive finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--set needs a release target as a number (e.g. 5.4), not {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"a release target must be a positive number, got {text}")
    return value


def _add_target(sub) -> None:
    p = sub.add_parser("target", help="a client's release target, its steps and the next step (shaping)",
                       description="Show her release target, every step with its day and rule, and the next, "
                                   "lower step when she has met hers (at least 70 % of rest under it in 3 "
                                   "sessions in a row). --accept takes that step; --set types a target.")
    p.add_argument("name", help="client name or alias")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--accept", action="store_true", help="take the proposed step (it becomes her target)")
    how.add_argument("--set", type=_target_value, metavar="VALUE",
                     help="type her release target in her unit: µV, or cmH2O for a pressure probe "
                          "(kept through re-calibration)")
    p.add_argument("--json", action="store_true", help="print it as JSON")
    _library_option(p)
    p.set_defaults(func=cmd_target)


def cmd_target(args) -> int:
    import json

    from biofeedback.clinic import shaping
    from biofeedback.clinic.library import Library, require_client
    with Library.open(args.library, create=False) as library:
        client = require_client(library, args.name)
        before = library.target_steps(client)
        if args.set is not None:
            shaping.set_typed_target(library, client, args.set)
        elif args.accept:
            proposal = shaping.proposal_for(library, client)
            if proposal is None:
                now = shaping.current_target(library, client)
                unit = before[-1].get("unit") or "uV" if before else "uV"
                raise UserError(f"no step to accept for {client.name}: " + (
                    "she has no release target yet" if now is None else
                    f"her release target is in {unit_text(unit)} (a pressure probe), which shaping "
                    f"does not lower" if unit != "uV" else
                    f"she has not yet spent at least {shaping.MET_SHARE_PCT:.0f} % of rest under "
                    f"{shaping.format_uv(now)} µV in {shaping.SESSIONS_IN_A_ROW} sessions in a row"))
            shaping.accept_step(library, client, proposal)
        steps = library.target_steps(client)
        changed = steps[-1] if len(steps) > len(before) else None
        proposal = shaping.proposal_for(library, client)
    if args.json:
        print(json.dumps(shaping.targets_json(client.name, steps, proposal, changed), indent=2, ensure_ascii=False))
        return 0
    for line in shaping.target_lines(client.name, steps, proposal, changed):
        print(line)
    return 0


SUBCOMMANDS.extend([_add_report, _add_history, _add_diary, _add_clients, _add_target, _add_library])


# --------------------------------------------------------------------------- live window

def _add_gui(sub) -> None:
    p = sub.add_parser("gui", help="open the live window (the default when no command is given)",
                       description="The live biofeedback window: plot, bands, calibration, recording, replay, "
                                   "patient view.")
    p.add_argument("--source", default=None, metavar="SPEC",
                   help="sim[:PROFILE], replay:FILE or serial:PORT?device=NAME (default: the simulated patient)")
    p.add_argument("--theme", choices=("light", "dark"), default=None, help="light or dark (default: as last time)")
    p.add_argument("--patient-view", action="store_true", help="start in the patient's full-screen view")
    p.add_argument("--window", type=float, choices=(5.0, 10.0, 30.0), default=None, metavar="SECONDS",
                   help="seconds of signal shown: 5, 10 or 30 (default 10)")
    p.add_argument("--speed", type=_speed, default=1.0, metavar="X",
                   help="simulated or replayed sources: multiple of real time (default 1)")
    p.add_argument("--review", metavar="FILE", help="also open the whole-session review of a recording")
    p.add_argument("--screenshot", metavar="PATH", help="save a PNG of the window and exit")
    p.add_argument("--quit-after", type=_positive, metavar="SECONDS", help="close after this many seconds")
    p.add_argument("--library", metavar="PATH",
                   help="client library file (default: $BIOFEEDBACK_LIBRARY or the user data folder)")
    p.set_defaults(func=cmd_gui)


def cmd_gui(args) -> int:
    from biofeedback.ui.app import run_gui
    return run_gui(source=args.source, theme=args.theme, screenshot=args.screenshot, quit_after=args.quit_after,
                   patient_view=args.patient_view, speed=args.speed, window_s=args.window, review=args.review,
                   library=args.library)


SUBCOMMANDS += [_add_gui]


# --------------------------------------------------------------------------- sound and home practice

def _add_sound(sub) -> None:
    p = sub.add_parser("sound", help="render what she heard during a session as a WAV file",
                       description="Render the sound of a recorded session (pitch: a tone that follows her level; "
                                   "relax: quiet under the release target, rising as she tightens; pacer: the "
                                   "breathing pacer), with a chime at each step, as a 16-bit mono WAV file.")
    p.add_argument("file", metavar="RECORDING", help="recording file (.bfr)")
    p.add_argument("--out", required=True, metavar="FILE.wav", help="the new WAV file (never overwritten)")
    p.add_argument("--mode", choices=("pitch", "relax", "pacer"), default="pitch",
                   help="pitch (default), relax or pacer")
    p.set_defaults(func=cmd_sound)


def cmd_sound(args) -> int:
    from biofeedback.files.wav import render_recording
    out = render_recording(args.file, args.out, mode=args.mode)
    print(f"wrote the {args.mode} sound of {args.file} to {out}")
    return 0


SUBCOMMANDS += [_add_sound]


def _add_home(sub) -> None:
    p = sub.add_parser("home", help="home practice: one calm screen for practising alone",
                       description="Home mode: today's practice with one large Start, the patient view with the "
                                   "cue, countdown and breathing pacer, sessions recorded into her library by "
                                   "themselves, a short diary, and her progress in plain words.")
    p.add_argument("--source", default=None, metavar="SPEC",
                   help="serial:PORT?device=NAME for a sensor; default: practice without a sensor (sim:healthy), "
                        "where the arrow keys, mouse wheel and space bar set how hard she squeezes")
    p.add_argument("--client", metavar="NAME", help="her name in the library (default: the library's only person)")
    p.add_argument("--library", metavar="PATH",
                   help="client library file (default: $BIOFEEDBACK_LIBRARY or the user data folder)")
    p.add_argument("--theme", choices=("light", "dark"), default=None, help="default: as last time")
    p.add_argument("--speed", type=_speed, default=1.0, metavar="X", help=argparse.SUPPRESS)
    p.add_argument("--screenshot", metavar="PNG", help="save a PNG of the screen and exit")
    p.add_argument("--quit-after", type=_positive, metavar="S", help="close after this many seconds")
    p.set_defaults(func=cmd_home)


def cmd_home(args) -> int:
    from biofeedback.ui.home import run_home
    return run_home(source=args.source, client=args.client, library=args.library, screenshot=args.screenshot,
                    quit_after=args.quit_after, speed=args.speed, theme=args.theme)


SUBCOMMANDS += [_add_home]


# --------------------------------------------------------------------------- clinic <-> home: programme and practice

def _day_option(text: str):
    """``--since`` / ``--start``: a day written YYYY-MM-DD."""
    import datetime as dt
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"write the day as YYYY-MM-DD, not {text!r}") from None


def _weeks(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--weeks must be a whole number, not {text!r}") from None


def _add_programme(sub) -> None:
    p = sub.add_parser("programme", help="write, show or install a home programme (.bfprog)",
                       description="A home programme: the therapist writes it for one client, the patient installs "
                                   "it on her own computer.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    w = actions.add_parser("write", help="write a client's home programme file",
                           description="Write NAME's home programme: protocols with times a week, her calibration, "
                                       "contraction band, release target and goals, and your note.")
    w.add_argument("name", help="client name or alias")
    w.add_argument("--protocol", action="append", default=[], metavar="NAME:TIMES",
                   help="a protocol and how many times a week, e.g. relaxation:7 (repeat for more)")
    w.add_argument("--weeks", type=_weeks, default=4, help="how many weeks (default 4)")
    w.add_argument("--start", type=_day_option, metavar="DATE", help="first day (YYYY-MM-DD, default today)")
    w.add_argument("--note", default="", metavar="TEXT", help="a short note for her")
    w.add_argument("--out", required=True, metavar="FILE.bfprog", help="the new programme file (never overwritten)")
    _library_option(w)
    w.set_defaults(func=cmd_programme_write)
    s = actions.add_parser("show", help="show what a programme file holds")
    s.add_argument("file", metavar="FILE.bfprog")
    s.add_argument("--json", action="store_true", help="print it as JSON")
    s.set_defaults(func=cmd_programme_show)
    i = actions.add_parser("install", help="install a programme into her library (at home)",
                           description="Put the programme's client, bands, target, goals and schedule into the "
                                       "library; a newer programme replaces the schedule and keeps her history.")
    i.add_argument("file", metavar="FILE.bfprog")
    _library_option(i)
    i.set_defaults(func=cmd_programme_install)
    p.set_defaults(func=lambda args: _missing_action(p))


def _missing_action(p) -> int:
    p.print_help(sys.stderr)
    return 2


def cmd_programme_write(args) -> int:
    from biofeedback.clinic.library import Library
    from biofeedback.clinic.programme import build_programme, parse_prescription, write_programme
    prescriptions = [parse_prescription(text) for text in args.protocol]
    with Library.open(args.library, create=False) as library:
        programme = build_programme(library, args.name, prescriptions, args.weeks, args.note, args.start)
        out = write_programme(library, programme, args.out)
    print(f"wrote the home programme for {programme.client_name} to {out}")
    return 0


def cmd_programme_show(args) -> int:
    from biofeedback.clinic.programme import describe, read_programme
    programme = read_programme(args.file)
    if args.json:
        import json
        print(json.dumps(programme.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(describe(programme))
    return 0


def cmd_programme_install(args) -> int:
    from biofeedback.clinic.library import Library
    from biofeedback.clinic.programme import install_programme
    with Library.open(args.library) as library:
        result = install_programme(library, args.file)
    print(result.message)
    return 0


def _add_practice(sub) -> None:
    p = sub.add_parser("practice", help="export home practice (.bfpack) or import it at the clinic",
                       description="Home practice back to the therapist: export at home, import at the clinic.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    e = actions.add_parser("export", help="write her sessions and diary since the last export",
                           description="Write NAME's sessions (with recordings) and diary entries since the last "
                                       "export, or since --since, to a practice file for her therapist.")
    e.add_argument("name", help="client name or alias")
    e.add_argument("--since", type=_day_option, metavar="DATE", help="first day to include (YYYY-MM-DD)")
    e.add_argument("--out", required=True, metavar="FILE.bfpack", help="the new practice file (never overwritten)")
    _library_option(e)
    e.set_defaults(func=cmd_practice_export)
    i = actions.add_parser("import", help="file a practice file's sessions and diary at the clinic",
                           description="Verify a practice file and put its sessions (marked home) and diary into "
                                       "the client's history; importing again changes nothing.")
    i.add_argument("file", metavar="FILE.bfpack")
    _library_option(i)
    i.set_defaults(func=cmd_practice_import)
    p.set_defaults(func=lambda args: _missing_action(p))


def cmd_practice_export(args) -> int:
    from biofeedback.clinic.library import Library
    from biofeedback.clinic.practice import export_practice
    with Library.open(args.library, create=False) as library:
        result = export_practice(library, args.name, args.out, args.since)
    for line in result.skipped:
        _warn(f"left out {line}")
    print(f"wrote {plural(result.sessions, 'session')} and {plural(result.diary, 'diary entry', 'diary entries')} "
          f"of {result.client_name}{' since ' + result.since.isoformat() if result.since else ''} to {result.path}")
    return 0


def cmd_practice_import(args) -> int:
    from biofeedback.clinic.library import Library
    from biofeedback.clinic.practice import import_practice
    with Library.open(args.library, create=False) as library:
        result = import_practice(library, args.file)
    print(result.line())
    return 0


SUBCOMMANDS += [_add_programme, _add_practice]
