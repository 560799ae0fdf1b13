"""The WebSocket endpoint ``/ws`` and the hub's HTTP API under ``/websocket``.

A connection's life: ``before_request`` checks the upgrade and lets the
WebSocket transport adopt the socket (``darkroom/realtime/transports/websocket.py``:
no deflate, every write through the client's outbox); flask-sock completes the
handshake; ``ws_endpoint`` greets the client and answers its requests until the
connection ends, then the hub forgets it and the transport releases it.
"""

from __future__ import annotations

import json
import logging
import re

import orjson
from flask import Blueprint, Flask, current_app, jsonify, request
from flask_sock import Sock

import websocket_events
from darkroom.realtime import protocol, replies
from darkroom.realtime.hub import CLOSE_TOO_BIG, Client, Hub, Receipt
from darkroom.realtime.protocol import ProtocolError
from darkroom.realtime.ratelimit import TokenBucket
from darkroom.realtime.transport import TransportClosed
from darkroom.realtime.transports import websocket
from darkroom.web import streams
from darkroom.web.errors import ApiError, json_body

log = logging.getLogger("darkroom.ws")

WS_PATH = "/ws"
_CUSTOM_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_SERVER_TYPES = frozenset({"connection_established", "registration_confirmed",
                           "subscription_confirmed", "unsubscription_confirmed", "pong", "error"})

api = Blueprint("websocket_api", __name__, url_prefix="/websocket")
history = Blueprint("event_history", __name__, url_prefix="/api")
MAX_PAGE = 1000
MAX_SEQ = 2**63 - 1  # the event log's seq is a 64-bit integer
STORE_TIMEOUT = 10.0  # seconds a broadcast waits for the log commit before 503


def _hub() -> Hub:
    return current_app.extensions["darkroom"].hub


def init_app(app: Flask, hub: Hub) -> None:
    config = hub.config
    app.config["SOCK_SERVER_OPTIONS"] = {
        "ping_interval": config.ping_interval or None,
        "max_message_size": config.max_message_size,
    }
    sock = Sock(app)
    app.before_request(_prepare_upgrade)
    sock.route(WS_PATH)(ws_endpoint)
    app.register_blueprint(api)
    app.register_blueprint(history)
    streams.init_app(app, hub)  # SSE (/events) and long polling (/ws/*) on the same hub


# --- /ws -------------------------------------------------------------------------


def _prepare_upgrade():
    """Refuse or prepare a WebSocket upgrade before flask-sock answers it."""
    if request.path != WS_PATH:
        return None
    environ = request.environ
    if environ.get("HTTP_UPGRADE", "").lower() != "websocket":
        raise ApiError(400, "upgrade_required", "this endpoint speaks WebSocket only")
    if not environ.get("HTTP_SEC_WEBSOCKET_KEY"):
        raise ApiError(400, "bad_handshake", "missing Sec-WebSocket-Key")
    if environ.get("HTTP_SEC_WEBSOCKET_VERSION") != "13":
        err = ApiError(426, "unsupported_version", "WebSocket version 13 required")
        response, status = err.response()
        response.headers["Sec-WebSocket-Version"] = "13"
        return response, status
    hub = _hub()
    if not hub.running:
        raise ApiError(503, "shutting_down", "the server is shutting down or restarting")
    if hub.client_count() >= hub.config.max_clients:
        hub.refused["too_many_clients"] += 1
        raise ApiError(503, "too_many_clients", "the server is at its client limit")
    inbound = TokenBucket(hub.config.inbound_rate, hub.config.inbound_burst)
    if not websocket.adopt_socket(environ, hub.new_outbox, inbound):
        raise ApiError(500, "unsupported_server", "this server does not expose its sockets")
    return None


def ws_endpoint(ws) -> None:
    """Serve one WebSocket client for the whole life of its connection.

    ``/ws?channels=photos,sessions`` (with ``since``, ``snapshot``, ``client_type``,
    ``client_name``) registers and subscribes on connect, as the messages would.
    """
    hub = _hub()
    config = hub.config
    transport = websocket.WebSocketTransport(ws, request.environ, config.max_message_size)
    client = hub.connect(transport, request.remote_addr or "")
    transport.on_flood = replies.on_flood(hub, client)
    try:
        try:
            register, subscribe = protocol.connect_requests(
                request.args, websocket_events.CHANNELS, config.max_subscribe_channels)
        except ProtocolError as err:
            register, subscribe, refused = None, None, err
        else:
            refused = None
        if register is not None:
            replies.apply(hub, client, register, quiet=True)
        replies.greet(hub, client, subscribing=subscribe is not None)
        if refused is not None:
            client.send(protocol.error_message(refused))
        if subscribe is not None:
            replies.apply(hub, client, subscribe)
        wait = max(hub.config.ping_interval or 0, 1.0) * 2
        while transport.open and not client.closing:
            raw = transport.receive(wait)
            if raw is not None:
                _handle(hub, client, raw)
    except TransportClosed:
        pass
    except Exception:
        log.exception("websocket handler failed", extra={"client_id": client.id})
    finally:
        hub.disconnect(client)


def _handle(hub: Hub, client: Client, raw) -> None:
    if client.transport.too_big(raw):
        hub.refused["message_too_big"] += 1
        hub.kick(client, "too_big", CLOSE_TOO_BIG)
        return
    replies.answer(hub, client, raw, websocket_events.CHANNELS)


# --- HTTP API ----------------------------------------------------------------------


