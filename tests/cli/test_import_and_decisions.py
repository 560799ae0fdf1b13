"""``darkroom import`` on generated photos (exit 0 when every one is developed, 1 when one
fails), then ``status``, ``approve`` and ``reject`` on what it imported."""

from __future__ import annotations

import json

import pytest
from clitools import run_cli
from imagegen import write_corrupt, write_image


def shoot(folder, count=3, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    return [write_image(folder / f"IMG_{n:04d}.jpg", seed=seed + n) for n in range(count)]


def photos_of(server, session_id):
    return server.get("/api/photos", params={"session_id": session_id}).json()["photos"]


def session_named(server, name):
    sessions = [s for s in server.get("/api/sessions").json()["sessions"] if s["name"] == name]
    assert len(sessions) == 1, sessions
    return sessions[0]


def test_import_a_folder_exits_0_when_every_photo_is_developed(live_server, tmp_path):
    shoot(tmp_path / "shoot", 3)
    done = run_cli("import", str(tmp_path / "shoot"), "--url", live_server.url)
    assert done.returncode == 0, done.stdout + done.stderr
    session = session_named(live_server, "shoot")  # made for the folder, named after it
    photos = photos_of(live_server, session["id"])
    assert sorted(p["file_name"] for p in photos) == ["IMG_0000.jpg", "IMG_0001.jpg", "IMG_0002.jpg"]
    assert {p["status"] for p in photos} == {"developed"}
    for p in photos:  # one line per photo when stdout is not a terminal
        assert f"{p['file_name']}  developed (photo {p['id']})" in done.stdout
    assert "3 developed, 0 failed" in done.stderr


def test_import_exits_1_when_one_photo_is_corrupt(live_server, tmp_path):
    shoot(tmp_path / "mixed", 2)
    write_corrupt(tmp_path / "mixed" / "IMG_0009.jpg")
    done = run_cli("import", str(tmp_path / "mixed"), "--url", live_server.url)
    assert done.returncode == 1, done.stdout + done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("IMG_0009.jpg"))
    assert "failed" in line and "cannot read image" in line
    assert "2 developed, 1 failed" in done.stderr
    session = session_named(live_server, "mixed")
    assert {p["status"] for p in photos_of(live_server, session["id"])} == {"developed"}


def test_import_files_into_a_named_session_and_again_as_duplicates(live_server, tmp_path):
    files = shoot(tmp_path / "loose", 2, seed=10)
    args = ["import", *map(str, files), "--session", "Wedding", "--url", live_server.url]
    first = run_cli(*args)
    assert first.returncode == 0, first.stdout + first.stderr
    session = session_named(live_server, "Wedding")
    assert len(photos_of(live_server, session["id"])) == 2
    again = run_cli(*args)  # already imported and developed: nothing left to wait for
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(photos_of(live_server, session["id"])) == 2


def test_a_folder_imported_twice_follows_the_photos_it_already_has(live_server, tmp_path):
    shoot(tmp_path / "twice", 2, seed=20)
    assert run_cli("import", str(tmp_path / "twice"), "--url", live_server.url).returncode == 0
    again = run_cli("import", str(tmp_path / "twice"), "--url", live_server.url)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "2 developed, 0 failed" in again.stderr


def test_a_path_outside_the_import_roots_is_a_failure_with_its_message(live_server, tmp_path_factory):
    outside = write_image(tmp_path_factory.mktemp("elsewhere") / "IMG_1.jpg", seed=99)
    done = run_cli("import", str(outside), "--url", live_server.url)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "IMG_1.jpg" in done.stdout and "failed" in done.stdout and "not imported" in done.stdout


def test_import_bad_arguments_exit_2(live_server, tmp_path):
    assert run_cli("import", "--url", live_server.url).returncode == 2  # no PATH
    missing = run_cli("import", str(tmp_path / "nope.jpg"), "--url", live_server.url)
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr


@pytest.fixture
def developed(live_server, tmp_path):
    """Three developed photos of the session ``decide`` (imported by the command line)."""
    shoot(tmp_path / "decide", 3, seed=40)
    done = run_cli("import", str(tmp_path / "decide"), "--url", live_server.url)
    assert done.returncode == 0, done.stdout + done.stderr
    session = session_named(live_server, "decide")
    return session, sorted(p["id"] for p in photos_of(live_server, session["id"]))


def test_status_shows_queue_sessions_and_clients(live_server, developed):
    session, ids = developed
    ws = live_server.ws()
    ws.send({"type": "register", "client_type": "mobile", "client_name": "Phone of Ana"})
    ws.recv_type("registration_confirmed")
    ws.subscribe("jobs")
    try:
        as_json = run_cli("status", "--json", "--url", live_server.url)
        assert as_json.returncode == 0, as_json.stderr
        status = json.loads(as_json.stdout)
        assert status["queue"]["counts"]["completed"] >= 3
        mine = next(s for s in status["sessions"] if s["id"] == session["id"])
        assert mine["total_photos"] == 3 and mine["progress_percent"] == 100.0
        assert any(c["client_name"] == "Phone of Ana" and c["client_type"] == "mobile"
                   for c in status["clients"])
        text = run_cli("status", "--url", live_server.url)
        assert text.returncode == 0, text.stderr
        assert "Queue:" in text.stdout and "decide" in text.stdout and "3/3 processed" in text.stdout
        assert "Phone of Ana" in text.stdout and "mobile" in text.stdout
    finally:
        ws.close()


def test_approve_and_reject_round_trips(live_server, developed):
    session, (a, b, c) = developed
    approved = run_cli("approve", str(a), str(b), "--url", live_server.url)
    assert approved.returncode == 0, approved.stderr
    assert f"photo {a}: approved" in approved.stdout and f"photo {b}: approved" in approved.stdout
    rejected = run_cli("reject", str(c), "--reason", "eyes closed", "--url", live_server.url)
    assert rejected.returncode == 0, rejected.stderr
    assert "session completed" in rejected.stdout  # the last decision of the session
    decisions = {p["id"]: p["decision"] for p in photos_of(live_server, session["id"])}
    assert decisions == {a: "approved", b: "approved", c: "rejected"}
    history = live_server.get("/api/events", params={"channels": "photos", "limit": 1000}).json()
    reasons = [e["reason"] for e in history["events"] if e["type"] == "photo_rejected"]
    assert reasons == ["eyes closed"]

    again = run_cli("approve", str(a), "999999", "--url", live_server.url)
    assert again.returncode == 1
    assert f"photo {a}: not approved" in again.stderr and "already_decided" in again.stderr
    assert "photo 999999: not approved" in again.stderr
    assert run_cli("approve", "abc", "--url", live_server.url).returncode == 2
    assert run_cli("reject", "--url", live_server.url).returncode == 2


def test_on_a_terminal_import_shows_one_progress_bar_per_photo(live_server, tmp_path):
    import os
    import pty
    import subprocess
    import threading

    from clitools import _CLEAN_ENV, cli_command
    from harness import ROOT

    shoot(tmp_path / "bars", 2, seed=60)
    master, slave = pty.openpty()
    proc = subprocess.Popen(cli_command("import", str(tmp_path / "bars"), "--url", live_server.url),
                            cwd=ROOT, stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            env={**_CLEAN_ENV, "COLUMNS": "120", "TERM": "xterm"})
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    reader.join(10)
    os.close(master)
    screen = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, screen + err.decode()
    assert "IMG_0000.jpg" in screen and "IMG_0001.jpg" in screen
    assert "\u2501" in screen and "100%" in screen  # rich's bars, each run to the end
    assert "2 developed, 0 failed" in err.decode()
