"""When the hot folder offers a file: once it has stopped growing, once per path, size and
mtime (README, "Hot folder"). A hand-driven clock; real files."""

from __future__ import annotations

import os

from imagegen import rewrite_keeping_size_and_mtime, write_image

from darkroom.pipeline.intake.arrivals import Arrivals

SETTLE = 1.0
SESSION = 7


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _route(path: str) -> int:
    return SESSION


def _offered_after_settling(arrivals: Arrivals, clock: Clock, path) -> list:
    """Report ``path`` as seen, then let it stand still for the settle time."""
    arrivals.seen(str(path))
    first = arrivals.settled(_route)  # records its size and mtime
    clock.now += SETTLE
    return first + arrivals.settled(_route)


def test_a_file_is_offered_once_it_has_stopped_growing(tmp_path):
    clock = Clock()
    arrivals = Arrivals(SETTLE, clock)
    path = tmp_path / "drop.jpg"
    data = write_image(tmp_path / "source.jpg", 400, 300, seed=1).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    arrivals.seen(str(path))
    assert arrivals.settled(_route) == []
    clock.now += SETTLE / 2
    with open(path, "ab") as fp:  # still being copied in
        fp.write(data[len(data) // 2:])
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 1_000_000))
    clock.now += SETTLE / 2
    assert arrivals.settled(_route) == [], "offered while it was still growing"
    clock.now += SETTLE / 2
    assert arrivals.settled(_route) == [], "offered before the settle time had passed"
    clock.now += SETTLE / 2
    assert arrivals.settled(_route) == [(str(path), SESSION)]


def test_the_same_path_size_and_mtime_is_offered_once_even_with_new_content(tmp_path):
    """The content hash cannot stop this one: the bytes differ, only the rule can."""
    clock = Clock()
    arrivals = Arrivals(SETTLE, clock)
    path = write_image(tmp_path / "drop.tif", seed=1)
    assert _offered_after_settling(arrivals, clock, path) == [(str(path), SESSION)]
    before = path.read_bytes()
    rewrite_keeping_size_and_mtime(path, seed=2)
    assert path.read_bytes() != before
    assert _offered_after_settling(arrivals, clock, path) == []


def test_the_same_path_with_a_new_mtime_is_a_new_arrival(tmp_path):
    clock = Clock()
    arrivals = Arrivals(SETTLE, clock)
    path = write_image(tmp_path / "drop.tif", seed=1)
    assert _offered_after_settling(arrivals, clock, path) == [(str(path), SESSION)]
    write_image(path, seed=3)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert _offered_after_settling(arrivals, clock, path) == [(str(path), SESSION)]


def test_files_nobody_routes_or_that_vanish_are_dropped(tmp_path):
    clock = Clock()
    arrivals = Arrivals(SETTLE, clock)
    unrouted = write_image(tmp_path / "elsewhere.jpg", seed=4)
    arrivals.seen(str(unrouted))
    arrivals.settled(lambda path: None)
    clock.now += SETTLE
    assert arrivals.settled(lambda path: None) == []
    gone = write_image(tmp_path / "gone.jpg", seed=5)
    arrivals.seen(str(gone))
    gone.unlink()
    assert arrivals.settled(_route) == []
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert _offered_after_settling(arrivals, clock, empty) == []
