"""The token bucket, on a clock the test moves."""

from __future__ import annotations

from darkroom.realtime.ratelimit import TokenBucket


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_allowed_then_the_rate():
    clock = Clock()
    bucket = TokenBucket(rate=40, burst=100, clock=clock)
    assert all(bucket.take() for _ in range(100))
    assert not bucket.take() and bucket.refused == 1
    clock.now += 0.125  # five more tokens
    assert sum(bucket.take() for _ in range(10)) == 5
    assert bucket.refused == 5


def test_tokens_never_exceed_the_burst():
    clock = Clock()
    bucket = TokenBucket(rate=50, burst=10, clock=clock)
    clock.now += 3600
    assert sum(bucket.take() for _ in range(50)) == 10


def test_an_allowed_message_resets_the_refused_count():
    clock = Clock()
    bucket = TokenBucket(rate=1, burst=1, clock=clock)
    assert bucket.take() and not bucket.take() and not bucket.take()
    assert bucket.refused == 2
    clock.now += 1
    assert bucket.take() and bucket.refused == 0


def test_several_tokens_at_once():
    bucket = TokenBucket(rate=1, burst=10, clock=Clock())
    assert bucket.take(7) and not bucket.take(7) and bucket.take(3)
