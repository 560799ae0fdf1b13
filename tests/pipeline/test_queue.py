"""Claiming jobs from the queue: each job is taken once, however many claimers race.

The database's in-process write lock serialises claimers that share one
``Database``; the compare-and-set in ``queue.claim`` is what keeps claimers
with separate connections (other processes) apart, so it is tested with two
``Database`` objects on one database and nothing shared in Python, on SQLite
and on PostgreSQL.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from job_rows import database_with_jobs
from sqlalchemy import select, update

from darkroom.db import Database, Job, Photo
from darkroom.pipeline.jobs import queue
from darkroom.pipeline.status import JobStatus

JOBS = 12
ROUNDS = 40


def _claim_all(db: Database, worker: str, start: threading.Barrier, out: list[int]) -> None:
    start.wait()
    while (job := queue.claim(db, worker, 30.0)) is not None:
        out.append(job.job_id)


def test_two_connections_racing_never_claim_a_job_twice(database_url):
    setup = database_with_jobs(database_url, JOBS)
    first, second = Database(database_url), Database(database_url)
    try:
        for _ in range(ROUNDS):
            with setup.write() as s:
                s.execute(update(Job).values(status=JobStatus.PENDING, worker=None))
            start = threading.Barrier(2)
            a: list[int] = []
            b: list[int] = []
            threads = [threading.Thread(target=_claim_all, args=(first, "a", start, a)),
                       threading.Thread(target=_claim_all, args=(second, "b", start, b))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            assert not set(a) & set(b), f"claimed by both connections: {sorted(set(a) & set(b))}"
            assert sorted(a + b) == list(range(1, JOBS + 1))
    finally:
        for db in (setup, first, second):
            db.dispose()


def test_claiming_takes_the_most_urgent_then_oldest_and_recover_puts_running_back(database_url):
    db = database_with_jobs(database_url, JOBS)
    try:
        order = []
        while (job := queue.claim(db, "w", 30.0)) is not None:
            order.append(job.job_id)
        # priority 1 + i % 10 for job i + 1: priorities 1..10, then 1..2 again, oldest first.
        assert order == [1, 11, 2, 12, 3, 4, 5, 6, 7, 8, 9, 10]
        with db.read() as s:
            jobs = s.scalars(select(Job)).all()
            assert {j.status for j in jobs} == {JobStatus.RUNNING}
            assert all(j.attempts == 1 and j.worker == "w" for j in jobs)
            assert {p.status for p in s.scalars(select(Photo))} == {"developing"}
        assert sorted(queue.recover(db)) == list(range(1, JOBS + 1))
        assert queue.counts(db)["pending"] == JOBS
        with db.read() as s:
            assert {p.status for p in s.scalars(select(Photo))} == {"queued"}
    finally:
        db.dispose()


def _job(db: Database, job_id: int) -> Job:
    with db.read() as s:
        return s.get(Job, job_id)


def test_a_claim_is_a_lease_the_heartbeat_renews_and_fences(database_url):
    db = database_with_jobs(database_url, 2)
    try:
        mine = queue.claim(db, "host:1:1", 30.0)
        row = _job(db, mine.job_id)
        assert (row.worker, row.attempts, mine.attempts) == ("host:1:1", 1, 1)
        first = row.lease_expires_at
        assert first is not None
        running = {mine.job_id: (mine.worker, mine.attempts, "rendering", 42.0)}
        assert queue.heartbeat(db, 60.0, running) == (set(), set())
        row = _job(db, mine.job_id)
        assert row.lease_expires_at > first and (row.stage, row.progress) == ("rendering", 42.0)
        # A cancel asked for anywhere reaches the worker at its next beat.
        assert queue.request_cancel(db, mine.job_id)
        assert queue.heartbeat(db, 60.0, running) == (set(), {mine.job_id})
        # Another worker's claim (a later attempt) fences this one out.
        with db.write() as s:
            s.execute(update(Job).where(Job.id == mine.job_id).values(attempts=2))
        assert queue.heartbeat(db, 60.0, running) == ({mine.job_id}, set())
        assert not queue.request_cancel(db, 2)  # pending: nothing running to cancel
    finally:
        db.dispose()


def test_the_reaper_requeues_expired_leases_counts_attempts_and_gives_up(database_url):
    db = database_with_jobs(database_url, 3)
    try:
        claimed = [queue.claim(db, f"w{i}", 30.0) for i in range(3)]
        lost, slow, cancelled = claimed
        past = datetime.now(timezone.utc) - timedelta(seconds=5)
        with db.write() as s:
            s.execute(update(Job).where(Job.id.in_([lost.job_id, cancelled.job_id]))
                      .values(lease_expires_at=past))
        queue.request_cancel(db, cancelled.job_id)
        reaped = {r.job_id: r.outcome for r in queue.reap(db)}
        assert reaped == {lost.job_id: JobStatus.PENDING, cancelled.job_id: JobStatus.CANCELLED}
        assert _job(db, slow.job_id).status == JobStatus.RUNNING  # its lease holds
        assert _job(db, lost.job_id).worker is None
        with db.read() as s:
            assert s.get(Photo, _job(db, lost.job_id).photo_id).status == "queued"
        assert queue.reap(db) == []
        # The same job keeps killing its worker: after MAX_ATTEMPTS claims it fails for good.
        for attempt in range(2, queue.MAX_ATTEMPTS + 1):
            again = queue.claim(db, "w", 30.0)
            assert (again.job_id, again.attempts) == (lost.job_id, attempt)
            with db.write() as s:
                s.execute(update(Job).where(Job.id == again.job_id).values(lease_expires_at=past))
            outcome = queue.reap(db)[0].outcome
            assert outcome == (JobStatus.FAILED if attempt == queue.MAX_ATTEMPTS else JobStatus.PENDING)
        row = _job(db, lost.job_id)
        assert row.status == JobStatus.FAILED
        assert row.error_details == {"type": "WorkerLost", "stage": None, "expected": False,
                                     "kind": "develop", "attempts": queue.MAX_ATTEMPTS}
    finally:
        db.dispose()
