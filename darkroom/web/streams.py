"""The HTTP transports' routes: Server-Sent Events (``/events``) and long polling (``/ws/*``).

The views parse, call the hub or the adapter (``darkroom/realtime/transports/sse.py``,
``longpoll.py``) and serialise; the protocol, limits and replies are ``/ws``'s.
Writes (``POST /ws/*``) pass the same guard as every other write (JSON only,
Origin, LAN token: ``darkroom/web/security.py``); the two reads that open or
drain a client (``/events``, ``/ws/poll``) get the Origin rules of the WebSocket
upgrade here, since a foreign page must not follow our stream either.
"""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Flask, Response, current_app, jsonify, request

import websocket_events
from darkroom.realtime import protocol, replies
from darkroom.realtime.hub import Hub
from darkroom.realtime.protocol import ProtocolError
from darkroom.realtime.transports import longpoll, sse
from darkroom.web.errors import ApiError, json_value
from darkroom.web.security import Guard

log = logging.getLogger("darkroom.streams")

EXTENSION = "darkroom_streams"
bp = Blueprint("streams", __name__)


class _Streams:
    def __init__(self, hub: Hub, guard: Guard):
        self.hub = hub
        self.guard = guard
        self.pollers = longpoll.LongPollRegistry(hub, websocket_events.CHANNELS)


def init_app(app: Flask, hub: Hub) -> None:
    streams = _Streams(hub, Guard(hub.config))
    app.extensions[EXTENSION] = streams
    runtime = app.extensions.get("darkroom")
    if runtime is not None:
        runtime.add(streams.pollers)  # stops before the hub, which closes the pollers
    else:
        streams.pollers.start()
    app.register_blueprint(bp)


def _streams() -> _Streams:
    return current_app.extensions[EXTENSION]


def _check_reader() -> None:
    """The WebSocket upgrade's Origin rules, for a GET that follows the stream."""
    origin = request.headers.get("Origin")
    if origin is not None and not _streams().guard.origin_allowed(
            origin, request.headers.get("Host", "")):
        raise ApiError(403, "forbidden_origin", "requests from that Origin are not allowed")
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        raise ApiError(403, "forbidden_origin", "cross-site requests are not allowed")


def _room_for_a_client(hub: Hub) -> None:
    if not hub.running:
        raise ApiError(503, "shutting_down", "the server is shutting down or restarting")
    if hub.client_count() >= hub.config.max_clients:
        hub.refused["too_many_clients"] += 1
        raise ApiError(503, "too_many_clients", "the server is at its client limit")


def _refused(err: ProtocolError) -> ApiError:
    return ApiError(400, err.code, err.message)


# --- Server-Sent Events ---------------------------------------------------------------


class _AlreadySent(Response):
    """The response went out on the socket: tell the server not to write one (as flask-sock)."""

    def __call__(self, environ, start_response):
        if "werkzeug.socket" not in environ and "gunicorn.socket" in environ:
            raise StopIteration()  # gunicorn: close the connection, write nothing
        # Werkzeug writes this empty response into the socket we already shut down:
        # the write fails and it drops the connection quietly.
        return super().__call__(environ, start_response)


RETRY_MS = {"shutting_down": 2000, "too_many_clients": 10000}


def _come_back_later(err: ApiError) -> Response:
    """Shutting down or full: a stream that ends at once and says when to come back.

    Not a 503: ``EventSource`` gives up for good on any answer but a 200 event
    stream, and reconnects (after ``retry``) when a stream ends.
    """
    code = 1001 if err.code == "shutting_down" else 1013
    body = (b"retry: %d\n\n" % RETRY_MS[err.code]) + sse.record(b"close", json.dumps(
        {"type": "close", "code": code, "reason": err.message, "error_code": err.code},
        separators=(",", ":")).encode())
    response = Response(body, status=200, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/events")
def events():
    """``?channels=jobs,photos[&client_type=&client_name=&since=<epoch>:<seq>&snapshot=1]``."""
    _check_reader()
    hub = _streams().hub
    config = hub.config
    last_id = request.headers.get("Last-Event-ID", "").strip() or None
    if last_id is not None:
        try:
            protocol.parse_position(last_id)
        except ProtocolError:
            last_id = "-:0"  # not one of ours: cannot be recovered, so a resync
    try:
        register, subscribe = protocol.connect_requests(
            request.args, websocket_events.CHANNELS, config.max_subscribe_channels, since=last_id)
    except ProtocolError as err:
        raise _refused(err) from None
    if subscribe is None:
        raise ApiError(400, "missing_field",
                       "name the channels to follow: /events?channels=jobs,photos")
    try:
        _room_for_a_client(hub)
    except ApiError as err:
        return _come_back_later(err)
    raw = sse.raw_socket(request.environ)
    if raw is None:
        raise ApiError(500, "unsupported_server", "this server does not expose its sockets")
    transport = sse.SseTransport.take_over(hub.new_outbox(raw), hub.epoch,
                                           request.environ.get("SERVER_PROTOCOL", "HTTP/1.0"))
    client = hub.connect(transport, request.remote_addr or "")
    try:
        if register is not None:
            replies.apply(hub, client, register, quiet=True)
        replies.greet(hub, client, subscribing=True)
        replies.apply(hub, client, subscribe, position=True)
        transport.serve(config.ping_interval or None)
    except Exception:
        log.exception("event stream failed", extra={"client_id": client.id})
    finally:
        hub.disconnect(client)
    return _AlreadySent()


# --- long polling ---------------------------------------------------------------------


def _body() -> dict:
    """A JSON object body; an empty body or an empty Lua table (``[]``) is ``{}``."""
    if not request.get_data(cache=True).strip():
        return {}
    body = json_value()
    if body == []:
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "body must be a JSON object")
    return body


