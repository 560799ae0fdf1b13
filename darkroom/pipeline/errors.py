"""The pipeline's one refusal type: what went wrong, as an HTTP status and a stable code.

Domain code (imports, jobs, approval, export) raises ``PipelineError``, a
``Refusal``, without knowing about HTTP frameworks; ``darkroom.web.errors`` turns
every refusal into the JSON error body once, for every route.
"""

from __future__ import annotations

from darkroom.refusal import Refusal


class PipelineError(Refusal):
    """A request the photo domain refused (see ``Refusal``)."""
