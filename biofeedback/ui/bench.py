"""Display benchmark: the live window on 2 EMG channels at 2 kHz, 10 s window, offscreen.

Display latency is measured for every sample: from the moment it became due at
the simulated device (a block's arrival is when its last sample was due; the
earlier ones were due one sample period apart before) to the end of the first
frame whose paint includes it. A frame pulls in what has arrived just before it
paints, so the oldest sample of a frame waits about one frame period plus the
paint, the newest only the paint. CPU is the whole process's share
of one core (``time.process_time`` over wall time: engine thread, signal chain
and drawing together); memory is the resident set size at the start and end.
"""
from __future__ import annotations

import collections
import os
import time

import numpy as np

BENCH_SOURCE = "sim:healthy?abd=1&rate=2000"


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_display_bench(seconds: float = 20.0, warmup_s: float = 2.0, source: str = BENCH_SOURCE) -> dict:
    """Run the live window for ``seconds`` and return latency, frame rate, CPU and memory figures."""
    from PySide6 import QtWidgets
    if QtWidgets.QApplication.instance() is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore

    from biofeedback.ui.app import ensure_app
    from biofeedback.ui.main_window import MainWindow

    app = ensure_app()
    win = MainWindow(source=None)
    win.resize(1280, 800)
    win.show()
    blocks: collections.deque[tuple[int, int, float]] = collections.deque()  # (start, stop, last due), not painted
    latencies = np.empty(int(seconds * 2000 * 1.5) + 10000)               # per sample; preallocated: no growth
    n_lat = {"n": 0}
    frames = {"n": 0}
    measuring = {"on": False}

    if not win.connect_source(source):
        raise RuntimeError(win.banner.text())
    win.set_window(10)
    src = win.source
    original_read = src.read

    rate = src.info.rate

    def timed_read():
        out = original_read()
        now = time.monotonic()
        for b in out:
            blocks.append((b.start, b.stop, b.arrival or now))
        return out

    src.read = timed_read                                 # the engine (thread or frame pull) calls source.read()
    def painted(end_index: int, t_paint: float) -> None:
        while blocks and blocks[0][1] <= end_index:
            start, stop, last_due = blocks.popleft()
            n = stop - start
            i = n_lat["n"]
            if measuring["on"] and i + n <= latencies.size:
                due = last_due - (n - 1 - np.arange(n)) / rate     # each sample one period after the one before
                latencies[i:i + n] = 1000.0 * (t_paint - due)
                n_lat["n"] += n
        if measuring["on"]:
            frames["n"] += 1

    win.plot.framePainted.connect(painted)
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(warmup_s * 1000), loop.quit)
    loop.exec()
    rss_start = _rss_mb()
    measuring["on"] = True
    cpu0, gui0, wall0 = time.process_time(), time.thread_time(), time.monotonic()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    cpu, gui, wall = time.process_time() - cpu0, time.thread_time() - gui0, time.monotonic() - wall0
    measuring["on"] = False
    rss_end = _rss_mb()
    dropped = getattr(getattr(win.engine, "stats", None), "dropped", 0)
    win.close()
    app.processEvents()
    lat = latencies[:n_lat["n"]] if n_lat["n"] else np.asarray([np.nan])
    return {
        "display_seconds": round(wall, 2),
        "display_channels": 2, "display_rate_hz": 2000, "display_window_s": 10,
        "display_fps": round(frames["n"] / wall, 1),
        "display_latency_ms_p50": round(float(np.nanmedian(lat)), 2),
        "display_latency_ms_p99": round(float(np.nanpercentile(lat, 99)), 2),
        "display_cpu_pct_of_one_core": round(100.0 * cpu / wall, 1),          # whole process
        "display_gui_thread_cpu_pct": round(100.0 * gui / wall, 1),           # drawing and the window only
        "display_rss_mb_start": round(rss_start, 1),
        "display_rss_mb_end": round(rss_end, 1),
        "display_dropped_samples": int(dropped or 0),
    }


if __name__ == "__main__":  # pragma: no cover - manual run
    import json
    print(json.dumps(run_display_bench(), indent=2))
