"""The preset library: shipped presets, user overrides, invalid files."""

from __future__ import annotations

import json

import pytest

from darkroom.pipeline import presets, selection


def test_shipped_presets_cover_every_tag():
    lib = presets.PresetLibrary([])
    assert lib.get("WhiteLayer_v4") is not None
    for tag in selection.CONTEXT_TAGS:
        assert tag in lib.for_tag(tag).context_tags


def test_user_presets_override_and_invalid_ones_are_skipped(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"name": "WhiteLayer_v4",
                                                 "adjustments": {"exposure": 2}}))
    (tmp_path / "b.json").write_text(json.dumps({"name": "MyNight", "context_tags": ["night"],
                                                 "adjustments": {"shadows": 50}}))
    (tmp_path / "c.json").write_text("{not json")
    (tmp_path / "d.json").write_text(json.dumps({"name": "X", "adjustments": {"bogus": 1}}))
    (tmp_path / "e.json").write_text(json.dumps({"name": "../evil", "adjustments": {}}))
    lib = presets.PresetLibrary([tmp_path])
    assert lib.get("WhiteLayer_v4").adjustments["exposure"] == 2
    assert lib.for_tag("night").name == "MyNight"
    assert lib.get("X") is None and lib.get("../evil") is None
    with pytest.raises(presets.PresetError):
        presets.parse({"name": "Y", "adjustments": {"sharpening": -1}})
    with pytest.raises(presets.PresetError):
        presets.parse({"name": "Y", "adjustments": {"contrast": True}})
