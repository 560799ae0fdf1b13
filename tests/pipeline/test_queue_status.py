"""queue_status: it follows the job counts, at a bounded rate, and the pause."""

from __future__ import annotations

import time

import pytest
from imagegen import write_image
from pipeline_support import Recorder, ok

pytestmark = pytest.mark.databases


def test_queue_status_follows_the_counts_at_a_bounded_rate(live_server, tmp_path):
    rec = Recorder(live_server, ("queue",))
    ok(live_server.post("/api/queue/pause"))
    t0 = time.monotonic()
    for i in range(8):
        ok(live_server.post("/import/file", {"file_path": str(
            write_image(tmp_path / f"q{i}.jpg", 48, 32, seed=200 + i))}))
    rec.wait(lambda ev: rec.of("queue_status") and rec.of("queue_status")[-1]["pending"] == 8,
             what="eight pending jobs")
    elapsed = time.monotonic() - t0
    assert len(rec.of("queue_status")) <= elapsed / 0.25 + 2
    ok(live_server.post("/api/queue/resume"))
    rec.wait(lambda ev: rec.of("queue_status")[-1]["completed"] == 8, what="eight completed")
    last = rec.of("queue_status")[-1]
    assert (last["pending"], last["processing"], last["failed"], last["total"]) == (0, 0, 0, 8)
    rec.close()


def test_a_pause_and_a_resume_reach_every_screen_with_the_counts_unchanged(live_server):
    rec = Recorder(live_server, ("queue",))
    ok(live_server.post("/api/queue/pause"))
    rec.wait(lambda ev: rec.of("queue_status") and rec.of("queue_status")[-1]["paused"] is True,
             what="queue_status saying paused")
    paused = rec.of("queue_status")[-1]
    ok(live_server.post("/api/queue/resume"))
    rec.wait(lambda ev: rec.of("queue_status")[-1]["paused"] is False,
             what="queue_status saying running")
    resumed = rec.of("queue_status")[-1]
    counts = ("pending", "processing", "completed", "failed", "total")
    assert [paused[k] for k in counts] == [resumed[k] for k in counts]
    assert live_server.get("/api/queue").json()["paused"] is False
    rec.close()
