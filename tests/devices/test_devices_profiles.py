"""Device profiles: the shipped ones, user folders, files given by path, and one-line errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

from devices import cyton
from devices.profiles import (
    BUILTIN_DIR,
    SKETCH_DIR,
    ProfileError,
    find_profile,
    list_profiles,
    load_profile,
    profile_from_dict,
    user_profile_dirs,
)

SHIPPED = {"openbci-cyton": ("cyton", 250, 115200), "olimex-ekg-emg": ("openeeg-p2", 256, 57600),
           "arduino-emg": ("text", 1000, 230400), "arduino-pressure": ("text", 50, 115200),
           "generic-text": ("text", 500, 115200), "bitalino-emg": ("bitalino", 1000, 115200)}


@pytest.fixture(autouse=True)
def no_user_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("BIOFEEDBACK_DEVICES", str(tmp_path / "none"))


def test_shipped_profiles():
    profiles, problems = list_profiles()
    assert problems == []
    for name, (decoder, rate, baud) in SHIPPED.items():
        p = profiles[name]
        assert (p.decoder, p.rate, p.baud) == (decoder, rate, baud)
        assert p.path.startswith(str(BUILTIN_DIR))
    assert profiles["openbci-cyton"].channels[0].scale == pytest.approx(cyton.uv_per_count(24), rel=1e-12)
    assert (profiles["openbci-cyton"].start, profiles["openbci-cyton"].stop) == ("b", "s")
    assert profiles["arduino-pressure"].channels[0].kind == "pressure"
    assert profiles["arduino-pressure"].channels[0].unit == "cmH2O"
    assert profiles["arduino-emg"].wait_s == pytest.approx(2.0)
    # the Arduino profiles name the sketch they expect, and it ships
    for name in ("arduino-emg", "arduino-pressure"):
        sketch = profiles[name].notes.split("devices/sketches/")[1].split()[0].rstrip(".")
        assert (SKETCH_DIR / sketch).is_file()


def test_pressure_scale_follows_the_mpx5050_datasheet():
    p = find_profile("arduino-pressure")
    # Vout = 5 V (0.018 P + 0.04): 0 kPa -> 0.2 V (count 40.92); 50 kPa -> 4.7 V (count 961.6)
    values = p.to_physical(np.array([[0.2 / 5 * 1023], [4.7 / 5 * 1023]]))
    np.testing.assert_allclose(values[:, 0], [0.0, 50 * 10.1972], atol=1e-6)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_counts_and_physical_values_round_trip(name):
    p = find_profile(name)
    counts = p.to_counts(np.zeros((3, len(p.channels))))
    assert counts.shape == (3, p.device_columns)
    back = p.to_physical(counts)
    assert np.all(np.abs(back) <= max(abs(c.scale) for c in p.channels) * (10 ** -p.decimals) / 2 + 1e-9)


def test_user_folder_adds_and_replaces(tmp_path, monkeypatch):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps({
        "name": "arduino-emg", "decoder": "text", "decoder_options": {"columns": 2}, "baud": 9600, "rate": 100,
        "channels": [{"name": "pfm", "index": 0}, {"name": "abd", "index": 1, "scale": 2, "offset": -5}]}))
    monkeypatch.setenv("BIOFEEDBACK_DEVICES", str(folder))
    assert user_profile_dirs() == [folder]
    p = find_profile("arduino-emg")
    assert (p.baud, p.rate, [c.name for c in p.channels]) == (9600, 100, ["pfm", "abd"])
    np.testing.assert_array_equal(p.to_physical(np.array([[1.0, 10.0]])), [[1.0, 15.0]])
    assert p.make_decoder().feed(b"3,4\n").samples.tolist() == [[3, 4]]


def test_platform_config_folder_without_env(monkeypatch, tmp_path):
    monkeypatch.delenv("BIOFEEDBACK_DEVICES")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert user_profile_dirs() == [tmp_path / "biofeedback" / "devices"]


def test_profile_by_path(tmp_path):
    path = tmp_path / "board.json"
    path.write_text(json.dumps({"name": "board", "decoder": "openeeg-p2", "baud": 57600, "rate": 256,
                                "channels": [{"name": "pfm", "index": 5}]}))
    assert find_profile(str(path)).channels[0].index == 5


@pytest.mark.parametrize("doc, words", [
    ({"decoder": "text", "baud": 9600, "rate": 1, "channels": [{"name": "a"}]}, "missing field 'name'"),
    ({"name": "x", "decoder": "morse", "baud": 9600, "rate": 1, "channels": [{"name": "a"}]}, "unknown decoder"),
    ({"name": "x", "decoder": "text", "baud": 9600, "rate": 1, "channels": []}, "non-empty list"),
    ({"name": "x", "decoder": "text", "baud": 9600, "rate": 1, "channels": [{"name": "a", "kind": "ecg"}]}, "kind"),
    ({"name": "x", "decoder": "text", "baud": 9600, "rate": 0, "channels": [{"name": "a"}]}, "rate must be from 1"),
    ({"name": "x", "decoder": "text", "baud": 9600, "rate": float("nan"), "channels": [{"name": "a"}]},
     "rate must be from 1 to 20000 samples per second, not nan"),
    ({"name": "x", "decoder": "text", "baud": 9600, "rate": float("inf"), "channels": [{"name": "a"}]}, "not inf"),
    ({"name": "x", "decoder": "text", "baud": 1, "rate": 1, "channels": [{"name": "a"}]}, "baud must be from 300"),
    ({"name": "x", "decoder": "text", "baud": 99999999999, "rate": 1, "channels": [{"name": "a"}]}, "baud must be"),
    ({"name": "x", "decoder": "text", "baud": float("inf"), "rate": 1, "channels": [{"name": "a"}]}, "infinity"),
    ({"name": "x", "decoder": "text", "baud": 9600, "rate": 1, "wait_s": 1e9, "channels": [{"name": "a"}]},
     "wait_s must be from 0 to 30 seconds"),
    ({"name": "x", "decoder": "text", "baud": 9600, "rate": 1, "channels": [{"name": "a", "scale": float("nan")}]},
     "finite scale"),
    ({"name": "x", "decoder": "text", "baud": "fast", "rate": 1, "channels": [{"name": "a"}]}, "invalid literal"),
    ({"name": "x", "decoder": "cyton", "baud": 9600, "rate": 1, "channels": [{"name": "a", "index": 8}]}, "beyond"),
    ({"name": "x", "decoder": "text", "decoder_options": {"colour": 1}, "baud": 9600, "rate": 1,
      "channels": [{"name": "a"}]}, "no option"),
    ({"name": "x", "decoder": "text", "baud": 9600, "rate": 1, "channels": [{"name": "a", "scale": 0}]}, "scale 0"),
])
def test_bad_profiles_give_one_line(doc, words):
    with pytest.raises(ProfileError) as err:
        profile_from_dict(doc, where="my.json")
    assert words in str(err.value) and "\n" not in str(err.value) and str(err.value).startswith("my.json")


def test_broken_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(ProfileError, match="not valid JSON"):
        load_profile(bad)
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "missing.json")
    with pytest.raises(ProfileError, match="unknown device 'toaster'; known devices: arduino-emg"):
        find_profile("toaster")
