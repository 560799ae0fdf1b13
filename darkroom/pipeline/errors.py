"""The pipeline's one refusal type: what went wrong, as an HTTP status and a stable code.

Domain code (imports, jobs, approval, export) raises ``PipelineError`` without
knowing about HTTP frameworks; ``darkroom.web.errors`` turns it into the JSON
error body once, for every route.
"""

from __future__ import annotations


class PipelineError(Exception):
    """A refused request: ``status`` (HTTP), ``code`` (stable, machine-readable), a message
    for people and ``extra`` fields for the error body (``photo_id``...)."""

    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra
