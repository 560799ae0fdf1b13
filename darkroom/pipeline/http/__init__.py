"""The pipeline's HTTP API (JSON): one blueprint per resource under one ``pipeline`` parent.

Views parse and check input (``params``), call the domain and serialise
(``serialise``); refusals are ``PipelineError``s, answered as JSON by
``darkroom.web.errors``. Client input is untrusted: every field is checked for
type, length and range, paths are resolved with realpath and must be regular
files (imports) or lie inside the export folders (exports), and error bodies
never carry a traceback or a path the client did not send.
"""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.routing import BaseConverter, ValidationError

from darkroom.pipeline.http import (
    approval,
    exports,
    imports,
    jobs,
    photos,
    presets,
    queue,
    sessions,
    system,
)
from darkroom.pipeline.reporter import report_error

# The largest id any database stores (a signed 64-bit integer).
MAX_URL_ID = 2**63 - 1


class IdConverter(BaseConverter):
    """``<id:photo_id>``: ASCII digits of a non-negative 64-bit integer; anything else
    (99999999999999999999, a sign, other scripts' digits) matches no route, so it is a
    404 before any query runs, never an overflow in the database driver."""

    regex = r"[0-9]{1,19}"
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_URL_ID:
            raise ValidationError()
        return number

    def to_url(self, value) -> str:
        return str(int(value))


api = Blueprint("pipeline", __name__)
for _resource in (sessions, imports, photos, jobs, queue, approval, exports, presets, system):
    api.register_blueprint(_resource.bp)


def _unexpected(exc: Exception):
    """A bug or an environment failure in a pipeline request: error_occurred, then a 500."""
    report_error(exc, f"{request.method} {request.path}")
    return jsonify({"success": False, "code": "internal_error",
                    "error": "internal server error"}), 500


# Not ``Exception``: a blueprint handler for it would also catch PipelineError and
# HTTPException, which the app-wide handlers answer.
for _kind in (OSError, LookupError, ArithmeticError, RuntimeError, ValueError, TypeError,
              AttributeError, AssertionError, SQLAlchemyError):
    api.register_error_handler(_kind, _unexpected)


def register(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter
    app.register_blueprint(api)
