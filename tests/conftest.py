"""Shared fixtures: the servers and configs of ``harness``, one fresh per test.

Both databases
--------------
Darkroom runs on SQLite (the default) and on PostgreSQL (``DATABASE_URL``), so
the tests that exercise the database run once on each, in the same pytest run:
``test_x[sqlite]`` and ``test_x[postgresql]``. A test opts in in any of three ways:

- mark it (or its module, ``pytestmark = pytest.mark.databases``) with
  ``@pytest.mark.databases``;
- list its node id, module or directory in ``DATABASE_TESTS`` below (for files
  whose owner has not marked them yet);
- take the ``database_url`` fixture as an argument of the test function itself
  (for tests that open a ``Database`` themselves; a fixture that needs it must
  serve a marked test, since ``database_url`` is None elsewhere).

A marked test that reaches no database (neither it nor any fixture it uses takes
``database_url``: a pure function in a marked module) runs once, unparametrized.

Run one variant with ``-k sqlite`` or ``-k postgresql``.

On both variants ``database_url`` is a fresh, empty database of the test's
own: a SQLite file in ``tmp_path``, or ``darkroom_test_<random>`` created on
the local PostgreSQL (127.0.0.1:5432, user postgres) and dropped afterwards.
``make_config`` (hence ``live_server`` and ``make_server``) and ``start_app``
use it, so a server test needs no change to run on both; a test that wants a
database of its own passes ``database_url=...`` to ``make_config``. In every
other test ``database_url`` is None and the app keeps its default (SQLite in
the data directory). Without a reachable PostgreSQL the ``[postgresql]``
variants skip with the reason, and fail when ``CI`` is set.

Under ``CI`` any skipped test fails the run: CI must run everything, so a skip
there is a missing dependency or a test that lost its point.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest
from harness import IN_CI, AppProcess, LiveServer, PostgresDatabases, app_env, free_port, need, postgres_problem

from darkroom.config import Config

DATABASES = ("sqlite", "postgresql")

# Tests that run on both databases without a marker in their own file: node ids,
# module paths or directories (ending in "/"), relative to the repository.
DATABASE_TESTS = (
    "tests/realtime/test_replay.py::test_client_away_for_500_events_resumes_with_all_of_them",
    "tests/realtime/test_replay.py::test_resume_from_another_epoch_or_before_retention_is_not_recovered",
    "tests/realtime/test_replay.py::test_replay_and_live_never_interleave_out_of_order",
    "tests/realtime/test_replay.py::test_snapshot_reflects_running_jobs_and_current_state",
    "tests/realtime/test_replay.py::test_history_over_http",
    "tests/realtime/test_replay.py::test_server_restart_mid_stream_loses_nothing",
    "tests/realtime/test_hub_delivery.py::test_order_and_seq_continuity_under_four_publishers",
    "tests/realtime/test_hub_delivery.py::test_one_unencodable_event_does_not_take_its_batch_with_it",
)


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "databases: run once on SQLite and once on PostgreSQL (see tests/conftest.py)")


def _listed(nodeid: str) -> bool:
    base = nodeid.split("[", 1)[0]
    return any(base == entry or base.startswith(entry if entry.endswith("/") else entry + "::")
               for entry in DATABASE_TESTS)


def _reaches_the_database(metafunc) -> bool:
    """Whether anything this test runs is given ``database_url`` (the test itself, or a
    fixture it uses: ``make_config``, ``live_server``, ``start_app``...). A marked test
    that reaches no database (a pure function in a marked module) would run the very same
    code twice, so it runs once."""
    if "database_url" in inspect.signature(metafunc.function).parameters:
        return True
    fixtures = metafunc.definition._fixtureinfo.name2fixturedefs
    return any("database_url" in definition.argnames
               for name in metafunc.fixturenames if name != "database_url"
               for definition in fixtures.get(name, ()))


def _on_both_databases(metafunc) -> bool:
    return ((metafunc.definition.get_closest_marker("databases") is not None
             or _listed(metafunc.definition.nodeid)) and _reaches_the_database(metafunc)
            or "database_url" in inspect.signature(metafunc.function).parameters)


def pytest_generate_tests(metafunc) -> None:
    if _on_both_databases(metafunc):
        metafunc.parametrize("database_url", DATABASES, indirect=True)


def pytest_collection_modifyitems(config, items) -> None:
    """A listed test that was renamed or moved must not quietly lose its PostgreSQL run:
    an error in CI, a warning on a developer's machine (mid-refactor)."""
    modules = {item.nodeid.split("::", 1)[0]: getattr(item, "module", None) for item in items}
    stale = []
    for entry in DATABASE_TESTS:
        path, _, name = entry.partition("::")
        module = modules.get(path)
        if not (config.rootpath / path).exists() or (
                name and module is not None and not hasattr(module, name.split("::")[0])):
            stale.append(entry)
    if stale:
        message = f"tests/conftest.py DATABASE_TESTS names tests that do not exist: {', '.join(stale)}"
        if IN_CI:
            raise pytest.UsageError(message)
        warnings.warn(pytest.PytestWarning(message), stacklevel=1)


