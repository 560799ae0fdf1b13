"""The Lightroom Classic plugin (lightroom/Darkroom.lrdevplugin), run with the system's Lua 5.1.

The plugin's JSON, API and long-polling protocol modules take their HTTP functions as a
parameter, so they run outside Lightroom: these tests give them an ``LrHttp`` lookalike
built on LuaSocket (``tests/lightroom/lrhttp_shim.lua``) and point them at a real
server (``make_server``). The UI glue runs with stub Lightroom modules
(``tests/lightroom/lr_stubs.lua``). ``lua5.1`` and ``lua-socket`` are Debian packages
(``.ci/run`` installs them); without them these tests skip, and fail under CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from harness import ROOT, need
from imagegen import write_image
from pipeline_support import ok, wait_developed

PLUGIN = ROOT / "lightroom" / "Darkroom.lrdevplugin"
HERE = Path(__file__).resolve().parent
LUA = shutil.which("lua5.1")
LUAC = shutil.which("luac5.1")

PLUGIN_FILES = sorted(p.name for p in PLUGIN.glob("*.lua"))


def _luasocket_problem() -> str | None:
    if not LUA:
        return "lua5.1 is not installed (Debian: apt-get install lua5.1 lua-socket)"
    probe = subprocess.run([LUA, "-e", 'require "socket.http"; require "ltn12"'],
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return "LuaSocket for Lua 5.1 is not installed (Debian: apt-get install lua-socket)"
    return None


@pytest.fixture(scope="module")
def lua() -> str:
    problem = _luasocket_problem()
    need(problem is None, problem or "")
    return LUA


def run_lua(lua: str, script: str, *args: str, url: str = "", token: str = "",
            timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ,
           "LUA_PATH": f"{PLUGIN}/?.lua;{HERE}/?.lua;;",
           "DARKROOM_URL": url, "DARKROOM_TOKEN": token}
    proc = subprocess.run([lua, str(HERE / script), *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=HERE)
    assert proc.returncode == 0, (
        f"{script} exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    return proc


def result_of(proc: subprocess.CompletedProcess) -> dict:
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0][len("RESULT "):])


# --- pure Lua: no server --------------------------------------------------------------


def test_json_unit_tests_in_lua(lua):
    assert "ok" in run_lua(lua, "test_json.lua").stdout


def test_protocol_module_unit_tests_against_a_fake_server(lua):
    assert "ok" in run_lua(lua, "test_protocol_unit.lua").stdout


def test_json_round_trips_what_python_writes(lua, tmp_path, live_server):
    """Each value, as Python writes it (ASCII escapes and raw UTF-8), decoded and encoded
    again by the plugin's JSON, is the same value; so is the server's whole catalogue."""
    values = [
        {"type": "job_progress", "job_id": 12, "progress": 75.5, "stage": "rendering",
         "message": "Applying preset…", "photo_id": 0, "seq": 2**40},
        {"nested": {"list": [1, [2, [3, [4, {}]]], [], {"a": None}], "t": True, "f": False}},
        ["é", "日本語", "😀 emoji", "\u2028\u2029", "\x00\x01\x1f\x7f", "quote \" back \\ slash /"],
        [0, -0.0, 1e-10, -1.5e300, 123456789, 0.1, 1 / 3, 2**53, -(2**31), 3.14159],
        {"": "", "key with spaces": "v", "ключ": "значение"},
        [None, None, 1],
        {"deep": [[[[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]]]},
        live_server.get("/websocket/catalog").json(),
        live_server.get("/websocket/stats").json(),
    ]
    texts = []
    for v in values:
        texts.append(json.dumps(v, ensure_ascii=True))
        texts.append(json.dumps(v, ensure_ascii=False))
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(texts) + "\n", encoding="utf-8")
    dst = tmp_path / "out.jsonl"
    run_lua(lua, "roundtrip.lua", str(src), str(dst))
    out = dst.read_text(encoding="utf-8").split("\n")[:-1]  # not splitlines: U+2028 is a line end to it
    assert len(out) == len(texts)
    for text, again in zip(texts, out, strict=True):
        assert json.loads(again) == json.loads(text), (text, again)


def test_every_plugin_file_compiles(lua):
    need(LUAC is not None, "luac5.1 is not installed (Debian: apt-get install lua5.1)")
    proc = subprocess.run([LUAC, "-p", *[str(PLUGIN / f) for f in PLUGIN_FILES]],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert {"Info.lua", "PluginInfoProvider.lua", "DarkroomJSON.lua",
            "DarkroomProtocol.lua"} <= set(PLUGIN_FILES)


def test_info_lua_and_the_settings_section_with_stub_lightroom(lua):
    """Info.lua names the SDK keys and existing files; the plug-in manager section builds,
    keeps the URL and token in LrPrefs, and its Test Connection reports a failure."""
    result = result_of(run_lua(lua, "glue_static.lua", str(PLUGIN)))
    assert result["identifier"] == "com.darkroom.lightroom"
    assert set(result["menu_files"]) <= set(PLUGIN_FILES)
    assert result["prefs"] == {"serverUrl": "http://192.168.1.20:5100", "token": "abc"}
    assert result["test_result"].startswith("Failed: cannot reach Darkroom")


# --- against the real server ---------------------------------------------------------


def test_glue_send_approve_reject_and_the_status_window(lua, make_server, tmp_path):
    """The menu commands run with stub Lightroom modules (a stub catalog holding real
    files, LrHttp on LuaSocket) against a real server: Send imports the selected photos
    into a new session, Approve and Reject decide them, the status window shows live
    progress while it is open."""
    server = make_server(ping_interval=1)
    photos = [write_image(tmp_path / f"lr-{i}.jpg", seed=40 + i) for i in range(3)]
    proc = run_lua(lua, "glue_commands.lua", *map(str, photos), url=server.url, timeout=90)
    result = result_of(proc)
    assert result["send_message"].startswith("3 sent, 0 already in Darkroom, 0 failed"), result
    sessions = ok(server.get("/api/sessions"))["sessions"]
    session = next(s for s in sessions if s["name"] == "lightroom-session")
    ids = result["ids"]
    assert len(set(ids.values())) == 3
    for photo_id in ids.values():
        photo = wait_developed(server, photo_id)
        assert photo["session_id"] == session["id"]
    decided = {p["id"]: p["decision"] for p in ok(server.get("/api/photos"))["photos"]}
    first, second, third = (ids[str(p)] for p in photos)
    assert decided[first] == "approved" and decided[second] == "rejected", decided
    assert decided[third] is None
    assert ok(server.get(f"/api/photos/{second}"))["photo"]["decision_reason"] == "soft focus"
    assert result["resend_message"].startswith("0 sent, 1 already in Darkroom"), result
    # The status window: live while open, then gone from the clients.
    window = result["window"]
    assert "job_progress" in window["events"] or "job_completed" in window["events"], window
    assert window["connection_seen"].startswith("Live: connected to")
    assert window["queue_text"].startswith("Pending 0 · Processing 0 · Completed 3 · Failed 0")
    assert window["queue_text"].endswith("Awaiting approval: 3")
    assert window["closed_clean"] is True
    assert not [c for c in ok(server.get("/websocket/clients"))["clients"]
                if c["client_type"] == "lightroom"]


def test_handshake_subscribe_job_progress_during_a_real_develop_and_approve(lua, live_server,
                                                                             tmp_path):
    photo = write_image(tmp_path / "lightroom.jpg", seed=7)
    result = result_of(run_lua(lua, "e2e_develop.lua", str(photo), url=live_server.url))
    assert result["progress"], result["types"]
    assert all(e["job_id"] == result["job_id"] and 0 <= e["progress"] <= 100
               for e in result["progress"])
    assert {"job_completed", "photo_approved"} <= set(result["types"])
    assert result["seqs"] == sorted(set(result["seqs"]))
    assert result["resyncs"] == 0
    photo_row = ok(live_server.get(f"/api/photos/{result['photo_id']}"))["photo"]
    assert photo_row["decision"] == "approved"


def test_expiry_after_silence_resume_and_resync(lua, make_server):
    server = make_server(ping_interval=1)
    result = result_of(run_lua(lua, "e2e_expiry.lua", url=server.url, timeout=90))
    assert result["got"] == [1, 2, 3, 4], result
    assert result["first_id"] != result["second_id"]
    assert result["resync"] == "not_recovered"
    assert result["dropped"] == 1


def test_lan_mode_token(lua, make_server):
    server = make_server(lan=True, host="127.0.0.1")
    token = (server.config.data_dir / "token").read_text().strip()
    result = result_of(run_lua(lua, "e2e_token.lua", url=server.url, token=token))
    assert "unauthorized" in result["states"]
