"""JSON errors for the HTTP API: a stable ``code``, a human ``error``, the right status.

Every layer raises a ``Refusal`` (``ApiError`` here, ``PipelineError`` in the
photo domain) or lets Flask raise an HTTP error; either way the client gets
``{"success": false, "code": ..., "error": ..., **extra}``, built here only.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from darkroom.refusal import Refusal

log = logging.getLogger("darkroom.http")

_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    503: "unavailable",
}


class ApiError(Refusal):
    """A request the web layer refused (see ``Refusal``)."""

    def response(self):
        return error_response(self)


def error_response(exc):
    """The JSON error body and status of any error with ``status``, ``code``, ``message``
    and ``extra``."""
    body = {"success": False, "code": exc.code, "error": exc.message, **exc.extra}
    return jsonify(body), exc.status


DEFAULT_JSON_DEPTH = 64


def _limit(name: str, default):
    runtime = current_app.extensions.get("darkroom")
    return getattr(getattr(runtime, "config", None), name, default)


def json_depth(value: Any, limit: int) -> int:
    """How deeply ``value`` nests lists and objects (a scalar is 0, ``{}`` is 1), counted
    without recursion and stopping once past ``limit``."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _refused(limit: str) -> None:
    """Count a request an HTTP limit refused, in ``/websocket/stats`` ``refused``."""
    runtime = current_app.extensions.get("darkroom")
    if runtime is not None:
        runtime.hub.refused[limit] += 1


def json_value() -> Any:
    """The request's JSON body, any JSON value: 415 not JSON; 400 ``invalid_json`` for a
    body that does not parse or nests deeper than ``max_json_depth`` (a body nested 10,000
    deep is a 400, not the parser's RecursionError); 413 over the body limit (Flask's
    ``MAX_CONTENT_LENGTH``, and ``max_body_size`` checked here before the body is read)."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json")
    max_body = _limit("max_body_size", None)
    if max_body is not None and (request.content_length or 0) > max_body:
        _refused("body_too_large")
        raise ApiError(413, "payload_too_large", f"the body is larger than {max_body} bytes")
    raw = request.get_data(cache=True)
    limit = _limit("max_json_depth", DEFAULT_JSON_DEPTH)
    try:
        data = json.loads(raw)
    except RecursionError:  # nested past the parser's own stack
        _refused("json_too_deep")
        raise ApiError(400, "invalid_json", f"body nests deeper than {limit} levels") from None
    except ValueError:
        raise ApiError(400, "invalid_json", "body is not valid JSON") from None
    if json_depth(data, limit) > limit:
        _refused("json_too_deep")
        raise ApiError(400, "invalid_json", f"body nests deeper than {limit} levels")
    return data


def json_body() -> dict:
    """The request's JSON object body, or an ApiError (415 not JSON, 400 not valid JSON, not
    an object or nested too deep, 413 too large)."""
    data = json_value()
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "body must be a JSON object")
    return data


def init_app(app: Flask) -> None:
    app.register_error_handler(Refusal, error_response)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        if status == 413:  # over MAX_CONTENT_LENGTH while the body was read
            _refused("body_too_large")
        code = _CODES.get(status, "http_error")
        return jsonify({"success": False, "code": code, "error": exc.description}), status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return jsonify({"success": False, "code": "internal_error",
                        "error": "internal server error"}), 500
