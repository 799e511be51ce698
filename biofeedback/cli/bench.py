"""``biofeedback bench``: speed and memory figures (never asserted in tests; reported here)."""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from biofeedback.files.recording import Recording, RecordingWriter
from biofeedback.signal.chain import SignalChain, envelope_offline
from biofeedback.stream import Block, Channel, StreamInfo

RATE = 2000.0
INFO = StreamInfo((Channel("pfm"), Channel("abd")), RATE, source="bench")


def _signal(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((int(seconds * RATE), 2)).astype(np.float32) * 10.0


def bench_live_chain(seconds: float = 60.0, block_s: float = 0.016) -> dict[str, float]:
    """2 channels at 2 kHz fed in 16 ms blocks, as the engine does live."""
    x = _signal(seconds)
    chain = SignalChain(INFO)
    step = int(block_s * RATE)
    blocks = [Block(i, x[i:i + step]) for i in range(0, x.shape[0], step)]
    t0 = time.process_time()
    for b in blocks:
        chain.process(b)
    cpu = time.process_time() - t0
    return {"live_chain_x_realtime": seconds / cpu, "live_chain_core_pct": 100.0 * cpu / seconds,
            "live_chain_block_ms": 1000.0 * cpu / len(blocks)}


def bench_offline_hour(hours: float = 1.0) -> dict[str, float]:
    """One hour of 2 channels at 2 kHz through the chain in one block."""
    x = _signal(3600.0 * hours)
    runs = []
    for _ in range(3):  # median of three: the first touch of fresh memory is noisy on shared machines
        t0 = time.perf_counter()
        envelope_offline(x, INFO)
        runs.append(time.perf_counter() - t0)
    return {"offline_1h_s": float(np.median(runs)) / hours}


def bench_load_hour(hours: float = 1.0, folder: str | None = None) -> dict[str, float]:
    """Write then load whole a 1-hour 2-channel 2 kHz recording."""
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        path = Path(tmp) / "hour.bfr"
        x = _signal(3600.0 * hours)
        t0 = time.perf_counter()
        with RecordingWriter(path, INFO, commit_every_s=60.0) as writer:
            for i in range(0, x.shape[0], int(RATE * 60)):
                writer.append(Block(i, x[i:i + int(RATE * 60)]))
        write_s = time.perf_counter() - t0
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            with Recording.open(path) as rec:
                data = rec.read()
            runs.append(time.perf_counter() - t0)
        load_s = float(np.median(runs))
        assert data.shape == x.shape
        return {"load_1h_s": load_s / hours, "write_1h_s": write_s / hours,
                "file_1h_mb": os.path.getsize(path) / 1e6 / hours}


def bench_review_open(hours: float = 1.0) -> dict[str, float] | None:
    """Open the whole-session review of a 1-hour, 2-channel, 2 kHz session of 10 s squeezes; then pan and zoom.

    Imports are warmed first (the window opens from a running program). None without Qt.
    """
    from PySide6 import QtWidgets

    from biofeedback.clinic import analysis  # noqa: F401 - warm import, as in the running program
    from biofeedback.protocols import Step
    from biofeedback.reports.plots import ensure_app
    from biofeedback.stream import Event
    from biofeedback.ui.review import ReviewWindow
    app = ensure_app()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hour.bfr"
        x = _signal(3600.0 * hours)
        with RecordingWriter(path, INFO, commit_every_s=60.0) as writer:
            for i in range(0, x.shape[0], int(RATE * 60)):
                writer.append(Block(i, x[i:i + int(RATE * 60)]))
            for k, t in enumerate(np.arange(0.0, 3600.0 * hours - 20.0, 20.0)):
                for j, (kind, start) in enumerate((("contract", t), ("rest", t + 10.0))):
                    step = Step(kind, 10.0, kind, phase="work_rest", trial=k + 1)
                    writer.add_event(Event(float(start), "step", kind, step.to_event_data(2 * k + j)))
        t0 = time.perf_counter()
        win = ReviewWindow(path)
        win.resize(1400, 820)
        win.show()
        app.processEvents()
        open_s = time.perf_counter() - t0
        pans = []
        for k in range(30):
            t0 = time.perf_counter()
            win.show_range(60.0 * k, 60.0 * k + 60.0)
            app.processEvents()
            pans.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        win.show_range(0.0, win.duration_s)
        app.processEvents()
        whole_s = time.perf_counter() - t0
        win.close()
        win.deleteLater()
        QtWidgets.QApplication.processEvents()
    # opening has a fixed part (window, plots): the time is reported as measured, not scaled to an hour
    return {"review_open_s": open_s, "review_minutes": 60.0 * hours, "review_pan_ms_p50": 1000 * float(np.median(pans)),
            "review_pan_ms_max": 1000 * float(np.max(pans)), "review_whole_ms": 1000 * whole_s}


def bench_measures(hours: float = 1.0, live_s: float = 60.0) -> dict[str, float]:
    """Issue 11: ``analyze`` of a 1-hour 2-channel 2 kHz session (Glazer steps over and over, robust
    statistics and hum estimation included), and live hum + quality estimation in 16 ms blocks."""
    from biofeedback.clinic.analysis import Span, analyze_arrays
    from biofeedback.protocols import load_protocol, timeline
    from biofeedback.signal.quality import QualityMeter

    x = _signal(3600.0 * hours)
    tl = timeline(load_protocol("glazer"))
    cycle = tl[-1][1]
    spans = [Span(i, a + k * cycle, b + k * cycle, st) for k in range(int(3600.0 * hours // cycle))
             for i, (a, b, st) in enumerate(tl)]
    runs, chain_runs = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        analyze_arrays(x, INFO, spans, protocol_name="glazer")
        runs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        envelope_offline(x, INFO)
        chain_runs.append(time.perf_counter() - t0)
    live = _signal(live_s, seed=1).astype(np.float64)
    meter = QualityMeter(RATE, 2)
    step = int(0.016 * RATE)
    t0 = time.process_time()
    for i in range(0, live.shape[0], step):
        meter.feed(live[i:i + step], live[i:i + step])
        meter.quality(0)
    cpu = time.process_time() - t0
    total = float(np.median(runs)) / hours
    return {"analyze_1h_s": total, "analyze_1h_without_chain_s": max(0.0, total - float(np.median(chain_runs)) / hours),
            "live_hum_quality_core_pct": 100.0 * cpu / live_s}


def bench_sound(quick: bool = False) -> dict[str, Any]:
    """Envelope-to-sound latency of the live sound output (None without an audio output device)."""
    from biofeedback.ui.sound_output import measure_latency
    return {"sound": measure_latency(trials=10 if quick else 40)}


def _sound_line(s: dict[str, float] | None) -> str:
    if s is None:
        return "  sound: not measured (no audio output device; see README 'Sound')"
    return (f"  sound, envelope to loudspeaker: p50 {s['sound_latency_ms_p50']:.0f} ms, "
            f"p99 {s['sound_latency_ms_p99']:.0f} ms "
            f"(target <= 100: {'met' if s['sound_latency_ms_p99'] <= 100 else 'MISSED'}; "
            f"{s['sound_block_ms']:.1f} ms blocks, device {s['sound_device_latency_ms']:.1f} ms, "
            f"plus up to one 16 ms frame in the window)")


def write_long_recording(path: Path, hours: float, block_s: float = 60.0) -> int:
    """A 2-channel 2 kHz recording of ``hours``, written fast: synthetic blocks, one commit per block."""
    rng = np.random.default_rng(0)
    step = int(RATE * block_s)
    total = int(RATE * 3600.0 * hours)
    with RecordingWriter(path, INFO, {"client": "bench"}, commit_every_s=block_s) as writer:
        for i in range(0, total, step):
            n = min(step, total - i)
            writer.append(Block(i, rng.standard_normal((n, 2)).astype(np.float32) * 10.0))
    return total


_MEASURE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode\n"
    "kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(rc, kb / 1024 if sys.platform != 'darwin' else kb / 1024 / 1024, time.perf_counter() - t)\n"
)


def measure_command(args: list[str], cwd: Path) -> dict[str, float]:
    """Run ``biofeedback ARGS`` in its own process; its peak resident memory (MB) and wall time (s)."""
    import subprocess
    import sys

    import biofeedback
    env = dict(os.environ)   # this copy of the program, whatever the current folder
    env["PYTHONPATH"] = str(Path(biofeedback.__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", _MEASURE, sys.executable, "-m", "biofeedback", *args],
                         capture_output=True, text=True, cwd=cwd, env=env)
    rc, mb, seconds = out.stdout.split()
    return {"rc": int(rc), "peak_mb": float(mb), "s": float(seconds)}


#: The commands measured on the long recording: name -> arguments (FILE = the recording).
LONG_COMMANDS = {
    "info": ["info", "long.bfr"],
    "export_csv": ["export", "long.bfr", "--out", "long.csv"],
    "export_edf": ["export", "long.bfr", "--out", "long.edf"],
    "export_bdf": ["export", "long.bfr", "--out", "long.bdf"],
    "import_csv": ["import", "long.csv", "--out", "from_csv.bfr"],
    "import_edf": ["import", "long.edf", "--out", "from_edf.bfr"],
    "analyze": ["analyze", "long.bfr", "--protocol", "glazer", "--json"],
    "report": ["report", "long.bfr", "--out", "long.html"],
}


def bench_long_recording(hours: float = 8.0, folder: str | None = None) -> dict[str, Any]:
    """Each command's peak memory and time on an ``hours``-long 2-channel 2 kHz recording (target <= 300 MB)."""
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        cwd = Path(tmp)
        t0 = time.perf_counter()
        write_long_recording(cwd / "long.bfr", hours)
        made_s = time.perf_counter() - t0
        commands = {name: measure_command(args, cwd) for name, args in LONG_COMMANDS.items()}
        return {"long_hours": hours, "long_made_s": made_s,
                "long_file_mb": os.path.getsize(cwd / "long.bfr") / 1e6, "long_commands": commands}


def bench_library_server(hours: float = 1.0) -> dict[str, Any]:
    """The clinic's server: filing a session, a client's history of 100 sessions, uploading and fetching 1 hour.

    Runs against the server in ``$BIOFEEDBACK_BENCH_PG`` (else ``$BIOFEEDBACK_TEST_PG``), in a temporary database
    it creates and drops (the role needs CREATEDB); without a reachable server the figures are "not measured".
    """
    url = (os.environ.get("BIOFEEDBACK_BENCH_PG") or os.environ.get("BIOFEEDBACK_TEST_PG") or "").strip()
    if not url:
        return {"library_server": None, "library_server_why": "no server named ($BIOFEEDBACK_BENCH_PG)"}
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    from biofeedback.clinic.filing import register_recording
    from biofeedback.clinic.library import Library
    from biofeedback.clinic.progress import client_progress
    from biofeedback.clinic.sync import fetch_recording, upload_recording
    name = f"bf_bench_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as con:
            con.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        return {"library_server": None, "library_server_why": str(exc).splitlines()[0] if str(exc) else "error"}
    parts = urlsplit(url)
    target = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
    saved_cache = os.environ.get("BIOFEEDBACK_CACHE")
    try:
        with tempfile.TemporaryDirectory() as tmp, Library.open(target) as lib:
            os.environ["BIOFEEDBACK_CACHE"] = str(Path(tmp) / "cache")
            client = lib.add_client("Bench")
            session_file = Path(tmp) / "session.bfr"
            x = _signal(600.0)                                    # a 10-minute session, 2 ch x 2 kHz
            with RecordingWriter(session_file, INFO, {"client": "Bench"}, commit_every_s=60.0) as writer:
                writer.append(Block(0, x))
            runs = []
            for i in range(5):          # the session record: what the end of a session waits for
                t0 = time.perf_counter()
                lib.add_session(client, Path(tmp) / f"f{i}.bfr", "2026-01-01T09:00:00+00:00", "glazer", 600.0,
                                {"resting_tone_uv": 5.0, "release_latency_s": 0.8})
                runs.append(time.perf_counter() - t0)
            filing = float(np.median(runs))
            t0 = time.perf_counter()
            register_recording(lib, session_file, client, summary={"resting_tone_uv": 5.0})
            filing_upload = time.perf_counter() - t0
            for i in range(100):
                lib.add_session(client, Path(tmp) / f"h{i}.bfr", f"2026-01-01T10:{i % 60:02d}:00+00:00", "glazer",
                                600.0, {"resting_tone_uv": 5.0 + i % 7, "release_latency_s": 0.8})
            t0 = time.perf_counter()
            client_progress(lib, lib.client("Bench"))
            history = time.perf_counter() - t0
            hour = Path(tmp) / "hour.bfr"
            x = _signal(3600.0 * hours)
            with RecordingWriter(hour, INFO, {"client": "Bench"}, commit_every_s=60.0) as writer:
                for i in range(0, x.shape[0], int(RATE * 60)):
                    writer.append(Block(i, x[i:i + int(RATE * 60)]))
            record = lib.add_session(client, hour, "2026-01-02T10:00:00+00:00", "", 3600.0 * hours, {})
            t0 = time.perf_counter()
            upload_recording(lib, record, hour)
            upload = time.perf_counter() - t0
            t0 = time.perf_counter()
            fetch_recording(lib, record)
            fetch = time.perf_counter() - t0
    finally:
        if saved_cache is None:
            os.environ.pop("BIOFEEDBACK_CACHE", None)
        else:
            os.environ["BIOFEEDBACK_CACHE"] = saved_cache
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {"library_server": True, "library_filing_ms": 1000.0 * filing, "library_history_s": history,
            "library_filing_10min_upload_s": filing_upload,
            "library_upload_1h_s": upload / hours, "library_fetch_1h_s": fetch / hours}


def format_library_server(f: dict[str, Any]) -> list[str]:
    if not f.get("library_server"):
        return [f"  clinic server (PostgreSQL): not measured ({f.get('library_server_why', 'no server')})"]

    def met(key: str, limit: float) -> str:
        return f"(target <= {limit:g}: {'met' if f[key] <= limit else 'MISSED'})"
    return [
        "  clinic server (PostgreSQL):",
        f"    filing a session (its record and summary): {f['library_filing_ms']:.0f} ms "
        f"{met('library_filing_ms', 100)}; with its 10-minute recording uploaded and verified: "
        f"{f['library_filing_10min_upload_s']:.2f} s",
        f"    opening a client's history of 100 sessions: {f['library_history_s']:.2f} s "
        f"{met('library_history_s', 0.5)}",
        f"    uploading a 1-hour recording, verified: {f['library_upload_1h_s']:.2f} s {met('library_upload_1h_s', 3)};"
        f" fetching it back: {f['library_fetch_1h_s']:.2f} s",
    ]


def bench_programme_report(weeks: int = 20, folder: str | None = None) -> dict[str, Any]:
    """A simulated 20-week home programme (practice most days, the clinic every two weeks): progress report time.

    The library and its small recordings are built through the library API (not timed); the figure is
    the progress report, PDF and HTML, with adherence, clinic and home trends and the diary.
    """
    from biofeedback.clinic.demo_programme import build_demo_programme
    from biofeedback.clinic.library import Library
    from biofeedback.reports import progress_report
    with tempfile.TemporaryDirectory(dir=folder) as tmp, Library.open(Path(tmp) / "library.sqlite") as library:
        build_demo_programme(library, "Bench", tmp, weeks=weeks)
        n_sessions = len(library.sessions(library.client("Bench")))
        figures: dict[str, Any] = {"programme_report_weeks": weeks, "programme_report_sessions": n_sessions}
        for fmt in ("pdf", "html"):
            t0 = time.perf_counter()
            progress_report(library, "Bench", Path(tmp) / f"progress.{fmt}")
            figures[f"programme_report_{fmt}_s"] = time.perf_counter() - t0
    return figures


def run_bench(quick: bool = False) -> dict[str, Any]:
    hours = 0.1 if quick else 1.0
    figures: dict[str, Any] = {"quick": quick}
    figures.update(bench_live_chain(10.0 if quick else 60.0))
    figures.update(bench_offline_hour(hours))
    figures.update(bench_load_hour(hours))
    figures.update(bench_measures(hours, 10.0 if quick else 60.0))
    figures.update(bench_long_recording(0.1 if quick else 8.0))




    figures.update(bench_library_server(hours))
    figures.update(bench_programme_report(weeks=4 if quick else 20))
    from biofeedback.ui.bench import run_display_bench
    figures["display"] = run_display_bench(seconds=5.0 if quick else 20.0)
    figures["review"] = bench_review_open(hours)
    figures.update(bench_sound(quick))
    return figures


LONG_MB_TARGET = 300

TARGETS = {
    "live_chain_core_pct": ("<", 1.0, "% of one core"),
    "offline_1h_s": ("<", 1.0, "s"),
    "load_1h_s": ("<", 0.5, "s"),
    "analyze_1h_s": ("<", 2.0, "s"),
    "live_hum_quality_core_pct": ("<", 1.0, "% of one core"),
}


def format_report(f: dict[str, Any]) -> str:
    def mark(key: str) -> str:
        op, limit, _ = TARGETS[key]
        ok = f[key] < limit if op == "<" else f[key] > limit
        return f"(target {op} {limit:g}: {'met' if ok else 'MISSED'})"

    lines = [
        "biofeedback bench" + (" (quick: shortened runs, figures scaled to 1 hour)" if f["quick"] else ""),
        f"  live EMG chain, 2 ch x 2 kHz in 16 ms blocks: {f['live_chain_x_realtime']:.0f}x real time, "
        f"{f['live_chain_core_pct']:.2f} % of one core {mark('live_chain_core_pct')}",
        f"  1 hour, 2 ch x 2 kHz, processed offline in one call: {f['offline_1h_s']:.2f} s {mark('offline_1h_s')}",
        f"  1-hour recording ({f['file_1h_mb']:.0f} MB): loaded whole in {f['load_1h_s']:.2f} s {mark('load_1h_s')}, "
        f"written in {f['write_1h_s']:.2f} s",
        f"  analyze, 1 hour, 2 ch x 2 kHz (robust statistics, hum): {f['analyze_1h_s']:.2f} s {mark('analyze_1h_s')}, "
        f"{f['analyze_1h_without_chain_s']:.2f} s of it beyond the chain; live hum + quality "
        f"{f['live_hum_quality_core_pct']:.2f} % of one core {mark('live_hum_quality_core_pct')}",
    ]
    if "long_commands" in f:
        lines.append(f"  {f['long_hours']:g}-hour recording, 2 ch x 2 kHz ({f['long_file_mb']:.0f} MB, made in "
                     f"{f['long_made_s']:.0f} s); each command in its own process (target <= {LONG_MB_TARGET} MB):")
        for name, c in f["long_commands"].items():
            ok = c["rc"] == 0 and c["peak_mb"] <= LONG_MB_TARGET
            lines.append(f"    {name:<11} peak {c['peak_mb']:7.0f} MB  {c['s']:7.1f} s  "
                         + ("met" if ok else ("MISSED" if c["rc"] == 0 else f"FAILED (exit {c['rc']})")))


    lines += format_library_server(f)
    lines.append(_programme_report_line(f))
    d = f.get("display")
    if d is None:
        lines.append("  live display: not measured (the Qt user interface is not available)")
    else:
        def met(ok: bool) -> str:
            return "met" if ok else "MISSED"
        p99, cpu = d["display_latency_ms_p99"], d["display_cpu_pct_of_one_core"]
        grew = d["display_rss_mb_end"] - d["display_rss_mb_start"]
        lines += [
            f"  live display, {d['display_channels']} EMG ch x {d['display_rate_hz'] / 1000:g} kHz, "
            f"{d['display_window_s']} s window, offscreen, {d['display_seconds']:.0f} s:",
            f"    {d['display_fps']:.1f} frames per second; "
            f"latency per sample p50 {d['display_latency_ms_p50']:.1f} ms, "
            f"p99 {p99:.1f} ms (target <= 25 at 60 fps: {met(p99 <= 25 and d['display_fps'] >= 59)})",
            f"    CPU {cpu:.1f} % of one core for the whole process, {d['display_gui_thread_cpu_pct']:.1f} % in the "
            f"GUI thread (target <= 15: {met(cpu <= 15)})",
            f"    memory {d['display_rss_mb_start']:.0f} -> {d['display_rss_mb_end']:.0f} MB "
            f"({grew:+.1f} MB; target no growth: {met(grew < 5)}), {d['display_dropped_samples']} samples dropped",
        ]
    r = f.get("review")
    if r is not None:
        target = (f" (target < 2: {'met' if r['review_open_s'] < 2 else 'MISSED'})"
                  if r["review_minutes"] >= 60 else "")
        lines.append(f"  review of a {r['review_minutes']:.0f}-minute session: opened in {r['review_open_s']:.2f} s"
                     f"{target}; pan by a minute "
                     f"p50 {r['review_pan_ms_p50']:.0f} ms, max {r['review_pan_ms_max']:.0f} ms; "
                     f"whole session {r['review_whole_ms']:.0f} ms")
    lines.append(_sound_line(f.get("sound")))
    return "\n".join(lines)


def _programme_report_line(f: dict[str, Any]) -> str:
    pdf, html = f["programme_report_pdf_s"], f["programme_report_html_s"]
    worst = max(pdf, html)
    return (f"  progress report, {f['programme_report_weeks']}-week home programme ({f['programme_report_sessions']} "
            f"sessions, adherence, clinic and home trends, diary): PDF {pdf:.2f} s, HTML {html:.2f} s "
            f"(target < 10: {'met' if worst < 10 else 'MISSED'})")
