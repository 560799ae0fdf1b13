"""JSON errors for the HTTP API: a stable ``code``, a human ``error``, the right status.

Every blueprint raises ``ApiError`` (or lets Flask raise an HTTP error), a
layer that must not know Flask raises its own error type with the same four
attributes and registers it with ``answer_as_json``; either way the client
gets ``{"success": false, "code": ..., "error": ..., **extra}``, built here only.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

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


class ApiError(Exception):
    """An error with an HTTP status and a stable machine-readable code."""

    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def response(self):
        return error_response(self)


def error_response(exc):
    """The JSON error body and status of any error with ``status``, ``code``, ``message``
    and ``extra``."""
    body = {"success": False, "code": exc.code, "error": exc.message, **exc.extra}
    return jsonify(body), exc.status


def answer_as_json(app: Flask, error_type: type[Exception]) -> None:
    """Answer ``error_type`` (an error with ``status``, ``code``, ``message``, ``extra``)
    on every route with ``error_response``."""
    app.register_error_handler(error_type, error_response)


def json_body() -> dict:
    """The request's JSON object body, or an ApiError (415 not JSON, 400 not an object)."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "invalid_json", "body is not valid JSON")
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "body must be a JSON object")
    return data


def init_app(app: Flask) -> None:
    answer_as_json(app, ApiError)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        code = _CODES.get(status, "http_error")
        return jsonify({"success": False, "code": code, "error": exc.description}), status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return jsonify({"success": False, "code": "internal_error",
                        "error": "internal server error"}), 500
