"""Progress over the weeks from a real library file."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.clinic.library import Goal, Library
from biofeedback.clinic.progress import (
    METRICS,
    Trend,
    TrendPoint,
    client_progress,
    first_met,
    goal_status,
    parse_goal,
    update_milestones,
)
from biofeedback.errors import UserError


@pytest.fixture()
def library(tmp_path):
    lib = Library.open(tmp_path / "lib.sqlite")
    yield lib
    lib.close()


def _fill(lib, tmp_path):
    c = lib.add_client("Mira")
    # added out of order on purpose: the trends must come out in date order
    lib.add_session(c, tmp_path / "s3.bfr", "2026-04-21T09:00:00+02:00", "glazer", 330,
                    {"resting_tone_uv": 4.6, "release_latency_s": 0.9, "contraction_peak_uv": 41.0})
    lib.add_session(c, tmp_path / "s1.bfr", "2026-03-31T09:00:00+02:00", "glazer", 330,
                    {"resting_tone_uv": 9.1, "release_latency_s": 2.6, "contraction_peak_uv": 35.0})
    lib.add_session(c, tmp_path / "s2.bfr", "2026-04-09T17:30:00+02:00", "glazer", 330,
                    {"resting_tone_uv": 6.2, "release_latency_s": 1.4, "contraction_peak_uv": None})
    lib.add_diary(c, "2026-04-14", pain_intercourse=5, pain_pelvic=3, mood=3, minutes_practised=10)
    lib.add_diary(c, "2026-03-30", pain_intercourse=7, pain_pelvic=4, mood=2)
    lib.add_diary(c, "2026-04-24", pain_intercourse=3, mood=4)
    lib.add_diary(c, "2026-04-02", notes="day off")
    lib.add_goal(c, "resting_tone_uv", "<", 5, "resting tone under 5 µV")
    lib.add_goal(c, "release_latency_s", "<=", 1.5, "release within 1.5 s")
    lib.add_goal(c, "pain_intercourse", "<=", 3, "pain at most 3/10")
    lib.add_goal(c, "contraction_peak_uv", ">=", 60)
    return c


def test_three_sessions_and_diary_give_ordered_trends_and_goal_dates(library, tmp_path):
    c = _fill(library, tmp_path)
    progress = client_progress(library, "mira")
    t = progress.trends
    assert t["resting_tone_uv"].days == [dt.date(2026, 3, 31), dt.date(2026, 4, 9), dt.date(2026, 4, 21)]
    assert t["resting_tone_uv"].values == [9.1, 6.2, 4.6]
    assert t["contraction_peak_uv"].values == [35.0, 41.0]          # the missing value is left out
    assert t["pain_intercourse"].days == [dt.date(2026, 3, 30), dt.date(2026, 4, 14), dt.date(2026, 4, 24)]
    assert t["mood"].values == [2, 3, 4]
    assert t["resting_tone_uv"].weekly() == [(0, 9.1), (1, 6.2), (3, 4.6)]
    met = {g.goal.metric: g.met_on for g in progress.goals}
    assert met == {"resting_tone_uv": dt.date(2026, 4, 21), "release_latency_s": dt.date(2026, 4, 9),
                   "pain_intercourse": dt.date(2026, 4, 24), "contraction_peak_uv": None}
    # milestones are stored, once, with the day first met
    newly = update_milestones(library, c)
    assert {g.goal.metric for g in newly} == {"resting_tone_uv", "release_latency_s", "pain_intercourse"}
    assert update_milestones(library, c) == []
    assert {g.metric: g.met_on for g in library.goals(c)}["release_latency_s"] == dt.date(2026, 4, 9)
    # a later relapse does not undo a milestone; a range view still knows when it was first met
    library.add_session(c, tmp_path / "s4.bfr", "2026-05-01T09:00:00+02:00", "glazer", 330,
                        {"release_latency_s": 2.2})
    later = client_progress(library, c, start=dt.date(2026, 4, 30))
    status = {g.goal.metric: g for g in later.goals}["release_latency_s"]
    assert status.met_on == dt.date(2026, 4, 9) and not status.met_now
    assert [s.started_at[:10] for s in later.sessions] == ["2026-05-01"]
    data = json.loads(json.dumps(progress.to_dict()))
    assert [p["day"] for p in data["trends"]["release_latency_s"]["points"]] == ["2026-03-31", "2026-04-09",
                                                                                "2026-04-21"]
    assert data["goals"][0]["met_on"] == "2026-04-21"


def test_goal_metric_must_be_known(library):
    c = library.add_client("X")
    with pytest.raises(UserError, match="unknown goal metric"):
        library.add_goal(c, "happiness", "<", 3)
    assert parse_goal("release_latency_s<=1") == ("release_latency_s", "<=", 1.0)
    assert parse_goal("mood>=4") == ("mood", ">=", 4.0)
    with pytest.raises(UserError):
        parse_goal("release fast")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 20, allow_nan=False), min_size=1, max_size=30), st.floats(0, 20))
def test_first_met_is_the_earliest_qualifying_day(values, target):
    start = dt.date(2026, 1, 1)
    trend = Trend(METRICS["resting_tone_uv"], [TrendPoint(start + dt.timedelta(days=3 * i), v)
                                               for i, v in enumerate(values)])
    goal = Goal(1, 1, "resting_tone_uv", "<", target)
    day = first_met(goal, trend)
    qualifying = [start + dt.timedelta(days=3 * i) for i, v in enumerate(values) if v < target]
    assert day == (qualifying[0] if qualifying else None)
    (status,) = goal_status([goal], {"resting_tone_uv": trend})
    assert status.met_now == (values[-1] < target)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 120), st.floats(1, 15, allow_nan=False)), min_size=1, max_size=12,
                unique_by=lambda x: x[0]),
       st.lists(st.tuples(st.integers(0, 120), st.integers(0, 10)), max_size=12), st.floats(2, 14))
def test_library_trends_are_date_ordered_whatever_the_insertion_order(tmp_path_factory, sessions, diary, target):
    start = dt.date(2026, 1, 5)
    path = tmp_path_factory.mktemp("lib") / "lib.sqlite"
    with Library.open(path) as lib:
        c = lib.add_client("P")
        for i, (day, tone) in enumerate(sessions):
            lib.add_session(c, path.parent / f"{i}.bfr", f"{start + dt.timedelta(days=day)}T08:00:00", "glazer", 300,
                            {"resting_tone_uv": tone})
        for day, pain in diary:
            lib.add_diary(c, start + dt.timedelta(days=day), pain_intercourse=pain)
        lib.add_goal(c, "resting_tone_uv", "<", target)
        lib.add_goal(c, "pain_intercourse", "<=", 3)
        p = client_progress(lib, c)
    tones = p.trends["resting_tone_uv"]
    assert tones.days == sorted(tones.days)
    assert sorted(zip(tones.days, tones.values)) == sorted((start + dt.timedelta(days=d), v) for d, v in sessions)
    assert p.trends["pain_intercourse"].days == sorted(p.trends["pain_intercourse"].days)
    expect_tone = min((start + dt.timedelta(days=d) for d, v in sessions if v < target), default=None)
    expect_pain = min((start + dt.timedelta(days=d) for d, v in diary if v <= 3), default=None)
    assert [g.met_on for g in p.goals] == [expect_tone, expect_pain]


def test_pressure_only_client_gets_pressure_trends(library, tmp_path):
    from biofeedback.clinic.progress import plotted_keys
    c = library.add_client("Pia")
    for i, day in enumerate(("2026-02-01", "2026-02-15")):
        library.add_session(c, tmp_path / f"p{i}.bfr", f"{day}T10:00:00", "work-rest", 300,
                            {"resting_tone_cmh2o": 31.0 - 3 * i, "contraction_peak_cmh2o": 52.0 + i,
                             "release_latency_s": 1.8 - 0.5 * i})
    p = client_progress(library, c)
    assert plotted_keys(p.trends) == ["resting_tone_cmh2o", "pressure_release_latency_s", "contraction_peak_cmh2o"]
    assert p.trends["pressure_release_latency_s"].values == [1.8, 1.3] and not p.trends["release_latency_s"].points
    assert p.trends["resting_tone_cmh2o"].values == [31.0, 28.0]


def _emg(tone, var, release, peak):
    return {"channel": "pfm", "unit": "uV", "resting_tone_uv": tone, "resting_variability_pct": var,
            "release_latency_s": release, "contraction_peak_uv": peak, "time_in_band_pct": 70.0}


def test_emg_and_pressure_sessions_keep_to_their_own_series_and_goals(library, tmp_path):
    from biofeedback.clinic.progress import metric_value, plotted_keys, session_modality
    c = library.add_client("Noor")
    library.add_session(c, tmp_path / "e1.bfr", "2026-03-02T09:00:00", "glazer", 330, _emg(9.0, 30.0, 2.4, 35.0))
    library.add_session(c, tmp_path / "p1.bfr", "2026-03-09T09:00:00", "glazer", 330,
                        {"channel": "pressure", "unit": "cmH2O", "resting_tone_cmh2o": 25.0,
                         "resting_variability_pct": 1.7, "release_latency_s": 0.6, "contraction_peak_cmh2o": 23.9,
                         "time_in_band_pct": 92.0})
    library.add_session(c, tmp_path / "e2.bfr", "2026-03-16T09:00:00", "glazer", 330, _emg(7.0, 24.0, 1.6, 38.0))
    library.add_goal(c, "release_latency_s", "<=", 1.0, "release within 1 s")
    library.add_goal(c, "resting_variability_pct", "<", 5.0)
    library.add_goal(c, "pressure_release_latency_s", "<=", 1.0, "pressure release within 1 s")
    p = client_progress(library, c)
    t = p.trends
    # the EMG series hold only the two EMG sessions; the pressure session has its own series
    assert t["release_latency_s"].values == [2.4, 1.6]
    assert t["resting_variability_pct"].values == [30.0, 24.0]
    assert t["time_in_band_pct"].values == [70.0, 70.0]
    assert t["pressure_release_latency_s"].values == [0.6]
    assert t["pressure_resting_variability_pct"].values == [1.7]
    assert t["pressure_time_in_band_pct"].values == [92.0]
    assert t["resting_tone_uv"].values == [9.0, 7.0] and t["resting_tone_cmh2o"].values == [25.0]
    assert plotted_keys(t) == ["resting_tone_uv", "release_latency_s", "contraction_peak_uv"]
    goals = {g.goal.metric: g for g in p.goals}
    # the pressure session's 0.6 s does not meet the EMG goal; it meets the pressure one
    assert goals["release_latency_s"].met_on is None and goals["release_latency_s"].latest == 1.6
    assert not goals["release_latency_s"].met_now
    assert goals["resting_variability_pct"].met_on is None
    assert goals["pressure_release_latency_s"].met_on == dt.date(2026, 3, 9)
    assert {g.goal.metric for g in update_milestones(library, c)} == {"pressure_release_latency_s"}
    data = json.loads(json.dumps(p.to_dict()))
    assert [p_["value"] for p_ in data["trends"]["release_latency_s"]["points"]] == [2.4, 1.6]
    assert data["trends"]["release_latency_s"]["modality"] == "emg"
    assert [s["modality"] for s in data["sessions"]] == ["emg", "pressure", "emg"]
    assert "release_latency_s" not in data["sessions"][1]["metrics"]
    assert data["sessions"][1]["metrics"]["pressure_release_latency_s"] == 0.6
    # a pressure channel recorded beside EMG feeds the pressure series through the summary's channels
    both = dict(_emg(5.0, 20.0, 1.2, 40.0), resting_tone_cmh2o=24.0,
                channels={"pfm": _emg(5.0, 20.0, 1.2, 40.0),
                          "pressure": {"channel": "pressure", "unit": "cmH2O", "release_latency_s": 0.8}})
    assert session_modality(both) == "emg"
    assert metric_value(both, "release_latency_s") == 1.2 and metric_value(both, "pressure_release_latency_s") == 0.8
    assert metric_value(both, "resting_tone_cmh2o") == 24.0
