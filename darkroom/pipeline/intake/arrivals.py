"""When a file dropped into a watched folder is ready to import, and that it is offered once.

A file is ready once it has stopped growing: the same size and mtime for
``settle`` seconds (a photo copied in slowly is not read half written). Each
(path, size, mtime) is offered at most once: a file touched, re-saved or
rewritten in place that keeps its path, size and mtime is the same file and
is not imported again; one whose size or mtime changed is a new arrival.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Callable, Optional

# What a file is taken to be: its path, size and mtime.
Key = tuple[str, int, float]


class Arrivals:
    def __init__(self, settle: float, clock: Callable[[], float] = time.monotonic):
        self.settle = settle
        self.clock = clock
        self._lock = threading.Lock()
        # path -> (size, mtime, since): the last observed state and when it was first seen
        self._candidates: dict[str, tuple[int, float, float]] = {}
        self._offered: set[Key] = set()

    def seen(self, path: str) -> None:
        """Something happened to ``path``: look at it on the next ``settled``."""
        with self._lock:
            self._candidates.setdefault(path, (-1, -1.0, self.clock()))

    def settled(self, route: Callable[[str], Optional[int]]) -> list[tuple[str, int]]:
        """Candidates that have not changed for ``settle`` seconds and were never offered,
        with where ``route`` sends them (a session id; None drops the file)."""
        ready = []
        now = self.clock()
        with self._lock:
            for path, (size, mtime, since) in list(self._candidates.items()):
                try:
                    st = os.stat(path)
                except OSError:
                    del self._candidates[path]
                    continue
                if (st.st_size, st.st_mtime) != (size, mtime):
                    self._candidates[path] = (st.st_size, st.st_mtime, now)
                    continue
                if now - since < self.settle or st.st_size == 0:
                    continue
                del self._candidates[path]
                key = (path, st.st_size, st.st_mtime)
                target = route(path)
                if key in self._offered or target is None:
                    continue
                self._offered.add(key)
                ready.append((path, target))
        return ready
