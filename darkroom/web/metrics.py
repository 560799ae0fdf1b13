"""``GET /metrics``: the Prometheus text format, through prometheus-client.

Each app has a registry of its own (tests run many apps in one process). The
hub's numbers are read at scrape time from what the hub already counts
(``hub.stats()``, its clients and outboxes) by a custom collector, so the hot
path pays nothing for them; events by channel and type, event-log append
latency and develop stage durations come from ``ops.EventTap``; HTTP requests by
route and status, with latency histograms, from Flask's request hooks; jobs by
state from one ``GROUP BY`` on the jobs table per scrape.

In LAN mode ``/metrics`` needs the token like every other path (Prometheus:
``authorization: {credentials_file: <data_dir>/token}``).
"""

from __future__ import annotations

import time
from collections import Counter as Tally

from flask import Flask, Response, request
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from darkroom.web import ops, requestlog

PATH = "/metrics"

disable_created_metrics()  # no *_created series: they double every counter for little use
EXTENSION = "darkroom_metrics"

HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
APPEND_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
REPLAY_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
STAGE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class HubCollector:
    """The hub's own counters and gauges, read when Prometheus scrapes."""

    def __init__(self, runtime, tap: ops.EventTap, pipeline_of):
        self.runtime = runtime
        self.tap = tap
        self.pipeline_of = pipeline_of
        self.started = time.time()

    def describe(self):
        return []  # collected only when scraped (no duplicate check against live values)

    def collect(self):
        from darkroom import __version__

        hub = self.runtime.hub
        stats = hub.stats()
        clients = hub.clients()

        yield InfoMetricFamily("darkroom", "Darkroom build", value={"version": __version__})
        yield GaugeMetricFamily("darkroom_start_time_seconds", "When this app started (Unix time)",
                                value=self.started)

        by_kind = Tally((c.client_type, c.transport.kind) for c in clients)
        g = GaugeMetricFamily("darkroom_clients", "Connected real-time clients",
                              labels=["client_type", "transport"])
        for (client_type, transport), n in sorted(by_kind.items()):
            g.add_metric([client_type, transport], n)
        yield g

        c = CounterMetricFamily("darkroom_events_published", "Events published (logged), by channel and type",
                                labels=["channel", "type"])
        for (channel, etype), n in sorted(self.tap.snapshot().items()):
            c.add_metric([channel, etype], n)
        yield c

        yield CounterMetricFamily("darkroom_messages_delivered", "Event frames written to clients",
                                  value=stats["messages_delivered"])
        c = CounterMetricFamily("darkroom_client_disconnects", "Clients gone, by reason", labels=["reason"])
        for reason, n in sorted(stats["disconnected"].items()):
            c.add_metric([reason], n)
        yield c
        c = CounterMetricFamily("darkroom_refusals", "What the hub's limits refused, by limit", labels=["limit"])
        for limit, n in sorted(stats["refused"].items()):
            c.add_metric([limit], n)
        yield c
        yield GaugeMetricFamily("darkroom_outbox_high_water_bytes",
                                "Most bytes any client's outbox has held", value=stats["outbox_high_water_bytes"])
        yield GaugeMetricFamily("darkroom_outbox_pending_bytes", "Bytes waiting in client outboxes now",
                                value=sum(_pending(cl) for cl in clients))
        c = CounterMetricFamily("darkroom_replays", "Resumes with since, by result", labels=["result"])
        for result in ("recovered", "not_recovered"):
            c.add_metric([result], stats["replays"].get(result, 0))
        yield c
        yield CounterMetricFamily("darkroom_replayed_events", "Events sent by replays",
                                  value=stats["replays"].get("events", 0))
        yield CounterMetricFamily("darkroom_event_log_failures", "Batches the event log failed to store",
                                  value=stats["log_failures"])
        yield GaugeMetricFamily("darkroom_event_seq", "Newest event sequence number", value=stats["seq"])

        p = self.pipeline_of()
        if p is not None:
            from darkroom.pipeline.jobs import queue

            g = GaugeMetricFamily("darkroom_jobs", "Jobs by state", labels=["state"])
            for state, n in queue.counts(p.db).items():
                g.add_metric([state], n)
            yield g
            yield GaugeMetricFamily("darkroom_imports_pending", "Files waiting to be imported",
                                    value=p.imports.pending())
            yield GaugeMetricFamily("darkroom_workers", "Develop worker threads", value=p.workers.size)


def _pending(client) -> int:
    try:
        return int(client.outbox.pending())
    except Exception:
        return 0


class Metrics:
    def __init__(self, app: Flask):
        runtime = app.extensions["darkroom"]
        tap = ops.tap(app)
        self.registry = CollectorRegistry(auto_describe=False)
        self.http_requests = Counter("darkroom_http_requests", "HTTP requests by method, route and status",
                                     ["method", "route", "status"], registry=self.registry)
        self.http_seconds = Histogram("darkroom_http_request_duration_seconds",
                                      "HTTP request latency by method and route (WebSocket upgrades excluded)",
                                      ["method", "route"], buckets=HTTP_BUCKETS, registry=self.registry)
        self.append_seconds = Histogram("darkroom_event_log_append_seconds",
                                        "Time to append one batch of events to the event log",
                                        buckets=APPEND_BUCKETS, registry=self.registry)
        self.stage_seconds = Histogram("darkroom_job_stage_duration_seconds",
                                       "Duration of each stage of completed jobs (total: the whole job)",
                                       ["kind", "stage"], buckets=STAGE_BUCKETS, registry=self.registry)
        self.imported = Counter("darkroom_photos_imported", "Photos imported", registry=self.registry)
        self.developed = Counter("darkroom_photos_developed", "Develop jobs completed", registry=self.registry)
        self.replay_seconds = Histogram("darkroom_replay_duration_seconds",
                                        "Time a resuming client took to catch up from the event log",
                                        buckets=REPLAY_BUCKETS, registry=self.registry)
        runtime.hub.replay_observers.append(lambda seconds, _events: self.replay_seconds.observe(seconds))
        self.registry.register(HubCollector(runtime, tap, lambda: app.extensions.get("darkroom_pipeline")))
        tap.observers.append(self._appended)
        tap.stage_observers.append(self._stage)

    def _appended(self, seconds: float, rows) -> None:
        self.append_seconds.observe(seconds)
        for row in rows:
            if row.type == "photo_imported":
                self.imported.inc()

    def _stage(self, kind: str, stage: str, seconds: float) -> None:
        self.stage_seconds.labels(kind, stage).observe(seconds)
        if kind == "develop" and stage == "total":
            self.developed.inc()

    def observe_request(self, response) -> None:
        route = requestlog.route_of()
        self.http_requests.labels(request.method, route, str(response.status_code)).inc()
        if request.headers.get("Upgrade", "").lower() != "websocket" and route != "/events":
            self.http_seconds.labels(request.method, route).observe(requestlog.elapsed())


def init_app(app: Flask) -> Metrics:
    metrics = Metrics(app)
    app.extensions[EXTENSION] = metrics

    @app.after_request
    def _count(response):
        metrics.observe_request(response)
        return response

    @app.get(PATH)
    def prometheus_metrics():
        return Response(generate_latest(metrics.registry), content_type=CONTENT_TYPE_PLAIN_0_0_4,
                        headers={"Cache-Control": "no-store"})

    return metrics
