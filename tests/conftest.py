"""Shared fixtures: the servers and configs of ``harness``, one fresh per test."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest
from harness import AppProcess, LiveServer, free_port

from darkroom.config import Config


@pytest.fixture
def make_config(tmp_path) -> Callable[..., Config]:
    def make(**overrides) -> Config:
        overrides.setdefault("data_dir", tmp_path / "data")
        overrides.setdefault("port", free_port())
        overrides.setdefault("workers", 2)
        overrides.setdefault("hot_folder", False)
        overrides.setdefault("export_dirs", [str(tmp_path / "exports")])
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
def start_app(tmp_path) -> Iterator[Callable[..., AppProcess]]:
    procs: list[AppProcess] = []

    def start(*args: str, port: Optional[int] = None, data_dir: Optional[Path] = None,
              env: Optional[dict] = None) -> AppProcess:
        port = port or free_port()
        data_dir = data_dir or tmp_path / "data"
        full_env = {**os.environ, "DARKROOM_WORKERS": "2", "DARKROOM_HOT_FOLDER": "0",
                    "DARKROOM_EXPORT_DIRS": str(tmp_path / "exports"), **(env or {})}
        proc = AppProcess(["--port", str(port), "--data-dir", str(data_dir), *args],
                          full_env, port, tmp_path / f"app-{len(procs)}.log")
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.kill()

