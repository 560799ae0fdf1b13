"""JSON errors for the HTTP API: a stable ``code``, a human ``error``, the right status.

Every blueprint raises ``ApiError`` (or lets Flask raise an HTTP error) and the
client always gets ``{"success": false, "code": ..., "error": ...}``.
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
        body = {"success": False, "code": self.code, "error": self.message, **self.extra}
        return jsonify(body), self.status


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
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return exc.response()

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
