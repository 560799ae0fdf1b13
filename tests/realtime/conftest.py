"""Realtime tests serve the hub alone by default: no workers, monitor or importer
publish into it, so a test sees only the events it causes (``with_pipeline=True``
asks for the whole app)."""

from __future__ import annotations

import pytest


@pytest.fixture
def make_server(make_server):
    def make(with_pipeline: bool = False, **overrides):
        return make_server(with_pipeline=with_pipeline, **overrides)
    return make
