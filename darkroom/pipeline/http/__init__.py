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
from werkzeug.routing import BaseConverter

from darkroom.pipeline.http import (
    approval,
    exports,
    imports,
    jobs,
    marks,
    params,
    photos,
    presets,
    queue,
    sessions,
    system,
)
from darkroom.pipeline.reporter import report_error

# The largest id: ids are INTEGER columns, 32-bit on PostgreSQL (SQLite's are 64-bit, and
# its driver overflows past those), so nothing larger can name a row anywhere.
MAX_URL_ID = params.MAX_ID


def _at_most(n: int) -> str:
    """A regex for the decimal numbers 0..n without leading zeros (beyond "0" itself)."""
    digits = str(n)
    parts = ["0", f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if len(digits) > 1 else ["0"]
    for i, d in enumerate(digits):
        low = 1 if i == 0 else 0
        if int(d) > low:
            rest = len(digits) - i - 1
            parts.append(f"{digits[:i]}[{low}-{int(d) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    parts.append(digits)
    return "(?:" + "|".join(parts) + ")"


class IdConverter(BaseConverter):
    """``<id:photo_id>``: ASCII digits of an id 0..MAX_URL_ID. Anything else (2**31,
    99999999999999999999, a sign, leading zeros, other scripts' digits) matches no route, so it is a 404
    before any query runs, never an overflow in the database driver (and never a 405: the
    path matches no rule of any method)."""

    regex = _at_most(MAX_URL_ID)
    part_isolating = True

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(int(value))


api = Blueprint("pipeline", __name__)
for _resource in (sessions, imports, photos, marks, jobs, queue, approval, exports, presets,
                  system):
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
