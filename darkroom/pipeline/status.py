"""Every status the pipeline stores or reports, in one place.

The database keeps them as plain strings; these ``StrEnum`` members compare
equal to those strings, so queries, JSON and events use the same values the
README documents.
"""

from __future__ import annotations

from enum import StrEnum


class PhotoStatus(StrEnum):
    """imported -> analyzed -> queued -> developing -> developed | failed."""

    IMPORTED = "imported"
    ANALYZED = "analyzed"
    QUEUED = "queued"
    DEVELOPING = "developing"
    DEVELOPED = "developed"
    FAILED = "failed"


class JobStatus(StrEnum):
    """pending -> running -> completed | failed | cancelled (failed and cancelled retry)."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobKind(StrEnum):
    DEVELOP = "develop"
    EXPORT = "export"


class Decision(StrEnum):
    """A person's final word on a developed photo (``None`` until then)."""

    APPROVED = "approved"
    REJECTED = "rejected"


class SessionStatus(StrEnum):
    """active (hot folder watched), paused (not watched), completed (every photo decided)."""

    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"


class SessionPhase(StrEnum):
    """Where a session stands, for people: the ``status`` of ``session_updated``."""

    PROCESSING = "processing"
    AWAITING_APPROVAL = "awaiting_approval"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"


class ExportStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"


# A job that still holds its photo: a second develop job for it is refused.
ACTIVE_JOB = (JobStatus.PENDING, JobStatus.RUNNING)
# A job a person may send back to the queue.
RETRYABLE_JOB = (JobStatus.FAILED, JobStatus.CANCELLED)
# A photo whose develop job has ended, one way or the other.
PROCESSED_PHOTO = (PhotoStatus.DEVELOPED, PhotoStatus.FAILED)
