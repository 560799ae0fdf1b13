"""File safety (threat T5): imports, session folders, folder scans and the hot folder reach only
files inside the import roots, and every refusal is one 404 answer, fast, so the API cannot
read the disk or tell what exists on it.

Layout of every test: the import root ``R`` (``tmp_path/root``), a sibling ``O``
(``tmp_path/outside``) that is outside every root, and the data directory
(``tmp_path/data``, whose ``inbox`` is always a root).
"""

from __future__ import annotations

import os
import socket
import time

import pytest
from imagegen import write_image
from pipeline_support import Recorder, create_session, error, ok, pipeline_of

from darkroom.db import PhotoSession
from darkroom.pipeline.intake.roots import ImportRoots, windows_unsafe

pytestmark = pytest.mark.databases

FAST = 1.0  # seconds, generous for a loaded CI machine; the README promises 100 ms


@pytest.fixture
def layout(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    return root, outside


@pytest.fixture
def server(make_server, layout):
    return make_server(import_roots=[str(layout[0])])


def _timed(call):
    start = time.monotonic()
    res = call()
    return res, time.monotonic() - start


def _age_atime(path) -> None:
    """An access time in 1970: any read moves it (relatime updates an atime older than the
    mtime), so a read is visible without watching the server."""
    os.utime(path, (1, os.stat(path).st_mtime), follow_symlinks=False)


def _not_read(path) -> bool:
    return os.stat(path).st_atime == 1


def _refused_file_paths(root, outside) -> dict[str, str]:
    """Every way to name a file that must not be imported, each built for real on disk."""
    secret = write_image(outside / "b.jpg", seed=901)
    _age_atime(secret)
    (outside / "sub").mkdir()
    (root / "sub").mkdir()
    (root / "link.jpg").symlink_to(secret)
    (root / "dir").symlink_to(outside, target_is_directory=True)
    (root / "folder.jpg").mkdir()
    cases = {
        "absolute outside": str(secret),
        "dot-dot": f"{root}/../outside/b.jpg",
        "dot-dot through a subfolder": f"{root}/./sub/../../outside/b.jpg",
        "relative dot-dot": os.path.relpath(secret),
        "/etc/passwd": "/etc/passwd",
        "missing outside": str(outside / "nothing.jpg"),
        "missing inside": str(root / "missing.jpg"),
        "home": "~/.ssh/id_rsa",
        "symlink out of the root": str(root / "link.jpg"),
        "through a symlinked folder": str(root / "dir" / "b.jpg"),
        "a folder": str(root / "folder.jpg"),
        "the root itself": str(root),
        "/dev/zero": "/dev/zero",
        "/dev/null": "/dev/null",
        "/proc/self/environ": "/proc/self/environ",
    }
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "pipe.jpg")
        cases["a FIFO"] = str(root / "pipe.jpg")
    sock_path = root / "s.jpg"
    if len(os.fsencode(sock_path)) < 100 and hasattr(socket, "AF_UNIX"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(sock_path))
        cases["a socket"] = str(sock_path)
    return cases


def test_every_refused_file_gets_the_same_404_fast_and_nothing_is_read(server, layout):
    root, outside = layout
    rec = Recorder(server, ("photos", "system"))
    cases = _refused_file_paths(root, outside)
    answers = {}
    for what, path in cases.items():
        res, took = _timed(lambda path=path: server.post("/import/file", {"file_path": path}))
        body = error(res, 404, "not_found")
        assert took < FAST, (what, took)
        assert str(outside) not in res.text and "b.jpg" not in res.text, (what, res.text)
        answers[what] = (res.status_code, body)
    assert len({repr(a) for a in answers.values()}) == 1, answers
    assert _not_read(outside / "b.jpg"), "a file outside the roots was read"
    # The same with a session: the file is refused before the session is even looked at.
    res = server.post("/import/file", {"file_path": cases["absolute outside"], "session_id": 1})
    assert (res.status_code, res.json()) == answers["missing inside"]
    # Nothing was imported, nothing announced; a real photo in the root still imports.
    assert ok(server.get("/api/photos"))["total"] == 0
    good = ok(server.post("/import/file", {"file_path": str(write_image(root / "a.jpg", seed=902))}))
    rec.wait(lambda ev: rec.of("photo_imported"), what="the good import")
    assert [e["photo_id"] for e in rec.of("photo_imported")] == [good["photo_id"]]
    assert not rec.of("error_occurred"), rec.of("error_occurred")
    rec.close()


def test_a_fifo_never_blocks_the_import(server, layout):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    fifo = layout[0] / "slow.jpg"
    os.mkfifo(fifo)
    for _ in range(5):
        res, took = _timed(lambda: server.post("/import/file", {"file_path": str(fifo)}))
        error(res, 404, "not_found")
        assert took < FAST, took


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(make_server, layout):
    root, _ = layout
    photo = write_image(root / "ok.jpg", seed=903)
    limit = photo.stat().st_size
    server = make_server(import_roots=[str(root)], max_import_size=limit)
    huge = root / "huge.jpg"
    with open(huge, "wb") as fp:
        fp.truncate(16 * 1024**3)  # sparse: 16 GiB that take no disk, minutes to hash
    _age_atime(huge)
    res, took = _timed(lambda: server.post("/import/file", {"file_path": str(huge)}))
    error(res, 413, "file_too_large")
    assert took < FAST, took
    assert _not_read(huge), "the file was read"
    bigger = write_image(root / "bigger.jpg", 400, 300, seed=904)
    assert bigger.stat().st_size > limit
    error(server.post("/import/file", {"file_path": str(bigger)}), 413, "file_too_large")
    # Exactly at the limit is fine.
    ok(server.post("/import/file", {"file_path": str(photo)}))


def test_the_inbox_folder_is_always_a_root(server, tmp_path):
    inbox = pipeline_of(server).data_dir / "inbox"
    body = ok(server.post("/import/file", {"file_path": str(write_image(inbox / "in.jpg",
                                                                         seed=905))}))
    assert body["session_id"] == 1


def test_session_folders_must_lie_inside_a_root(server, layout):
    root, outside = layout
    rec = Recorder(server, ("sessions",))
    (root / "shoot").mkdir()
    (root / "away").symlink_to(outside, target_is_directory=True)
    (root / "file.jpg").write_bytes(b"x")
    refused = [str(outside), f"{root}/../outside", str(root / "away"), str(root / "missing"),
               str(root / "file.jpg"), "/etc", "/", "~", "/dev"]
    bodies = set()
    for n, folder in enumerate(refused):
        res, took = _timed(lambda n=n, folder=folder: server.post(
            "/api/sessions", {"name": f"S{n}", "import_folder": folder}))
        body = error(res, 404, "not_found")
        assert took < FAST and str(outside) not in res.text, (folder, res.text)
        bodies.add(repr(body))
    assert len(bodies) == 1, bodies
    sid = create_session(server, "Shoot", root / "shoot")
    for folder in refused:
        body = error(server.patch(f"/api/sessions/{sid}", {"import_folder": folder}), 404,
                     "not_found")
        assert repr(body) in bodies
    session = ok(server.get(f"/api/sessions/{sid}"))["session"]
    assert session["import_folder"] == str((root / "shoot").resolve())
    assert [s["name"] for s in ok(server.get("/api/sessions"))["sessions"]] == ["Inbox", "Shoot"]
    rec.wait(lambda ev: rec.of("session_created"), what="the one session created")
    assert [e["session_name"] for e in rec.of("session_created")] == ["Shoot"]
    rec.close()


def _plant_session(server, name: str, folder) -> int:
    """A session row from before the import roots existed (or from other roots)."""
    with pipeline_of(server).db.write() as s:
        row = PhotoSession(name=name, import_folder=str(folder))
        s.add(row)
        s.flush()
        return row.id


def test_a_folder_scan_lists_nothing_outside_the_roots(server, layout):
    root, outside = layout
    for i in range(3):
        write_image(outside / f"SECRET_{i}.jpg", seed=910 + i)
    old = _plant_session(server, "Old", outside)
    res = server.post(f"/api/sessions/{old}/import")
    missing = server.post("/api/sessions/424242/import")
    error(res, 404, "not_found")
    assert "SECRET" not in res.text and str(outside) not in res.text
    error(missing, 404)
    # Inside a root, a symlink in the folder that leads out is not listed either.
    shoot = root / "shoot"
    shoot.mkdir()
    write_image(shoot / "IMG_0.jpg", seed=914)
    (shoot / "IMG_1.jpg").symlink_to(outside / "SECRET_0.jpg")
    (shoot / "IMG_2.jpg").symlink_to(shoot / "IMG_0.jpg")  # a link inside the root is fine
    sid = create_session(server, "Shoot", shoot)
    body = ok(server.post(f"/api/sessions/{sid}/import"), 202)
    assert body["files"] == ["IMG_0.jpg", "IMG_2.jpg"] and "SECRET" not in str(body)
    assert ok(server.get("/api/photos", params={"session_id": old}))["total"] == 0


def test_the_hot_folder_never_watches_a_folder_outside_the_roots(make_server, layout):
    root, outside = layout
    server = make_server(import_roots=[str(root)], hot_folder=True)
    p = pipeline_of(server)
    _plant_session(server, "Old", outside)
    inside = root / "hot"
    inside.mkdir()
    # Creating a session re-reads every active session: once it is watched, the planted
    # one has been considered too.
    create_session(server, "Hot", inside)
    server.wait_for(lambda: str(inside.resolve()) in p.hotfolder.watched(), what="the watch")
    assert str(outside.resolve()) not in p.hotfolder.watched()
    assert sorted(p.hotfolder.watched()) == sorted([str(inside.resolve()),
                                                    str((p.data_dir / "inbox").resolve())])


def test_the_validator_without_the_file_system(tmp_path):
    roots = ImportRoots([str(tmp_path / "photos"), "/dev", "/proc/self"])
    assert roots.roots == [str(tmp_path / "photos")]  # system folders are never roots
    assert roots.contains(str(tmp_path / "photos"))
    assert roots.contains(str(tmp_path / "photos" / "a" / "b.jpg"))
    assert not roots.contains(str(tmp_path / "photos_evil" / "b.jpg"))  # not a prefix test
    assert not roots.contains(str(tmp_path))
    assert not roots.contains("/dev/zero")
    for raw in ("\\\\evil.example\\share\\x.jpg", "//evil.example/share/x.jpg", "\\\\?\\C:\\x.jpg",
                "\\\\.\\PhysicalDrive0", "C:x.jpg", "R\\sub\\NUL", "R\\COM1.jpg", "R\\nul .txt",
                "R\\a.jpg:stream", "C:\\photos\\CON\\a.jpg"):
        assert windows_unsafe(raw), raw
    for raw in ("C:\\photos\\a.jpg", "photos\\console.jpg", "/home/me/Pictures/x.jpg"):
        assert not windows_unsafe(raw), raw
