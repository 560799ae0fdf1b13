"""Fixtures of the studio-scale tests: Redis, PostgreSQL and several real web processes.

- ``redis_url``/``redis_prefix``: the shared Redis at 127.0.0.1:6379, with a
  prefix of the test's own (its keys are deleted afterwards).
- ``private_redis``: a ``redis-server`` of the test's own (AOF, fsync always)
  that the test may kill and restart.
- ``studio``: starts web processes of one install (one data directory, one
  PostgreSQL database, one Redis prefix) with ``studio.web()``.

Without Redis, redis-server or PostgreSQL the tests skip with the reason; under
``CI`` they fail.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from harness import need, postgres_problem
from scale_support import SHARED_REDIS, RedisServer, WebProcess, delete_prefix, redis_problem


@pytest.fixture
def redis_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def redis_url(redis_prefix) -> Iterator[str]:
    problem = redis_problem()
    need(problem is None, problem or "")
    yield SHARED_REDIS
    delete_prefix(SHARED_REDIS, redis_prefix)


@pytest.fixture
def private_redis(tmp_path) -> Iterator[RedisServer]:
    need(shutil.which("redis-server") is not None, "redis-server is not installed")
    server = RedisServer(tmp_path / "redis")
    yield server
    server.kill()


@pytest.fixture
def postgres_url(postgres_databases) -> Iterator[str]:
    problem = postgres_problem()
    need(problem is None, problem or "")
    with postgres_databases.database() as url:
        yield url


class Studio:
    """Web processes of one install, stopped at the end of the test."""

    def __init__(self, tmp_path: Path, database_url: str, redis_url: str, prefix: str):
        self.tmp_path = tmp_path
        self.data_dir = tmp_path / "data"
        self.database_url = database_url
        self.redis_url = redis_url
        self.prefix = prefix
        self.processes: list[WebProcess] = []

    def env(self, **extra: str) -> dict:
        base = {k: v for k, v in os.environ.items()
                if k not in ("DATABASE_URL", "DARKROOM_DATABASE_URL", "REDIS_URL")}
        return {**base, "DARKROOM_DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url,
                "DARKROOM_REDIS_PREFIX": self.prefix, "DARKROOM_PRESENCE_TTL": "3",
                "DARKROOM_WORKERS": "0", "DARKROOM_HOT_FOLDER": "0", **extra}

    def web(self, **extra: str) -> WebProcess:
        return self.webs(1, **extra)[0]

    def webs(self, count: int, **extra: str) -> list[WebProcess]:
        """Start ``count`` web processes at once; return them once each answers."""
        started = []
        for _ in range(count):
            proc = WebProcess(self.env(**extra), self.data_dir,
                              self.tmp_path / f"web-{len(self.processes)}.log")
            self.processes.append(proc)
            started.append(proc)
        return [proc.ready() for proc in started]

    def stop(self) -> None:
        for proc in self.processes:
            proc.discard()


@pytest.fixture
def studio(tmp_path, postgres_url, redis_url, redis_prefix) -> Iterator[Studio]:
    """An install on the shared Redis."""
    install = Studio(tmp_path, postgres_url, redis_url, redis_prefix)
    yield install
    install.stop()


@pytest.fixture
def private_studio(tmp_path, postgres_url, private_redis, redis_prefix) -> Iterator[Studio]:
    """An install on a private Redis the test may stop (``studio.redis``)."""
    install = Studio(tmp_path, postgres_url, private_redis.url, redis_prefix)
    install.redis = private_redis
    yield install
    install.stop()
