"""Rate-limit state events before they get a ``seq``: progress can never flood anyone.

A state event (``job_progress`` per job, ``session_updated`` per session,
``queue_status``...; see ``state_key`` in the catalogue) is superseded by the
next one for the same key. Per key at most one event per ``interval`` goes
out; the rest wait, each replacing the one before. The first event of every
phase (``stage``, ``status``) goes out at once, and the one waiting is sent
before it, so the last of every phase arrives too; whatever waits goes out
when its slot comes, so the final state always arrives. A terminal event
(``job_completed``...) first releases what waits for the state it ends and is
itself never held back.

Pure logic: the dispatcher feeds it events and asks what is due.
"""

from __future__ import annotations

from typing import Any, Hashable, Optional

IDLE_FORGET = 30.0  # seconds after which a quiet key's history is dropped


class Coalescer:
    def __init__(self, interval: float = 0.1):
        self.interval = interval
        self._pending: dict[Hashable, Any] = {}
        self._last_sent: dict[Hashable, float] = {}
        self._phase: dict[Hashable, Any] = {}

    def offer(self, event: Any, key: Optional[Hashable], phase: Any,
              ends: Optional[Hashable], now: float) -> list:
        """Take ``event``; return the events to publish now, in order."""
        out = []
        if key is None:
            if ends is not None:
                if ends in self._pending:
                    out.append(self._pending.pop(ends))
                self._last_sent.pop(ends, None)
                self._phase.pop(ends, None)
            out.append(event)
            return out
        if key not in self._last_sent or phase != self._phase.get(key):
            if key in self._pending:
                out.append(self._pending.pop(key))
            out.append(event)
            self._last_sent[key] = now
            self._phase[key] = phase
            return out
        if key not in self._pending and now - self._last_sent[key] >= self.interval:
            self._last_sent[key] = now
            return [event]
        self._pending[key] = event
        return out

    def due(self, now: float) -> list:
        """Events whose slot has come."""
        if len(self._last_sent) > 1024:
            self._forget_idle(now)
        out: list = []
        if not self._pending:  # the steady state: asked after every batch, nothing waits
            return out
        for key in [k for k in self._pending if now - self._last_sent[k] >= self.interval]:
            out.append(self._pending.pop(key))
            self._last_sent[key] = now
        return out

    def flush(self) -> list:
        """Everything still waiting (at shutdown)."""
        out = list(self._pending.values())
        self._pending.clear()
        return out

    def next_due(self, now: float) -> Optional[float]:
        """Seconds until the next waiting event is due, or None if nothing waits."""
        if not self._pending:
            return None
        soonest = min(self._last_sent[k] for k in self._pending) + self.interval
        return max(0.0, soonest - now)

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, t in self._last_sent.items()
                    if k not in self._pending and now - t > IDLE_FORGET]:
            del self._last_sent[key]
            self._phase.pop(key, None)