@api.get("/clients")
def list_clients():
    """This process's clients; with Redis, every process's (each entry names its ``process``)."""
    hub = _hub()
    if hub.presence is not None:
        clients = hub.presence.clients()
    else:
        clients = [c.info() for c in hub.clients()]
    return jsonify({"success": True, "clients": clients, "count": len(clients)})


@api.get("/stats")
def stats():
    hub = _hub()
    out = hub.stats()
    if hub.presence is not None:
        out.update(hub.presence.totals())
    return jsonify({"success": True, "stats": out})


@api.get("/catalog")
def catalog():
    return jsonify({"success": True, **websocket_events.catalog_schema()})


@api.post("/broadcast")
def broadcast():
    # An event goes to every subscriber's outbox: it may be no bigger than a message.
    request.max_content_length = _hub().config.max_message_size
    body = json_body()
    name, channel, data = body.get("type"), body.get("channel"), body.get("data")
    if data is None or data == []:  # missing, or an empty Lua table written as []
        data = {}
    if not name:
        raise ApiError(400, "missing_field", "'type' is required")
    if not isinstance(name, str) or not _CUSTOM_TYPE.match(name):
        raise ApiError(400, "invalid_type", "'type' must match [a-z][a-z0-9_]{0,63}")
    if name in _SERVER_TYPES:
        raise ApiError(400, "reserved_type", f"'{name}' is a protocol message, not an event")
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_field", "'data' must be a JSON object")
    try:
        orjson.dumps(data)
    except orjson.JSONEncodeError as exc:
        raise ApiError(400, "invalid_field", f"'data' cannot be sent as JSON: {exc}") from None
    reserved = sorted(websocket_events.RESERVED_KEYS & set(data))
    if reserved:
        raise ApiError(400, "reserved_field",
                       f"'data' may not set {', '.join(reserved)}: the server owns them")
    event = websocket_events.EVENTS.get(name)
    if event is not None:
        channel = channel or event.channel
        if channel != event.channel:
            raise ApiError(400, "wrong_channel", f"'{name}' belongs to channel '{event.channel}'")
        try:
            _, payload = websocket_events.build_event(name, data)
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "invalid_event", str(exc)) from None
    else:
        if not channel:
            raise ApiError(400, "missing_field", "'channel' is required for a custom event")
        payload = data
    if channel not in websocket_events.CHANNELS:
        raise ApiError(400, "unknown_channel",
                       f"unknown channel; known: {', '.join(websocket_events.CHANNELS)}")
    hub = _hub()
    if not hub.running:
        raise ApiError(503, "shutting_down", "the server is shutting down or restarting")
    if not hub.bus_health()["connected"]:
        raise ApiError(503, "not_stored", "the event stream (Redis) is unreachable; "
                       "nothing was published, try again")
    receipt = Receipt()
    hub.publish(name, channel, payload, source="external", receipt=receipt)
    if not hub.wait_stored(receipt, STORE_TIMEOUT):
        raise ApiError(503, "not_stored", "the event log did not confirm the event in time; "
                       "it may still be stored (see /api/events before sending it again)")
    if not receipt.stored:
        raise ApiError(503, "not_stored", "the event could not be stored in the event log",
                       seq=receipt.seq)
    return jsonify({"success": True, "type": name, "channel": channel, "seq": receipt.seq,
                    "subscribers": sum(1 for c in hub.clients() if channel in c.channels)})


@api.post("/disconnect/<client_id>")
def disconnect(client_id: str):
    hub = _hub()
    client = hub.get(client_id)
    if client is not None:
        hub.close(client, 1000, "Disconnected by the server")
        return jsonify({"success": True, "client_id": client_id})
    process = hub.presence.disconnect_elsewhere(client_id) if hub.presence is not None else None
    if process is None:
        raise ApiError(404, "unknown_client", "no connected client has that id")
    return jsonify({"success": True, "client_id": client_id, "process": process})


@history.get("/events")
def events_since():
    """History from the durable log, paged: ``?since=<seq>&channels=jobs,photos&limit=``."""
    args = request.args
    try:
        since = int(args.get("since", 0))
        limit = min(int(args.get("limit", 100)), MAX_PAGE)
    except ValueError:
        raise ApiError(400, "invalid_field", "since and limit must be integers") from None
    if not 0 <= since <= MAX_SEQ or limit < 1:
        raise ApiError(400, "invalid_field", f"since must be 0..{MAX_SEQ} and limit >= 1")
    channels = None
    if args.get("channels"):
        channels = [c.strip() for c in args["channels"].split(",") if c.strip()]
        unknown = sorted(set(channels) - set(websocket_events.CHANNELS))
        if unknown:
            raise ApiError(400, "unknown_channel", f"unknown channel(s): {', '.join(unknown)}")
    hub = _hub()
    latest = hub.seq
    try:
        rows = hub.log.read(since, None, channels, limit + 1)
        complete = hub.log_holds_all_after(since)
    except Exception:
        if hub.stream is None:
            raise
        log.warning("event stream unreadable", exc_info=True)
        raise ApiError(503, "log_unavailable",
                       "the event stream (Redis) is unreachable; try again") from None
    return jsonify({
        "success": True,
        "epoch": hub.epoch,
        "latest_seq": latest,
        "complete": complete,
        "events": [json.loads(r.data) for r in rows[:limit]],
        "next_since": rows[min(limit, len(rows)) - 1].seq if rows else since,
        "has_more": len(rows) > limit,
    })