_skipped: list[str] = []


def pytest_runtest_logreport(report) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skipped.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session, exitstatus) -> None:
    if IN_CI and _skipped and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter) -> None:
    if IN_CI and _skipped:
        terminalreporter.section("skipped under CI (this fails the run)", red=True)
        for line in _skipped:
            terminalreporter.line(line, red=True)


@pytest.fixture(autouse=True)
def database_url(request) -> Iterator[Optional[str]]:
    """This test's database URL on a ``[sqlite]``/``[postgresql]`` variant, else None."""
    backend = getattr(request, "param", None)
    if backend is None:
        yield None
    elif backend == "sqlite":
        yield f"sqlite:///{request.getfixturevalue('tmp_path') / 'darkroom-test.db'}"
    else:
        problem = postgres_problem()
        need(problem is None, problem or "")
        with request.getfixturevalue("postgres_databases").database() as url:
            yield url


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    """Made on the first ``[postgresql]`` test only: other runs never touch PostgreSQL."""
    databases = PostgresDatabases()
    yield databases
    databases.close()


@pytest.fixture
def make_config(tmp_path, database_url) -> Callable[..., Config]:
    def make(**overrides) -> Config:
        overrides.setdefault("data_dir", tmp_path / "data")
        overrides.setdefault("port", free_port())
        overrides.setdefault("workers", 2)
        overrides.setdefault("hot_folder", False)
        overrides.setdefault("export_dirs", [str(tmp_path / "exports")])
        # Tests make their photos under tmp_path: that is the import root.
        overrides.setdefault("import_roots", [str(tmp_path)])
        if database_url:
            overrides.setdefault("database_url", database_url)
        return Config(**overrides)
    return make


@pytest.fixture
def make_server(make_config) -> Iterator[Callable[..., LiveServer]]:
    servers: list[LiveServer] = []

    def make(with_pipeline: bool = True, **overrides) -> LiveServer:
        server = LiveServer(make_config(**overrides), with_pipeline=with_pipeline)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def live_server(make_server) -> LiveServer:
    return make_server()


@pytest.fixture
def start_app(tmp_path, database_url) -> Iterator[Callable[..., AppProcess]]:
    procs: list[AppProcess] = []
    base_env = app_env(tmp_path, database_url)

    def start(*args: str, port: Optional[int] = None, data_dir: Optional[Path] = None,
              env: Optional[dict] = None) -> AppProcess:
        port = port or free_port()
        data_dir = data_dir or tmp_path / "data"
        proc = AppProcess(["--port", str(port), "--data-dir", str(data_dir), *args],
                          {**base_env, **(env or {})}, port, tmp_path / f"app-{len(procs)}.log")
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.kill()
