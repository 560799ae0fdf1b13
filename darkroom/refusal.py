"""The one error type for a refused request: an HTTP status, a stable code, a message for people.

Every layer raises it (or a subclass named after the layer) without knowing
HTTP frameworks; ``darkroom.web.errors`` turns any of them into the JSON error
body once, for every route.
"""

from __future__ import annotations


class Refusal(Exception):
    """``status`` (HTTP), ``code`` (stable, machine-readable), a ``message`` for people
    and ``extra`` fields for the error body (``photo_id``...)."""

    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra
