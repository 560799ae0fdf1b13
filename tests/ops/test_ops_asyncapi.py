"""The AsyncAPI 3.0 document: structurally valid, every $ref resolves, every payload is a valid
JSON Schema, every catalogue event is listed on every wire, and real events validate."""

from __future__ import annotations

import jsonschema
import pytest

import websocket_events
from darkroom.web.asyncapi import CLIENT_MESSAGES, SERVER_REPLIES

ACTIONS = {"send", "receive"}


def resolve(doc: dict, ref: str):
    assert ref.startswith("#/"), ref
    node = doc
    for part in ref[2:].split("/"):
        assert part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


@pytest.fixture
def doc(make_server):
    server = make_server(with_pipeline=False)
    doc = server.get("/websocket/asyncapi.json").json()
    doc["_server"] = server
    return doc


def test_document_is_asyncapi_3_and_every_ref_resolves(doc):
    server = doc.pop("_server")
    assert doc["asyncapi"] == "3.0.0"
    assert {"title", "version"} <= set(doc["info"])
    assert set(doc) <= {"asyncapi", "id", "info", "servers", "defaultContentType", "channels", "operations",
                        "components"}
    for ref in refs(doc):
        resolve(doc, ref)
    for name, srv in doc["servers"].items():
        assert {"host", "protocol"} <= set(srv) and srv["host"] == f"127.0.0.1:{server.port}", name
    for name, channel in doc["channels"].items():
        assert channel["address"].startswith("/"), name
    for name, op in doc["operations"].items():
        assert op["action"] in ACTIONS, name
        channel_ref = op["channel"]["$ref"]
        for message in op["messages"]:  # 3.0: an operation's messages are its channel's
            assert message["$ref"].startswith(channel_ref + "/messages/"), (name, message)
    for name, message in doc["components"]["messages"].items():
        jsonschema.Draft202012Validator.check_schema(message["payload"])
        assert message["contentType"] == "application/json", name


def test_every_catalogue_event_is_on_every_wire(doc):
    doc.pop("_server")
    names = {e.name for e in websocket_events.CATALOGUE}
    assert names <= set(doc["components"]["messages"])
    assert {"websocket", "sse", "longpoll"} == set(doc["channels"])
    for wire in ("websocket", "sse", "longpoll"):
        sent = {m["$ref"].rsplit("/", 1)[1] for m in doc["operations"][f"{wire}_send"]["messages"]}
        assert names <= sent, wire
    assert set(CLIENT_MESSAGES) == {m["$ref"].rsplit("/", 1)[1]
                                    for m in doc["operations"]["websocket_receive"]["messages"]}
    for event in websocket_events.CATALOGUE:
        payload = doc["components"]["messages"][event.name]["payload"]
        assert payload["properties"]["type"] == {"const": event.name}
        assert payload["properties"]["channel"] == {"const": event.channel}


def test_real_messages_validate_against_the_document(doc):
    server = doc.pop("_server")
    messages = doc["components"]["messages"]
    client = server.ws()
    jsonschema.validate(client.welcome, messages["connection_established"]["payload"])
    replies = [client.request({"type": "register", "client_type": "gui", "client_name": "doc"},
                              "registration_confirmed"),
               client.request({"type": "subscribe", "channels": ["queue"]}, "subscription_confirmed"),
               client.request({"type": "ping"}, "pong"),
               client.request({"type": "unsubscribe", "channels": ["queue"]}, "unsubscription_confirmed"),
               client.request({"type": "nonsense"}, "error")]
    for reply in replies:
        jsonschema.validate(reply, messages[reply["type"]]["payload"])
    client.subscribe("queue")
    r = server.post("/websocket/broadcast", {"type": "queue_status", "data": {
        "pending": 1, "processing": 0, "completed": 2, "failed": 0}})
    assert r.status_code == 200, r.text
    event = client.recv_type("queue_status")
    jsonschema.validate(event, messages["queue_status"]["payload"])
    assert set(SERVER_REPLIES) >= {reply["type"] for reply in replies}
    client.close()
