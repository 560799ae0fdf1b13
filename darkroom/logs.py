"""Structured logs: one line per record, in one of two formats, for Darkroom and gunicorn alike.

- ``text`` (default): ``key=value`` pairs after the message, so logs stay greppable:
  ``2026-11-26T05:00:00.123Z INFO darkroom.hub client connected client_id=... remote=127.0.0.1``
- ``json`` (``--log-format json``): one JSON object a line (``ts``, ``level``,
  ``logger``, ``msg``, then every ``extra=`` field, ``exc`` for a traceback), for
  journald and Loki.

Anything passed in ``extra=`` becomes a field. A line logged while an HTTP request
is handled carries its ``request_id`` (``darkroom/web/requestlog.py``). gunicorn's
own lines go through the same formatter (``gunicorn_logconfig``, handed to
gunicorn as ``logconfig_dict``).

Credentials never reach a log: every record made in the process (ours,
Werkzeug's request lines, gunicorn's) has ``token=`` and ``code=`` query
values, ``Bearer`` credentials and the install's token itself replaced by
``[redacted]`` when it is made (``install_redaction``), before any handler,
whoever configured it, sees it.
"""

from __future__ import annotations

import json
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


def _request_id():
    """The current HTTP request's id, when a request is being handled (Flask loaded)."""
    flask = sys.modules.get("flask")
    if flask is None:
        return None
    try:
        if flask.has_request_context():
            return flask.g.get("request_id")
    except Exception:
        return None
    return None


def _stamp(record: logging.LogRecord) -> str:
    when = datetime.fromtimestamp(record.created, timezone.utc)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _extras(record: logging.LogRecord) -> dict:
    out = {key: value for key, value in vars(record).items()
           if key not in _STANDARD and not key.startswith("_")}
    if "request_id" not in out:
        rid = _request_id()
        if rid:
            out["request_id"] = rid
    return out


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{key}={_quote(value)}" for key, value in _extras(record).items())
        line = f"{_stamp(record)} {record.levelname} {record.name} {record.getMessage()}"
        if fields:
            line += " " + fields
        if record.exc_info:
            line += "\n" + (record.exc_text or self.formatException(record.exc_info))
        return redact(line)  # extra= fields are set after the record is made


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (a traceback is the ``exc`` field)."""

    def format(self, record: logging.LogRecord) -> str:
        body = {"ts": _stamp(record), "level": record.levelname, "logger": record.name,
                "msg": record.getMessage()}
        for key, value in _extras(record).items():
            body.setdefault(key, value if isinstance(value, (int, float, bool, type(None))) else str(value))
        if record.exc_info:
            body["exc"] = record.exc_text or self.formatException(record.exc_info)
        return redact(json.dumps(body, ensure_ascii=False, default=str))


FORMATS = ("text", "json")


def make_formatter(format: str = "text") -> logging.Formatter:
    """The formatter of ``format`` ("text" or "json"); also the factory gunicorn's dictConfig calls."""
    return JsonFormatter() if format == "json" else KeyValueFormatter()


def _quote(value) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def gunicorn_logconfig(level: str = "info", format: str = "text") -> dict:
    """A ``logconfig_dict`` that routes gunicorn's lines through our formatter, to stderr.

    gunicorn's own access log is off (our ``--access-log`` logs each request,
    with its route and request id, under either server).
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"darkroom": {"()": "darkroom.logs.make_formatter", "format": format}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "darkroom",
                                 "stream": "ext://sys.stderr"}},
        "root": {"level": level.upper(), "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
            "werkzeug": {"level": "WARNING", "handlers": [], "propagate": True},
        },
    }


def configure(level: str = "info", format: str = "text") -> None:
    """Every record of the process to stderr in ``format``; Werkzeug's request lines off
    (``--access-log`` logs requests the same way under either server)."""
    install_redaction()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(make_formatter(format))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
