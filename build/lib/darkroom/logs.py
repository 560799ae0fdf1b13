"""Structured logs: one line per record, ``key=value`` pairs after the message.

Anything passed in ``extra=`` becomes a field, so logs stay greppable:
``2026-11-26T05:00:00.123Z INFO darkroom.hub client connected client_id=... remote=127.0.0.1``
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, timezone.utc)
        stamp = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        fields = " ".join(f"{key}={_quote(value)}" for key, value in vars(record).items()
                          if key not in _STANDARD and not key.startswith("_"))
        line = f"{stamp} {record.levelname} {record.name} {record.getMessage()}"
        if fields:
            line += " " + fields
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _quote(value) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def configure(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
