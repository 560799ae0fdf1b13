"""The OpenAPI 3.1 document: valid, covers Flask's URL map both ways, and real responses
validate against it (recorded along a real pipeline run, and schemathesis against a live server)."""

from __future__ import annotations

import re

import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from imagegen import write_image
from openapi_spec_validator import validate as validate_spec
from pipeline_support import Recorder, create_session, ok
from schemathesis.checks import content_type_conformance, not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from darkroom.web import openapi

pytestmark = pytest.mark.slow


def documented(doc) -> set[tuple[str, str]]:
    return {(method, path) for path, ops in doc["paths"].items() for method in ops}


def test_document_is_valid_openapi_3_1_and_matches_the_url_map_both_ways(live_server):
    doc = live_server.get("/api/openapi.json").json()
    validate_spec(doc)
    assert doc["openapi"].startswith("3.1")
    routes = openapi.app_operations(live_server.app)
    assert routes - documented(doc) == set(), "routes without documentation"
    assert documented(doc) - routes == set(), "documented operations the app does not have"
    for path, ops in doc["paths"].items():
        for op in ops.values():
            names = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert names == set(re.findall(r"{(\w+)}", path)), path


def test_hub_only_app_documents_what_it_has(make_server):
    server = make_server(with_pipeline=False)
    doc = server.get("/api/openapi.json").json()
    assert documented(doc) == openapi.app_operations(server.app)
    assert ("get", "/api/photos") not in documented(doc) and ("get", "/websocket/stats") in documented(doc)


class Checker:
    """Validates real responses against the document's schema for their operation and status."""

    def __init__(self, server):
        self.server = server
        self.doc = server.get("/api/openapi.json").json()
        self.checked: set[tuple[str, str, str]] = set()
        self.urls = server.app.url_map.bind("127.0.0.1")

    def operation(self, method: str, url_path: str) -> tuple[str, dict]:
        rule, _ = self.urls.match(url_path, method.upper(), return_rule=True)  # Flask's own routing
        path = openapi.openapi_path(rule.rule)
        return path, self.doc["paths"][path][method]

    def __call__(self, method: str, url_path: str, response):
        path, op = self.operation(method, url_path)
        status = str(response.status_code)
        spec = op["responses"].get(status) or op["responses"]["default"]
        media = response.headers.get("Content-Type", "").split(";")[0]
        content = spec.get("content", {})
        assert media in content or "*/*" in content, (method, path, status, media, list(content))
        if media == "application/json":
            schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                      "components": self.doc["components"], **content[media]["schema"]}
            jsonschema.validate(response.json(), schema, cls=jsonschema.Draft202012Validator)
        self.checked.add((method, path, status))
        return response


def test_real_responses_along_a_pipeline_run_validate(live_server, tmp_path):
    check = Checker(live_server)
    s = live_server
    get = lambda path, **kw: check("get", path.split("?")[0], s.get(path, **kw))  # noqa: E731
    post = lambda path, body=None: check("post", path, s.post(path, body))  # noqa: E731
    patch = lambda path, body: check("patch", path, s.patch(path, body))  # noqa: E731

    folder = tmp_path / "shoot"
    folder.mkdir()
    photo_file = write_image(folder / "a.jpg", 160, 120, seed=3)
    rec = Recorder(s, ("jobs",))
    session_id = create_session(s, "Shoot", folder)
    body = ok(post("/import/file", {"file_path": str(photo_file), "session_id": session_id}))
    photo_id = body["photo_id"]
    rec.wait(lambda ev: rec.of("job_completed") or rec.of("job_failed"), what="develop")
    rec.close()
    for path in ["/", "/mobile", "/examples", "/healthz", "/readyz", "/metrics", "/api/openapi.json",
                 "/websocket/asyncapi.json", "/api/sessions", f"/api/sessions/{session_id}", "/api/sessions/424242",
                 "/api/photos", f"/api/photos/{photo_id}", f"/api/photos/{photo_id}/thumbnail",
                 f"/api/photos/{photo_id}/preview", f"/api/photos/{photo_id}/developed",
                 f"/api/photos/{photo_id}/developed/thumbnail", "/api/jobs", "/api/jobs/1", "/api/jobs/424242",
                 "/api/queue", "/api/approval/queue", "/api/exports", "/api/presets", "/api/system",
                 "/api/events?since=0", "/websocket/clients", "/websocket/stats", "/websocket/catalog",
                 "/static/js/realtime.js", "/pair", "/api/photos?limit=abc"]:
        get(path)
    patch(f"/api/sessions/{session_id}", {"name": "Shoot 2"})
    patch("/api/jobs/1", {"priority": 2})
    post("/api/jobs/424242/cancel")
    post("/api/jobs/1/retry")
    post("/api/queue/pause")
    post("/api/queue/resume")
    post(f"/api/sessions/{session_id}/import")
    post("/api/jobs", {"photo_id": photo_id})
    post(f"/api/approval/{photo_id}/approve", {})
    post(f"/api/approval/{photo_id}/reject", {})
    post("/api/export", {"photo_ids": [photo_id], "destination": str(tmp_path / "exports")})
    post("/websocket/broadcast", {"type": "ops_probe", "channel": "system", "data": {}})
    post("/websocket/broadcast", {"type": "job_created", "data": {}})
    post("/websocket/disconnect/nobody")
    post("/api/pairing", {})
    post("/api/sessions", {"name": ""})
    covered = {(m, p) for m, p, _ in check.checked}
    assert len(covered) >= 40, sorted(covered)


def test_schemathesis_against_a_live_server_finds_no_5xx_and_nothing_undocumented(make_server):
    """Generated requests for every operation (schemathesis; its pytest plugin is not used):
    never a 5xx, and every status, content type and JSON body is the documented one."""
    server = make_server(workers=1)
    # Streams and the upgrade never end on their own; static files are not an API.
    schema = schemathesis.openapi.from_url(server.url + "/api/openapi.json").exclude(
        path_regex=r"^/(ws|events|ws/poll|static/.*)$")
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    failures, cases, operations = [], [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            cases.append(case)
            case.call_and_validate(base_url=server.url, checks=checks, timeout=10)

        try:
            run()
        except Exception as exc:  # one report per operation, all of them at the end
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:800]}")
    assert operations >= 40 and len(cases) >= operations
    assert failures == []
