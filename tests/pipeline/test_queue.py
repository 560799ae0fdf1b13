"""Claiming jobs from the queue: each job is taken once, however many claimers race.

The database's in-process write lock serialises claimers that share one
``Database``; the compare-and-set in ``queue.claim`` is what keeps claimers
with separate connections (other processes) apart, so it is tested with two
``Database`` objects on one database and nothing shared in Python, on SQLite
and on PostgreSQL.
"""

from __future__ import annotations

import threading

from sqlalchemy import select, update

from darkroom.db import Database, Job, Photo, PhotoSession
from darkroom.pipeline.jobs import queue
from darkroom.pipeline.status import JobStatus

JOBS = 12
ROUNDS = 40


def _database_with_jobs(url: str, count: int) -> Database:
    db = Database(url)
    db.create_schema()
    with db.write() as s:
        session = PhotoSession(name="Race", import_folder="/x")
        s.add(session)
        s.flush()
        for i in range(count):
            photo = Photo(session_id=session.id, file_path=f"/x/{i}.jpg", file_name=f"{i}.jpg",
                          content_hash=f"{i:064d}", file_size=1, format="jpeg")
            s.add(photo)
            s.flush()
            s.add(Job(photo_id=photo.id, session_id=session.id, priority=1 + i % 10,
                      preset="WhiteLayer_v4"))
    return db


def _claim_all(db: Database, worker: str, start: threading.Barrier, out: list[int]) -> None:
    start.wait()
    while (job := queue.claim(db, worker)) is not None:
        out.append(job.job_id)


def test_two_connections_racing_never_claim_a_job_twice(database_url):
    setup = _database_with_jobs(database_url, JOBS)
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
    db = _database_with_jobs(database_url, JOBS)
    try:
        order = []
        while (job := queue.claim(db, "w")) is not None:
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
