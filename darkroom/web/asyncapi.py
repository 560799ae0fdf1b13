"""The AsyncAPI 3.0 document of the event stream, served at ``GET /websocket/asyncapi.json``.

Generated from the event catalogue (``websocket_events.CATALOGUE`` and its JSON
Schemas): one message per catalogue event, the protocol's client requests and
server replies, and one channel per wire that carries them: ``/ws``
(WebSocket), ``/events`` (Server-Sent Events) and long polling (``/ws/poll``
and ``/ws/send``). Darkroom is the application described: it *sends* events
and replies, and *receives* client requests.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Flask, current_app, jsonify

import websocket_events
from darkroom.realtime.protocol import CLIENT_TYPES, MAX_CLIENT_NAME, PROTOCOL_VERSION

PATH = "/websocket/asyncapi.json"

_STR, _INT, _BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
_CHANNELS = {"type": "array", "items": {"enum": list(websocket_events.CHANNELS)}}
_SINCE = {"type": "object", "properties": {"epoch": _STR, "seq": {"type": "integer", "minimum": 0}},
          "required": ["epoch", "seq"]}


def _msg(type_name: str, props: dict, required: tuple = (), description: str = "") -> dict:
    return {"type": "object",
            "properties": {"type": {"const": type_name}, **props},
            "required": ["type", *required], "description": description}


CLIENT_MESSAGES = {
    "register": _msg("register", {"client_type": {"enum": list(CLIENT_TYPES)},
                                  "client_name": {"type": "string", "maxLength": MAX_CLIENT_NAME}},
                     description="Say what kind of client this is"),
    "subscribe": _msg("subscribe", {"channels": _CHANNELS, "since": _SINCE, "snapshot": _BOOL}, ("channels",),
                      "Follow channels; since resumes after an event, snapshot sends current state first"),
    "unsubscribe": _msg("unsubscribe", {"channels": _CHANNELS}, ("channels",), "Stop following channels"),
    "ping": _msg("ping", {}, description="Is the server there? (answered with pong)"),
}
_T = {"timestamp": {"type": "string", "format": "date-time"}}
SERVER_REPLIES = {
    "connection_established": _msg("connection_established", {
        **_T, "client_id": _STR, "server_time": _STR, "protocol_version": {"const": PROTOCOL_VERSION},
        "heartbeat_interval": {"type": "number"}, "epoch": _STR, "seq": _INT},
        ("timestamp", "client_id"), "The first message of every connection"),
    "registration_confirmed": _msg("registration_confirmed", {**_T, "client_id": _STR, "client_type": _STR,
                                                              "client_name": {"type": ["string", "null"]}},
                                   ("timestamp",), "register took effect"),
    "subscription_confirmed": _msg("subscription_confirmed", {**_T, "channels": _CHANNELS, "recovered": _BOOL,
                                                              "epoch": _STR, "seq": _INT},
                                   ("timestamp", "channels"), "The channels held after subscribe"),
    "unsubscription_confirmed": _msg("unsubscription_confirmed", {**_T, "channels": _CHANNELS},
                                     ("timestamp", "channels"), "The channels held after unsubscribe"),
    "pong": _msg("pong", _T, ("timestamp",), "The answer to ping"),
    "error": _msg("error", {**_T, "code": _STR, "error": _STR, "request_type": {"type": ["string", "null"]}},
                  ("timestamp", "code", "error"), "A request the server could not take (the link stays open)"),
}

TRANSPORTS = {
    "websocket": {"address": "/ws", "protocol": "ws",
                  "description": "WebSocket: JSON text frames both ways (close codes in the README)"},
    "sse": {"address": "/events", "protocol": "http",
            "description": "Server-Sent Events: each message one `data:` line, `id` the event's seq "
                           "(Last-Event-ID resumes); ?channels= subscribes"},
    "longpoll": {"address": "/ws/poll", "protocol": "http",
                 "description": "Long polling: POST /ws/handshake opens a session, GET /ws/poll waits for "
                                "messages, POST /ws/send carries client requests, POST /ws/disconnect ends it"},
}


def _event_payload(schema: dict) -> dict:
    out = copy.deepcopy(schema)
    out.pop("$schema", None)
    return out


def document(host: str = "127.0.0.1:5100") -> dict:
    from darkroom import __version__

    messages: dict[str, Any] = {}
    for event in websocket_events.CATALOGUE:
        messages[event.name] = {
            "name": event.name, "title": event.name, "summary": event.description,
            "contentType": "application/json", "tags": [{"name": event.channel}],
            "payload": _event_payload(event.schema()),
        }
    for name, schema in {**SERVER_REPLIES, **CLIENT_MESSAGES}.items():
        messages[name] = {"name": name, "title": name, "summary": schema["description"],
                          "contentType": "application/json", "tags": [{"name": "protocol"}], "payload": schema}
    events = [e.name for e in websocket_events.CATALOGUE]
    server_sent = events + list(SERVER_REPLIES)
    servers = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for key, wire in TRANSPORTS.items():
        servers[key] = {"host": host, "protocol": wire["protocol"], "pathname": wire["address"],
                        "description": wire["description"]}
        sent = events if key == "sse" else server_sent
        channels[key] = {
            "address": wire["address"], "description": wire["description"],
            "servers": [{"$ref": f"#/servers/{key}"}],
            "messages": {name: {"$ref": f"#/components/messages/{name}"}
                         for name in [*sent, *(CLIENT_MESSAGES if key != "sse" else ())]},
        }
        operations[f"{key}_send"] = {
            "action": "send", "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"Darkroom sends events{' and replies' if key != 'sse' else ''} over {wire['address']}",
            "messages": [{"$ref": f"#/channels/{key}/messages/{name}"} for name in sent],
        }
        if key != "sse":
            operations[f"{key}_receive"] = {
                "action": "receive", "channel": {"$ref": f"#/channels/{key}"},
                "summary": "Darkroom receives client requests",
                "messages": [{"$ref": f"#/channels/{key}/messages/{name}"} for name in CLIENT_MESSAGES],
            }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Darkroom event stream", "version": __version__,
                 "description": "Every event carries type, timestamp, channel and seq (one server-wide "
                                "sequence). Channels: " + ", ".join(websocket_events.CHANNELS) + ".",
                 "license": {"name": "GPL-3.0-or-later"},
                 "tags": [{"name": ch} for ch in (*websocket_events.CHANNELS, "protocol")]},
        "defaultContentType": "application/json",
        "servers": servers,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def init_app(app: Flask) -> None:
    @app.get(PATH)
    def asyncapi_document():
        from flask import request

        return jsonify(document(request.host or current_app.extensions["darkroom"].config.url))
