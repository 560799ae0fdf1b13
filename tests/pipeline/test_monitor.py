"""The system monitor: one resource_warning per crossing, with hysteresis."""

from __future__ import annotations

import pytest
from pipeline_support import Recorder, pipeline_of

pytestmark = pytest.mark.databases


def test_resource_warning_fires_once_per_crossing(make_server):
    live_server = make_server(monitor_interval=3600)  # only the ticks below
    mon = pipeline_of(live_server).monitor
    mon.thresholds = {"cpu": 1000.0, "memory": 1000.0, "disk": 1000.0}
    mon.warning = {k: False for k in mon.thresholds}
    rec = Recorder(live_server, ("system",))
    disk = mon.measure()["values"]["disk"]
    mon.thresholds["disk"] = disk - 1
    for _ in range(3):
        mon.tick()
    mon.thresholds["disk"] = disk + 1  # still within the hysteresis band: no re-arm
    mon.tick()
    mon.thresholds["disk"] = disk - 1
    mon.tick()
    mon.thresholds["disk"] = disk + 10  # well below: re-armed
    mon.tick()
    mon.thresholds["disk"] = disk - 1
    mon.tick()
    rec.wait(lambda ev: len(rec.of("resource_warning")) >= 2, what="two warnings")
    rec.drain()
    assert len(rec.of("resource_warning")) == 2
    rec.close()
