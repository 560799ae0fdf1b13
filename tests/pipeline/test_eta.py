"""The queue's ETA: usual times from the timings completed jobs recorded, the waiting jobs
laid out on the workers in claim order, per session and for the whole queue."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from pipeline_support import create_session, ok, pipeline_of

from darkroom.db import Job, Photo, utcnow
from darkroom.pipeline import eta

_serial = itertools.count()


def add_jobs(server, session_id: int, jobs: list[dict]) -> None:
    """Jobs (each on a photo of its own), inserted in the order given."""
    with pipeline_of(server).db.write() as s:
        for job in jobs:
            n = next(_serial)
            photo = Photo(session_id=session_id, file_path=f"/nowhere/{n}.jpg",
                          file_name=f"{n}.jpg", content_hash=f"eta-{session_id}-{n}",
                          file_size=1, format="jpeg", status="queued")
            s.add(photo)
            s.flush()
            s.add(Job(photo_id=photo.id, session_id=session_id, preset="natural",
                      **{"kind": "develop", "priority": 5, **job}))
            s.flush()


def done(kind: str, timings: dict) -> dict:
    return {"kind": kind, "status": "completed", "progress": 100.0,
            "result": {"timings": timings}}


@pytest.mark.databases
def test_eta_from_recorded_timings_and_the_workers(live_server, tmp_path):
    ok(live_server.post("/api/queue/pause"))
    a = create_session(live_server, "a", tmp_path)
    b = create_session(live_server, "b", tmp_path)
    add_jobs(live_server, a, [{"status": "pending"}])
    assert ok(live_server.get("/api/queue"))["eta"] == {
        "seconds": None, "remaining": 1, "sessions": {str(a): {"seconds": None, "remaining": 1}}}

    add_jobs(live_server, b, [
        # develop: totals 2, 4 and 9 s (median 4); export: no total, stages 0.4 + 0.6 s.
        done("develop", {"loading": 1.0, "total": 2.0}), done("develop", {"total": 4.0}),
        done("develop", {"total": 9.0}), done("export", {"loading": 0.4, "writing": 0.6}),
        done("develop", {"total": "fast"}),  # no usable timing: not counted
        {"status": "failed", "result": {"timings": {"total": 100.0}}},  # failed: not counted
    ])
    # 2 s left; leased for an hour, so the reaper leaves it running.
    add_jobs(live_server, a, [{"status": "running", "progress": 50.0,
                               "lease_expires_at": utcnow() + timedelta(hours=1)}])
    add_jobs(live_server, b, [{"kind": "export", "priority": 1, "status": "pending"}])
    add_jobs(live_server, a, [{"status": "pending"}])
    add_jobs(live_server, b, [{"status": "pending"}])
    # Two workers: running A (0-2) | export B (0-1), A (1-5), first A (2-6), B (5-9).
    assert live_server.get("/api/queue").json()["workers"] == 2
    assert ok(live_server.get("/api/queue"))["eta"] == {
        "seconds": 9.0, "remaining": 5,
        "sessions": {str(a): {"seconds": 6.0, "remaining": 3},
                     str(b): {"seconds": 9.0, "remaining": 2}}}
    # Two more running jobs (another process's workers): three workers at least.
    leased = {"status": "running", "lease_expires_at": utcnow() + timedelta(hours=1)}
    add_jobs(live_server, b, [leased, leased])
    # A (0-2), B (0-4), B (0-4) | export B (2-3), A (3-7), A (4-8), B (4-8).
    assert ok(live_server.get("/api/queue"))["eta"]["seconds"] == 8.0


def test_schedule_by_workers_and_unknown_kinds():
    jobs = [eta.Waiting("develop", 1, 0.25), eta.Waiting("develop", 1), eta.Waiting("export", 2)]
    durations = {"develop": 4.0, "export": 1.0}
    one = eta.schedule(jobs, durations, 1)
    assert one["seconds"] == 8.0 and one["sessions"]["1"]["seconds"] == 7.0
    assert eta.schedule(jobs, durations, 3)["seconds"] == 4.0
    # A kind with no history: it and what comes after it are unknown, what comes before is not.
    blind = eta.schedule([eta.Waiting("develop", 1), eta.Waiting("export", 2),
                          eta.Waiting("develop", 3)], {"develop": 4.0}, 1)
    assert blind == {"seconds": None, "remaining": 3, "sessions": {
        "1": {"seconds": 4.0, "remaining": 1}, "2": {"seconds": None, "remaining": 1},
        "3": {"seconds": None, "remaining": 1}}}
    assert eta.schedule([], durations, 2) == {"seconds": 0.0, "remaining": 0, "sessions": {}}
    assert eta.schedule(jobs, durations, 0)["seconds"] == 8.0  # at least one worker
    assert eta.usual({"develop": [{"timings": {"total": 3}}, None, {"timings": []},
                                  {"timings": {"total": float("nan"), "a": 1.0}}]}) == \
        {"develop": 2.0}
