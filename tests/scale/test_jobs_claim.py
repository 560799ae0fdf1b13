"""The PostgreSQL claim: ``FOR UPDATE SKIP LOCKED``, with no lock shared in Python.

A row another transaction holds is skipped, not waited for (a plain
compare-and-set would block behind it), and many claimers on separate
connections (separate ``Database`` objects: separate pools) take every job
exactly once, by priority then age.
"""

from __future__ import annotations

import threading

import pytest
from job_rows import database_with_jobs
from sqlalchemy import text

from darkroom.db import Database, Job
from darkroom.pipeline.jobs import queue

CLAIMERS = 6
JOBS = 200


@pytest.fixture
def jobs_db(postgres_url):
    made: list[Database] = []
    yield lambda count: made.append(database_with_jobs(postgres_url, count, "Claims")) or made[-1]
    for db in made:
        db.dispose()


def _claim_in_thread(db: Database, worker: str) -> list:
    out: list = []
    t = threading.Thread(target=lambda: out.append(queue.claim(db, worker, 30.0)), daemon=True)
    t.start()
    t.join(timeout=10)
    assert not t.is_alive(), "the claim waited for the locked row instead of skipping it"
    return out


def test_a_row_locked_by_another_transaction_is_skipped_not_waited_for(jobs_db, postgres_url):
    db = jobs_db(3)  # priorities 1, 2, 3: job 1 first
    other = Database(postgres_url)
    holder = db.engine.connect()
    try:
        tx = holder.begin()
        holder.execute(text("SELECT id FROM jobs WHERE id = 1 FOR UPDATE"))
        [claimed] = _claim_in_thread(other, "b")
        assert claimed.job_id == 2
        tx.rollback()
        assert queue.claim(other, "b", 30.0).job_id == 1
    finally:
        holder.close()
        other.dispose()


def test_many_connections_claim_every_job_exactly_once(jobs_db, postgres_url):
    setup = jobs_db(JOBS)
    claimers = [Database(postgres_url) for _ in range(CLAIMERS)]
    start = threading.Barrier(CLAIMERS)
    taken: list[list[int]] = [[] for _ in range(CLAIMERS)]

    def run(i: int) -> None:
        start.wait()
        while (job := queue.claim(claimers[i], f"w{i}", 30.0)) is not None:
            taken[i].append(job.job_id)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLAIMERS)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=50)
        every = [job_id for ids in taken for job_id in ids]
        assert len(every) == len(set(every)) == JOBS
        assert sum(1 for ids in taken if ids) > 1, "one claimer took everything: no race tested"
        for ids in taken:  # each claimer saw the queue in run order
            with setup.read() as s:
                keys = [(s.get(Job, i).priority, i) for i in ids]
            assert keys == sorted(keys)
        assert queue.counts(setup)["processing"] == JOBS
    finally:
        for db in claimers:
            db.dispose()


def test_new_work_is_notified_to_listeners_on_other_connections(jobs_db, postgres_url):
    """What wakes idle workers in other processes at once (``WorkerPool.wake``)."""
    listening = jobs_db(0)
    other = Database(postgres_url)
    stop, heard = threading.Event(), threading.Event()

    def listen() -> None:
        for _ in queue.notifications(listening, stop, poll=0.2):
            heard.set()

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    try:
        for _ in range(50):  # until the listener's LISTEN is in place and it hears one
            queue.notify(other)
            if heard.wait(0.2):
                break
        assert heard.is_set()
    finally:
        stop.set()
        t.join(timeout=5)
        other.dispose()
    assert not t.is_alive()
