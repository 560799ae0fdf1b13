"""/api/system: the monitor's last status, served before the first tick too."""

from __future__ import annotations

import pytest
from pipeline_support import ok

pytestmark = pytest.mark.databases


def test_system_reports_the_machine_and_the_queue(live_server):
    system = ok(live_server.get("/api/system"))
    assert system["status"] in ("ok", "warning")
    assert {"cpu_percent", "memory_percent", "disk_percent", "connected_clients",
            "queue"} <= set(system["details"])
    assert set(system["thresholds"]) == {"cpu", "memory", "disk"}