def _poller(client_id) -> longpoll.LongPollTransport:
    if not isinstance(client_id, str) or not client_id:
        raise ApiError(400, "missing_field", "'client_id' is required (from /ws/handshake)")
    transport = _streams().pollers.get(client_id)
    if transport is None:
        raise ApiError(404, "unknown_client",
                       "no polling client has that id (expired or closed): handshake again "
                       "and subscribe with since")
    return transport


@bp.post("/ws/handshake")
def handshake():
    """``{client_type?, client_name?}`` -> a polling client."""
    body = _body()
    hub = _streams().hub
    try:
        register = protocol.parse_message({**body, "type": "register"}, websocket_events.CHANNELS)
    except ProtocolError as err:
        raise _refused(err) from None
    _room_for_a_client(hub)
    pollers = _streams().pollers
    client = pollers.handshake(request.remote_addr or "", register)
    return jsonify({"success": True, "client_id": client.id, "epoch": hub.epoch, "seq": hub.seq,
                    "heartbeat_interval": pollers.heartbeat,
                    "protocol_version": protocol.PROTOCOL_VERSION,
                    "server_time": protocol.utc_timestamp(),
                    "client_type": client.client_type, "client_name": client.client_name,
                    "poll_wait_max": longpoll.MAX_WAIT, "hint": replies.HINT})


@bp.post("/ws/send")
def send():
    """``{client_id, message}``: one ``/ws`` message (an object, or its JSON text)."""
    request.max_content_length = _streams().hub.config.max_message_size
    body = _body()
    transport = _poller(body.get("client_id"))
    if "message" not in body:
        raise ApiError(400, "missing_field", "'message' is required: a /ws message")
    refused, answer = _streams().pollers.send(transport, body["message"])
    if not refused:
        return jsonify({"success": True, "reply": answer})
    status = {"rate_limited": 429, "closed": 410, "timeout": 503}.get(answer.get("code"), 400)
    return jsonify({"success": False, "code": answer.get("code"), "error": answer.get("error"),
                    "request_type": answer.get("request_type"), "reply": answer}), status


@bp.get("/ws/poll")
def poll():
    """``?client_id=&wait=25[&since=<epoch>:<seq>]`` -> ``{success, messages}``."""
    _check_reader()
    args = request.args
    transport = _poller(args.get("client_id"))
    try:
        wait = float(args.get("wait", longpoll.DEFAULT_WAIT))
    except ValueError:
        raise ApiError(400, "invalid_field", "wait must be a number of seconds") from None
    if wait != wait:  # NaN
        raise ApiError(400, "invalid_field", "wait must be a number of seconds")
    since = None
    if args.get("since"):
        try:
            since = protocol.parse_position(args["since"])
        except ProtocolError as err:
            raise _refused(err) from None
    frames, closed = _streams().pollers.poll(transport, wait, since)
    body = b'{"success":true,"messages":[' + b",".join(frames) + b"]"
    if closed:
        body += b',"closed":true'
    response = Response(body + b"}", mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/ws/disconnect")
def disconnect():
    """``{client_id}``: the client leaves (1000)."""
    body = _body()
    transport = _poller(body.get("client_id"))
    pollers = _streams().pollers
    client = transport.client
    if transport.open:
        pollers.hub.close(client, 1000, "Disconnected by the client")
    pollers.forget(transport)
    return jsonify({"success": True, "client_id": client.id})
