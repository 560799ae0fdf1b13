"""/api/presets: shipped and user presets, broken files left out."""

from __future__ import annotations

import pytest
from pipeline_support import ok

pytestmark = pytest.mark.databases


def test_presets_include_user_presets(make_server, tmp_path):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "Mine.json").write_text('{"name": "Mine", "context_tags": ["standard"], '
                                    '"adjustments": {"exposure": 1.0}}')
    (user / "Broken.json").write_text('{"name": "Broken", "adjustments": {"exposure": 99}}')
    server = make_server(preset_dirs=[str(user)])
    presets = {p["name"]: p for p in ok(server.get("/api/presets"))["presets"]}
    assert {"WhiteLayer_v4", "Portrait_Soft", "Landscape_Vivid", "Mine"} <= set(presets)
    assert "Broken" not in presets
    assert presets["Mine"]["source"] == "user" and presets["Mine"]["adjustments"]["exposure"] == 1
