"""Darkroom's Python client: the live event stream over WebSocket, and the HTTP API.

``Client`` (threads) and ``AsyncClient`` (asyncio) connect to a server URL with
an optional token, register, subscribe, call handlers per event type and for
every event (``"*"``), reconnect with backoff and jitter, resume with ``since``
and call ``resync`` handlers when the server cannot replay what was missed.
Events are typed from the server's catalogue (``darkroom.client.events``).

::

    from darkroom.client import Client

    client = Client("http://127.0.0.1:5100", client_type="gui", client_name="my script",
                    channels=["jobs", "photos"])
    client.on("job_progress", lambda e: print(f"job {e.job_id}: {e.progress:.0f}% {e.stage}"))
    client.on("photo_imported", lambda e: print("new photo", e.photo_id, e.file_name))
    client.on("resync", lambda info: print("missed events: reload over HTTP", info))
    client.connect()
    client.wait()  # Ctrl-C to stop
"""

from darkroom.client.aio import CHANNELS, CLIENT_TYPES, AsyncClient, ConnectError, RequestRefused
from darkroom.client.events import Catalog, Event
from darkroom.client.http import DEFAULT_URL, Api, ApiError, AuthError, ClientError, Unreachable, server_urls
from darkroom.client.sync import Client

__all__ = ["Api", "ApiError", "AsyncClient", "AuthError", "CHANNELS", "CLIENT_TYPES", "Catalog",
           "Client", "ClientError", "ConnectError", "DEFAULT_URL", "Event", "RequestRefused",
           "Unreachable", "server_urls"]
