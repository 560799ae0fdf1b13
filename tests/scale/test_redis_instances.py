"""Who may share a data directory: a studio install's web processes, and nobody else.

``python app.py`` as a user starts it (harness ``start_app``), on one data directory.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.timeout(150)


def test_web_processes_on_redis_and_postgresql_share_one_data_dir(start_app, postgres_url,
                                                                    redis_url, redis_prefix):
    env = {"DARKROOM_DATABASE_URL": postgres_url, "REDIS_URL": redis_url,
           "DARKROOM_REDIS_PREFIX": redis_prefix}
    a = start_app(env=env)
    b = start_app(env=env)
    for server in (a, b):
        assert server.stats()["bus"]["kind"] == "redis"
    assert a.stats()["epoch"] == b.stats()["epoch"]


@pytest.mark.parametrize("shares", ["sqlite", "postgresql-without-redis"])
def test_otherwise_a_second_server_on_the_data_dir_is_refused(start_app, redis_url, redis_prefix,
                                                              shares, request):
    if shares == "sqlite":
        env = {"REDIS_URL": redis_url, "DARKROOM_REDIS_PREFIX": redis_prefix}
    else:
        env = {"DARKROOM_DATABASE_URL": request.getfixturevalue("postgres_url")}
    first = start_app(env=env)
    assert first.stats()["bus"]["kind"] == ("redis" if shares == "sqlite" else "local")
    with pytest.raises(RuntimeError, match="already using"):
        start_app(env=env)
