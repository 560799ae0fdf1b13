"""The /ws client protocol: parse and validate what a client sends, build what we reply.

Pure functions, no I/O: every field from a client is hostile, and bad input
becomes a ``ProtocolError`` with a stable ``code`` that the connection reports
as an ``error`` message without closing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Collection, Mapping, Optional

PROTOCOL_VERSION = "1.0"
CLIENT_TYPES = ("gui", "mobile", "lightroom", "unknown")
MAX_CLIENT_NAME = 100
REQUEST_TYPES = ("register", "subscribe", "unsubscribe", "ping")


_MILLIS = tuple(f".{n:03d}Z" for n in range(1000))
_second: tuple[int, str] = (-1, "")  # the last whole second stamped, formatted


def utc_timestamp(when: Optional[datetime] = None) -> str:
    """UTC ISO 8601 with milliseconds and ``Z``: ``2025-11-09T12:34:56.789Z``."""
    if when is not None:
        return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return stamp(time.time())


def stamp(seconds: float) -> str:
    """``utc_timestamp`` of a Unix time, as cheaply as it can be had.

    Every event is stamped in the publisher's thread, so each second is
    formatted once and the milliseconds come from a table: a third of the CPU
    of ``datetime.isoformat`` on the cold caches a publisher wakes up to.
    """
    global _second
    whole = int(seconds)
    second, text = _second
    if second != whole:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _second = (whole, text)
    return text + _MILLIS[int((seconds - whole) * 1000)]


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, request_type: Optional[str] = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_type = request_type


@dataclass(frozen=True)
class Request:
    type: str
    client_type: Optional[str] = None
    client_name: Optional[str] = None
    channels: tuple[str, ...] = ()
    since: Optional[dict] = None  # {"epoch": str, "seq": int}: resume after this event
    snapshot: bool = False  # send the current state before live events


def parse(raw: Any, channels: Collection[str], max_channels: int = 32) -> Request:
    """Turn one received message into a validated ``Request``.

    ``channels`` are the known ones; a subscribe or unsubscribe may name at most
    ``max_channels`` entries.
    """
    if isinstance(raw, (bytes, bytearray)):
        raise ProtocolError("binary_not_supported", "send JSON text messages, not binary")
    try:
        msg = json.loads(raw)
    except (ValueError, RecursionError):
        raise ProtocolError("invalid_json", "message is not valid JSON") from None
    return parse_message(msg, channels, max_channels)


def parse_message(msg: Any, channels: Collection[str], max_channels: int = 32) -> Request:
    """``parse`` for a message already decoded from JSON (an HTTP body's ``message``)."""
    if not isinstance(msg, dict):
        raise ProtocolError("invalid_message", "message must be a JSON object")
    kind = msg.get("type")
    if kind is None:
        raise ProtocolError("missing_type", "message has no 'type'")
    if not isinstance(kind, str) or kind not in REQUEST_TYPES:
        shown = kind if isinstance(kind, str) and _is_utf8(kind) else None
        raise ProtocolError("unknown_type",
                            f"unknown message type; expected one of {', '.join(REQUEST_TYPES)}",
                            shown[:64] if shown else None)
    if kind == "register":
        return _register(msg)
    if kind == "subscribe":
        return Request(kind, channels=_channels(msg, kind, channels, max_channels), since=_since(msg),
                       snapshot=_flag(msg, "snapshot", kind))
    if kind == "unsubscribe":
        return Request(kind, channels=_channels(msg, kind, channels, max_channels))
    return Request(kind)


def _is_utf8(text: str) -> bool:
    """False for text JSON allows but UTF-8 cannot carry (a lone surrogate such as \\ud800)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _register(msg: dict) -> Request:
    client_type = msg.get("client_type", "unknown")
    if client_type is None:
        client_type = "unknown"
    if not isinstance(client_type, str) or client_type not in CLIENT_TYPES:
        raise ProtocolError("unknown_client_type",
                            f"client_type must be one of {', '.join(CLIENT_TYPES)}", "register")
    name = msg.get("client_name")
    if name is not None:
        if not isinstance(name, str) or not _is_utf8(name):
            raise ProtocolError("invalid_field", "client_name must be a string", "register")
        if len(name) > MAX_CLIENT_NAME:
            raise ProtocolError("invalid_field",
                                f"client_name is longer than {MAX_CLIENT_NAME} characters",
                                "register")
    return Request("register", client_type=client_type, client_name=name)


def _channels(msg: dict, kind: str, known: Collection[str], most: int) -> tuple[str, ...]:
    channels = msg.get("channels")
    # An empty Lua table arrives as [] or {}, and a missing list means "none".
    if channels is None or _empty_table(channels):
        return ()
    if not isinstance(channels, list):
        raise ProtocolError("invalid_channels", "channels must be a list of channel names", kind)
    if len(channels) > most:
        raise ProtocolError("too_many_channels", f"at most {most} channels at a time", kind)
    for name in channels:
        if not isinstance(name, str) or name not in known:
            shown = name[:32] if isinstance(name, str) else type(name).__name__
            raise ProtocolError("unknown_channel",
                                f"unknown channel {shown!r}; known: {', '.join(known)}", kind)
    return tuple(dict.fromkeys(channels))


def _since(msg: dict) -> Optional[dict]:
    since = msg.get("since")
    if since is None or _empty_table(since):
        return None
    if not isinstance(since, dict):
        raise ProtocolError("invalid_field", "since must be {epoch, seq}", "subscribe")
    epoch, seq = since.get("epoch"), _whole(since.get("seq"))
    if not isinstance(epoch, str) or len(epoch) > 64 or not _is_utf8(epoch):
        raise ProtocolError("invalid_field", "since.epoch must be a string", "subscribe")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise ProtocolError("invalid_field", "since.seq must be an integer >= 0", "subscribe")
    return {"epoch": epoch, "seq": seq}


def _empty_table(value: Any) -> bool:
    """An empty Lua table, which Lua JSON encoders write as ``[]`` or ``{}``."""
    return isinstance(value, (list, dict)) and not value


def _whole(value: Any) -> Any:
    """A Lua number that holds an integer (``7.0``) as that integer; anything else as is."""
    if isinstance(value, float) and value.is_integer() and 0 <= value < 2 ** 53:
        return int(value)
    return value


def parse_position(text: str) -> dict:
    """``<epoch>:<seq>`` (an SSE event id, a ``since`` query parameter) -> ``{epoch, seq}``."""
    epoch, sep, seq = (text or "").strip().rpartition(":")
    if not sep or not epoch or not seq.isascii() or not seq.isdigit():
        raise ProtocolError("invalid_field", "a position is <epoch>:<seq>, as in an event's id",
                            "subscribe")
    return _since({"since": {"epoch": epoch, "seq": int(seq)}})


def format_position(epoch: str, seq: int) -> str:
    return f"{epoch}:{seq}"


def split_channels(text: Optional[str]) -> list[str]:
    """``jobs,photos`` (a query parameter) -> ``["jobs", "photos"]``."""
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def connect_requests(args: Mapping[str, str], channels: Collection[str],
                     max_channels: int = 32, since: Optional[str] = None
                     ) -> tuple[Optional[Request], Optional[Request]]:
    """The ``register`` and ``subscribe`` a connect URL asks for, parsed as messages are.

    ``?client_type=&client_name=`` register (None when neither is given);
    ``?channels=jobs,photos[&since=<epoch>:<seq>][&snapshot=1]`` subscribe (None
    without channels). ``since`` given by the caller (an SSE ``Last-Event-ID``)
    wins over the query's. Raises ``ProtocolError`` like ``parse``.
    """
    register = None
    if args.get("client_type") is not None or args.get("client_name") is not None:
        register = _register({"type": "register", "client_type": args.get("client_type") or None,
                              "client_name": args.get("client_name")})
    subscribe = None
    names = split_channels(args.get("channels"))
    if names:
        position = since or args.get("since")
        message = {"type": "subscribe", "channels": names,
                   "snapshot": (args.get("snapshot") or "").lower() in ("1", "true", "yes")}
        if position:
            message["since"] = parse_position(position)
        subscribe = parse_message(message, channels, max_channels)
    return register, subscribe


def _flag(msg: dict, name: str, kind: str) -> bool:
    value = msg.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ProtocolError("invalid_field", f"{name} must be true or false", kind)
    return value


def error_message(err: ProtocolError) -> dict:
    return reply("error", code=err.code, error=err.message, request_type=err.request_type)


def reply(type_: str, **fields: Any) -> dict:
    """A server reply: ``type`` and ``timestamp`` first, then ``fields``."""
    return {"type": type_, "timestamp": utc_timestamp(), **fields}
