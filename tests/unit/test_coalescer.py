"""The Coalescer (README "Progress that cannot flood"): at most one state event per key
per interval, the first and last of every phase always, the final state always, and
terminal events never held back. Time is passed in, so these tests need no clock."""

from __future__ import annotations

import pytest

from darkroom.realtime.coalesce import Coalescer

JOB = ("job_progress", 1)


def progress(co: Coalescer, name, now, key=JOB, phase="rendering"):
    return co.offer(name, key, phase, None, now)


def test_events_that_are_not_state_pass_at_once():
    co = Coalescer(0.1)
    assert [co.offer(f"e{i}", None, None, None, 0.0) for i in range(3)] == [["e0"], ["e1"], ["e2"]]
    assert co.next_due(0.0) is None and co.flush() == []


def test_the_first_event_of_a_key_goes_out_at_once():
    assert progress(Coalescer(0.1), "p1", 0.0) == ["p1"]


def test_within_the_interval_only_the_newest_waits_and_goes_out_when_due():
    co = Coalescer(0.1)
    progress(co, "p1", 0.0)
    assert progress(co, "p2", 0.02) == [] and progress(co, "p3", 0.05) == []
    assert co.next_due(0.05) == pytest.approx(0.05)
    assert co.due(0.09) == []
    assert co.due(0.1) == ["p3"]  # p2 was superseded
    assert co.due(0.5) == [] and co.next_due(0.5) is None


def test_after_a_quiet_interval_the_next_event_goes_out_at_once():
    co = Coalescer(0.1)
    progress(co, "p1", 0.0)
    assert progress(co, "p2", 0.1) == ["p2"]
    assert progress(co, "p3", 0.15) == []  # the slot starts again at 0.1


def test_a_flood_is_bounded_per_interval_and_the_last_one_arrives():
    """1000 updates in one second reach clients about ten times, ending with the last."""
    co = Coalescer(0.1)
    sent = []
    for i in range(1000):
        now = i / 1000
        sent += progress(co, i, now)
        sent += co.due(now)
    assert co.next_due(1.0) is not None
    sent += co.due(1.1)
    assert sent[-1] == 999 and sent == sorted(sent)
    assert len(sent) <= 12  # 0.0, 0.1, ... 0.9, and the waiting one


def test_a_late_event_supersedes_the_waiting_one_even_if_its_slot_has_passed():
    """The dispatcher may not have asked for ``due`` yet: the older state must never come last."""
    co = Coalescer(0.1)
    sent = progress(co, "p1", 0.0) + progress(co, "p2", 0.05)
    sent += progress(co, "p3", 0.15)
    sent += co.due(0.15) + co.due(1.0) + co.flush()
    assert sent == ["p1", "p3"]


def test_a_new_phase_goes_out_at_once_after_the_last_of_the_previous_phase():
    co = Coalescer(0.1)
    progress(co, "load1", 0.0, phase="loading")
    progress(co, "load2", 0.01, phase="loading")
    assert progress(co, "render1", 0.02, phase="rendering") == ["load2", "render1"]
    assert co.flush() == []


def test_the_same_phase_with_nothing_waiting_sends_only_the_new_event():
    co = Coalescer(0.1)
    progress(co, "load1", 0.0, phase="loading")
    assert progress(co, "render1", 0.01, phase="rendering") == ["render1"]


def test_keys_are_independent():
    co = Coalescer(0.1)
    assert progress(co, "a1", 0.0, key=("job_progress", 1)) == ["a1"]
    assert progress(co, "b1", 0.01, key=("job_progress", 2)) == ["b1"]
    assert progress(co, "a2", 0.02, key=("job_progress", 1)) == []
    assert progress(co, "b2", 0.06, key=("job_progress", 2)) == []
    assert co.next_due(0.06) == pytest.approx(0.04)  # the soonest: key 1 at 0.1
    assert co.due(0.1) == ["a2"] and co.due(0.11) == ["b2"]


def test_a_terminal_event_releases_what_waits_for_its_key_first_and_is_never_held():
    co = Coalescer(0.1)
    progress(co, "p1", 0.0)
    progress(co, "p2", 0.01)
    assert co.offer("completed", None, None, JOB, 0.02) == ["p2", "completed"]
    assert co.next_due(0.02) is None


def test_a_terminal_event_with_nothing_waiting_goes_out_alone():
    co = Coalescer(0.1)
    progress(co, "p1", 0.0)
    assert co.offer("completed", None, None, JOB, 0.01) == ["completed"]


def test_a_terminal_event_leaves_other_keys_waiting():
    co = Coalescer(0.1)
    other = ("job_progress", 2)
    progress(co, "a1", 0.0)
    progress(co, "b1", 0.0, key=other)
    progress(co, "b2", 0.01, key=other)
    assert co.offer("completed", None, None, JOB, 0.02) == ["completed"]
    assert co.flush() == ["b2"]


def test_after_its_terminal_event_a_key_starts_afresh():
    """A retried job's first progress is not held behind the previous run's slot."""
    co = Coalescer(0.1)
    progress(co, "p1", 0.0)
    co.offer("failed", None, None, JOB, 0.01)
    assert progress(co, "retry1", 0.02) == ["retry1"]


def test_after_its_terminal_event_a_key_without_phase_starts_afresh():
    """``session_updated`` without a status has no phase; a reopened session is not held."""
    co = Coalescer(0.1)
    session = ("session_updated", 9)
    progress(co, "u1", 0.0, key=session, phase=None)
    co.offer("completed", None, None, session, 0.01)
    assert progress(co, "u2", 0.02, key=session, phase=None) == ["u2"]


def test_flush_returns_everything_waiting_once():
    co = Coalescer(0.1)
    for key in (("a",), ("b",)):
        progress(co, "first", 0.0, key=key)
        progress(co, f"last-{key[0]}", 0.01, key=key)
    assert sorted(co.flush()) == ["last-a", "last-b"]
    assert co.flush() == [] and co.next_due(0.01) is None


def test_a_zero_interval_holds_nothing():
    co = Coalescer(0.0)
    assert [progress(co, i, 0.0) for i in range(3)] == [[0], [1], [2]]
