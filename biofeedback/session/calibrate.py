"""Headless calibration (the ``calibrate`` command): rest + maximum efforts from any source, no window.

The same :class:`~biofeedback.signal.calibration.CalibrationRun` the window's wizard shows, fed from the
live signal chain; a simulated patient follows its cues. The signal quality of the rest phase is judged
(:mod:`biofeedback.signal.quality`), and the release target follows
:func:`~biofeedback.signal.calibration.release_target_rule`. With a client, the calibration and bands are
stored with her in the library, a target the therapist typed is kept
(:func:`~biofeedback.signal.calibration.keep_typed_target`), and a changed target is filed as a step
(:mod:`biofeedback.clinic.shaping`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from biofeedback.errors import UserError
from biofeedback.signal import quality as quality_mod
from biofeedback.signal.calibration import Calibration, CalibrationPlan, CalibrationRun, keep_typed_target
from biofeedback.signal.chain import SignalChain
from biofeedback.sources import open_source
from biofeedback.stream import primary_channel


@dataclass
class CalibrationOutcome:
    calibration: Calibration
    quality: quality_mod.Quality
    channel: str
    unit: str
    stored_for: str = ""

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` keys: ``rest_uv``, ``max_uv``, ``release_target_uv``, ``contraction_band_uv``,
        ``quality`` (the issue's interface), and more beside them."""
        cal = self.calibration
        bands = cal.default_bands()
        target = cal.target
        assert target is not None
        return {
            "rest_uv": round(cal.rest_mean, 3), "max_uv": round(cal.mvc, 3),
            "release_target_uv": round(bands.release_high, 3),
            "contraction_band_uv": [round(bands.contraction_low, 3), round(bands.contraction_high, 3)],
            "quality": self.quality.to_dict(),
            "rest_sd_uv": round(cal.rest_sd, 3),
            "rest_variability_pct": None if cal.rest_cv_pct is None else round(cal.rest_cv_pct, 1),
            "noise_floor_uv": None if cal.noise_floor is None else round(cal.noise_floor, 3),
            "rest_excluded_s": round(cal.rest_excluded_s, 2),
            "release_target_rule": target.rule, "release_target_reason": target.reason,
            "patient_text": target.patient_text, "effort_peaks_uv": [round(p, 3) for p in cal.effort_peaks],
            "channel": self.channel, "unit": self.unit, "client": self.stored_for or None,
        }

    def text(self) -> str:
        d = self.to_json()
        u = "µV" if self.unit.lower() == "uv" else self.unit
        floor = f"{d['noise_floor_uv']:.2f} {u}" if d["noise_floor_uv"] is not None else "-"
        lines = [
            f"Rest              {d['rest_uv']:.2f} {u}, SD {d['rest_sd_uv']:.2f} {u}"
            + (f" ({d['rest_excluded_s']:.1f} s of artefacts left out)" if d["rest_excluded_s"] else ""),
            f"Noise floor       {floor}",
            f"Maximum           {d['max_uv']:.2f} {u} (squeezes {', '.join(f'{p:.1f}' for p in d['effort_peaks_uv'])})",
            f"Signal quality    {self.quality.light}: {self.quality.sentence}",
            f"Contraction band  {d['contraction_band_uv'][0]:.2f}-{d['contraction_band_uv'][1]:.2f} {u} (40-70 %)",
            f"Release target    {d['release_target_uv']:.2f} {u} ({d['release_target_rule']}: "
            f"{d['release_target_reason']})",
            f"For her           {d['patient_text']}",
        ]
        if self.stored_for:
            lines.append(f"Stored with       {self.stored_for}")
        return "\n".join(lines)


def run_calibration(spec: str, speed: float | None = 1.0, plan: CalibrationPlan | None = None,
                    previous_target: dict | None = None, timeout_s: float | None = None,
                    previous_unit: str | None = None) -> CalibrationOutcome:
    """Calibrate from the source ``spec`` (a simulated patient follows the cues)."""
    source = open_source(spec, speed)
    info = source.info
    ch = primary_channel(info)   # the channel her bands apply to, as in the window's wizard
    channel = info.channels[ch]
    chain = SignalChain(info)
    run = CalibrationRun(info.rate, 0.0, plan or CalibrationPlan(), unit=channel.unit, channel=channel.name)
    patient = getattr(source, "patient", None)
    if patient is not None:
        patient.script = run.effort_at
    rest_end = run.plan.rest_s
    raw_rest: list[np.ndarray] = []
    filt_rest: list[np.ndarray] = []
    limit = time.monotonic() + (timeout_s if timeout_s is not None else run.plan.duration_s / (speed or 1000) + 30)
    source.start()
    try:
        while not run.done:
            blocks = source.read()
            if not blocks:
                if getattr(source, "finished", False):
                    break
                if time.monotonic() > limit:
                    break
                time.sleep(0.005)
                continue
            for block in blocks:
                out = chain.process(block)
                t = (block.start + np.arange(block.data.shape[0])) / info.rate
                run.feed(t, out.envelope[:, ch])
                rest = (t >= run.plan.rest_skip_s) & (t < rest_end)
                if rest.any():
                    raw_rest.append(block.data[rest, ch])
                    filt_rest.append(out.filtered[rest, ch])
    finally:
        source.stop()
        if patient is not None:
            patient.script = None
    if not run.done:
        raise UserError(f"the calibration did not finish: {spec} stopped sending after "
                        f"{run.progress(run._last_t) * run.plan.duration_s:.0f} s")
    try:
        cal = run.result()
    except ValueError as exc:
        raise UserError(f"calibration did not succeed: {exc}") from None
    assert cal.target is not None
    cal.target = keep_typed_target(previous_target, cal.target, previous_unit, cal.unit)
    raw = np.concatenate(raw_rest) if raw_rest else np.empty(0)
    filt = np.concatenate(filt_rest) if filt_rest else None
    q = quality_mod.assess(raw, filt if channel.kind == "emg" else None, info.rate)
    cal.quality = q.to_dict()
    return CalibrationOutcome(cal, q, channel.name, channel.unit)


def calibrate_client(spec: str, client: str, library_path: str | None = None, speed: float | None = 1.0,
                     plan: CalibrationPlan | None = None) -> CalibrationOutcome:
    """Calibrate and store the result with ``client`` (her typed target kept; a new target filed as a step)."""
    from biofeedback.clinic.library import Library
    from biofeedback.clinic.shaping import file_target_step
    with Library.open(library_path) as library:
        person = library.get_or_add_client(client)
        previous = person.calibration.get("target") if isinstance(person.calibration, dict) else None
        outcome = run_calibration(spec, speed, plan, previous_target=previous,
                                  previous_unit=person.calibration.get("unit", "uV") if previous else None)
        cal = outcome.calibration
        stored = cal.to_dict()
        library.update_client(person, calibration=stored, bands=cal.default_bands().to_dict())
        assert cal.target is not None
        file_target_step(library, person, cal.target.value, cal.target.rule, unit=cal.unit)
        outcome.stored_for = person.name
    return outcome
