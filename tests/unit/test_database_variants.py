"""The ``databases`` mechanism of tests/conftest.py itself: if it quietly handed every
variant the default SQLite file, the ``[postgresql]`` runs would test nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect as sql_inspect

from darkroom.db import Database

_seen: set[str] = set()


def variant(request) -> str:
    return request.node.callspec.params["database_url"]


@pytest.mark.databases
def test_each_variant_gets_its_own_kind_of_database(database_url, request):
    db = Database(database_url)
    try:
        assert db.engine.dialect.name == variant(request)
        with db.engine.connect() as conn:
            assert sql_inspect(conn).get_table_names() == []  # fresh and empty
    finally:
        db.dispose()


@pytest.mark.databases
@pytest.mark.parametrize("attempt", [1, 2])
def test_every_test_gets_a_database_nobody_used(database_url, attempt):
    assert database_url not in _seen
    _seen.add(database_url)


@pytest.mark.databases
def test_make_config_points_the_app_at_it(make_config, database_url, tmp_path):
    assert make_config().database_url == database_url
    assert make_config(database_url=f"sqlite:///{tmp_path / 'own.db'}").database_url.endswith("own.db")


def test_without_the_mark_the_app_keeps_its_default(make_config, request, tmp_path):
    """(Taking ``database_url`` as an argument would itself ask for both variants.)"""
    assert request.getfixturevalue("database_url") is None
    assert make_config().database_url == f"sqlite:///{tmp_path / 'data' / 'darkroom.db'}"
