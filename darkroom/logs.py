"""Structured logs: one line per record, ``key=value`` pairs after the message.

Anything passed in ``extra=`` becomes a field, so logs stay greppable:
``2026-11-26T05:00:00.123Z INFO darkroom.hub client connected client_id=... remote=127.0.0.1``

Credentials never reach a log: every record made in the process (ours,
Werkzeug's request lines, gunicorn's) has ``token=`` and ``code=`` query
values, ``Bearer`` credentials and the install's token itself replaced by
``[redacted]`` when it is made (``install_redaction``), before any handler,
whoever configured it, sees it.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from datetime import datetime, timezone

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

REDACTED = "[redacted]"
# A query string's token (any path) and pairing code, however the request line quotes it.
_QUERY_SECRET = re.compile(r"([?&;](?:token|code)=)[^&\s\"'#;]*", re.IGNORECASE)
_BEARER = re.compile(r"(\bBearer\s+)[^\s\"',;]+", re.IGNORECASE)
_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def add_secret(value: str) -> None:
    """Redact ``value`` (an install's token) wherever it appears in a log record."""
    if value and len(value) >= 8:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """``text`` without query-string tokens and pairing codes, Bearer credentials or known secrets."""
    if not text:
        return text
    for secret in tuple(_secrets):
        if secret in text:
            text = text.replace(secret, REDACTED)
    if "=" in text:
        text = _QUERY_SECRET.sub(r"\1" + REDACTED, text)
    if "earer" in text:
        text = _BEARER.sub(r"\1" + REDACTED, text)
    return text


def install_redaction() -> None:
    """Redact every log record of this process as it is made (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
        previous = logging.getLogRecordFactory()

    plain = logging.Formatter()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            text = plain.formatException(record.exc_info)
            clean = redact(text)
            if clean != text:
                record.exc_text = clean  # formatters use it instead of formatting again
        return record

    logging.setLogRecordFactory(factory)


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
            line += "\n" + (record.exc_text or self.formatException(record.exc_info))
        return redact(line)  # extra= fields are set after the record is made


def _quote(value) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def configure(level: str = "info") -> None:
    install_redaction()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
