"""What the server answers a client's requests, the same on every transport.

``/ws`` (a text frame), long polling (``POST /ws/send``'s ``message``) and the
connect URLs (``/ws?channels=``, ``/events?channels=``) all end here: one
parser (protocol.py), one inbound rate, one set of replies, which go back
through ``client.send`` (the transport's framer decides how they look on its wire).
"""

from __future__ import annotations

import logging
from typing import Any, Collection, Optional

from darkroom.realtime import protocol
from darkroom.realtime.hub import CLOSE_POLICY, Client, Hub
from darkroom.realtime.protocol import ProtocolError, Request, reply, utc_timestamp

log = logging.getLogger("darkroom.ws")

# One line, in connection_established, for a client that asked for no channel.
HINT = ('you are subscribed to nothing: send {"type":"subscribe","channels":["jobs","photos"]} '
        "(or connect with ?channels=jobs,photos) to receive events")


def greet(hub: Hub, client: Client, subscribing: bool) -> None:
    """``connection_established``; with the ``hint`` when no subscription is on its way."""
    fields: dict[str, Any] = dict(client_id=client.id, server_time=utc_timestamp(),
                                  protocol_version=protocol.PROTOCOL_VERSION,
                                  heartbeat_interval=hub.config.ping_interval,
                                  epoch=hub.epoch, seq=hub.seq)
    if not subscribing and not client.channels:
        fields["hint"] = HINT
    client.send(reply("connection_established", **fields))


def admitted(hub: Hub, client: Client) -> bool:
    """Whether one more message fits the client's inbound rate (one error per streak)."""
    transport = client.transport
    if transport.admit():
        return True
    hub.refused["rate_limited"] += 1
    if transport.inbound.refused == 1:  # one answer per streak, not one per message
        client.send(protocol.error_message(ProtocolError(
            "rate_limited", f"more than {hub.config.inbound_rate:g} messages a second: "
                            "slow down or be disconnected")))
    return False


def parse(hub: Hub, client: Client, message: Any, channels: Collection[str],
          decoded: bool = False) -> Optional[Request]:
    """The validated request, or None after sending the client its ``error``."""
    try:
        if decoded:
            return protocol.parse_message(message, channels, hub.config.max_subscribe_channels)
        return protocol.parse(message, channels, hub.config.max_subscribe_channels)
    except ProtocolError as err:
        if err.code == "too_many_channels":
            hub.refused["too_many_channels"] += 1
        client.send(protocol.error_message(err))
        return None


def apply(hub: Hub, client: Client, req: Request, quiet: bool = False,
          position: bool = False) -> None:
    """Carry out one request; ``quiet`` registers without a reply (a connect URL's)."""
    if req.type == "ping":
        client.last_ping = utc_timestamp()
        client.send(reply("pong"))
    elif req.type == "register":
        client.client_type = req.client_type
        if req.client_name is not None:
            client.client_name = req.client_name
        if not quiet:
            client.send(reply("registration_confirmed", client_id=client.id,
                              client_type=client.client_type, client_name=client.client_name))
        log.info("client registered", extra={"client_id": client.id,
                                             "client_type": client.client_type})
    elif req.type == "subscribe":
        # Subscriptions change, and are confirmed, in publish order (see Hub.subscribe).
        hub.subscribe(client, req.channels, since=req.since, snapshot=req.snapshot,
                      position=position)
    else:
        hub.unsubscribe(client, req.channels)


def answer(hub: Hub, client: Client, message: Any, channels: Collection[str],
           decoded: bool = False) -> None:
    """Rate, parse and carry out one message from the client."""
    if not admitted(hub, client):
        return
    req = parse(hub, client, message, channels, decoded)
    if req is not None:
        apply(hub, client, req)


def on_flood(hub: Hub, client: Client):
    """What a transport calls once a client floods past a whole burst of refusals."""
    return lambda: hub.kick(client, "rate_limited", CLOSE_POLICY)
