"""Job rows for the queue tests: one session, ``count`` photos and a develop job each.

Used by tests/pipeline/test_queue.py (both databases) and tests/scale/test_jobs_claim.py
(PostgreSQL claims). Job ``i + 1`` has priority ``1 + i % 10`` and is the ``i``-th made,
so the run order (priority, then age, then id) is known to the tests.
"""

from __future__ import annotations

from darkroom.db import Database, Job, Photo, PhotoSession


def database_with_jobs(url: str, count: int, name: str = "Jobs") -> Database:
    """A fresh schema at ``url`` holding ``count`` pending develop jobs, ids 1..count."""
    db = Database(url)
    db.create_schema()
    with db.write() as s:
        session = PhotoSession(name=name, import_folder="/x")
        s.add(session)
        s.flush()
        photos = [Photo(session_id=session.id, file_path=f"/x/{i}.jpg", file_name=f"{i}.jpg",
                        content_hash=f"{i:064d}", file_size=1, format="jpeg")
                  for i in range(count)]
        s.add_all(photos)
        s.flush()
        s.add_all([Job(photo_id=photo.id, session_id=session.id, priority=1 + i % 10,
                       preset="WhiteLayer_v4") for i, photo in enumerate(photos)])
    return db
