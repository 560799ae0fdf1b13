"""A token bucket per client: ``rate`` messages a second on average, ``burst`` at once.

Pure logic with an injectable clock, so it is tested without waiting.
"""

from __future__ import annotations

import time
from typing import Callable


class TokenBucket:
    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()
        self.refused = 0  # messages refused since the last one allowed

    def take(self, n: int = 1) -> bool:
        """Spend ``n`` tokens if there are that many; False (and count it) otherwise."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= n:
            self._tokens -= n
            self.refused = 0
            return True
        self.refused += n
        return False

    @property
    def flooded(self) -> bool:
        """A whole burst refused in a row: the client is flooding, not just fast."""
        return self.refused > self.burst
