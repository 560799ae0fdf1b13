"""``AsyncClient``: Darkroom's event stream over WebSocket, for asyncio programs.

One task keeps the link: connect, ``register``, ``subscribe`` with ``since`` (the
position of the last event seen), then dispatch every message to its handlers.
When the link drops it reconnects with exponential backoff and full jitter (a
random wait in [0, min(max_delay, min_delay * 2**attempt)]; the attempt count
resets once a link stayed up ``stable_after`` seconds) and resumes: the server
replays what was missed (``recovered: true``), or says it cannot (another epoch,
events trimmed) and the ``resync`` handlers run, so the program reloads its
state over HTTP. ``Client`` (``darkroom/client/sync.py``) is the same client on
a thread of its own, for programs without an event loop.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import random
import time
from collections import deque
from typing import Any, Callable, Iterable, Optional

from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from darkroom.client.events import Catalog, Event
from darkroom.client.http import Api, AuthError, ClientError, Token, Unreachable, resolve_token

log = logging.getLogger("darkroom.client")

# Every channel a Darkroom server has (used when the catalogue cannot be read).
CHANNELS = ("jobs", "photos", "sessions", "system", "queue", "approval", "export")
CLIENT_TYPES = ("gui", "mobile", "lightroom", "unknown")


Handler = Callable[[Any], Any]


class ConnectError(ClientError):
    """The first connection failed (the server is down, refused the upgrade, or said nothing)."""


class RequestRefused(ClientError):
    """The server refused a ``subscribe`` or ``unsubscribe`` (``code``: its error code)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{message} ({code})")
        self.code = code


# The replies a request of ours waits for; an ``error`` names the request it refuses.
_REPLIES = ("subscription_confirmed", "unsubscription_confirmed")
_REQUESTS = ("subscribe", "unsubscribe")


def _position(since: Any) -> Optional[dict]:
    """``{"epoch", "seq"}`` from a dict, an ``(epoch, seq)`` pair or ``"epoch:seq"``."""
    if since is None:
        return None
    if isinstance(since, str):
        epoch, _, seq = since.rpartition(":")
        return {"epoch": epoch, "seq": int(seq)}
    if isinstance(since, dict):
        return {"epoch": str(since["epoch"]), "seq": int(since["seq"])}
    epoch, seq = since
    return {"epoch": str(epoch), "seq": int(seq)}


class AsyncClient:
    """A Darkroom client on the running event loop.

    ::

        client = AsyncClient("http://127.0.0.1:5100", channels=["jobs"])
        client.on("job_progress", lambda e: print(e.job_id, e.progress))
        await client.connect()          # returns once subscribed
        ...
        await client.close()

    Handlers may be plain functions or coroutines; they run on the loop, in
    ``seq`` order. ``on("*")`` gets every published event; a server reply type
    (``pong``, ``error``, ``subscription_confirmed``...) gets that reply; the
    client's own ``connected``, ``disconnected``, ``reconnecting``, ``resync``
    and ``closed`` get a dict.
    """

    def __init__(self, url: Optional[str] = None, *, token: Token = None,
                 client_type: Optional[str] = "unknown", client_name: Optional[str] = "python",
                 channels: Optional[Iterable[str]] = None, since: Any = None,
                 snapshot: bool = False, reconnect: bool = True, min_delay: float = 0.5,
                 max_delay: float = 30.0, stable_after: float = 5.0, typed: bool = True,
                 open_timeout: float = 10.0, ping_interval: Optional[float] = 20.0,
                 on_resync: Optional[Handler] = None):
        self.api = Api(url, token)
        self.url = self.api.url
        self.ws_url = self.api.ws_url
        self.token = token
        self.client_type = client_type
        self.client_name = client_name
        self.channels: Optional[list[str]] = list(channels) if channels is not None else None
        self.snapshot = snapshot
        self.reconnect = reconnect
        self.min_delay = min_delay
        self.max_delay = max_delay
        self.stable_after = stable_after
        self.typed = typed
        self.open_timeout = open_timeout
        self.ping_interval = ping_interval
        self.catalog = Catalog()
        self.client_id: Optional[str] = None
        self.server_epoch: Optional[str] = None
        self.attempt = 0
        self.error: Optional[BaseException] = None
        self._position = _position(since)
        self._handlers: dict[str, list[Handler]] = {}
        self._ws: Any = None
        self._task: Optional[asyncio.Task] = None
        self._ready: Optional[asyncio.Future] = None
        self._closing: Optional[asyncio.Event] = None
        self._floor: Optional[int] = None  # this link replays from here: drop what is not after it
        self._awaiting: deque[asyncio.Future] = deque()  # our requests on this link, in order
        self._linked = False
        if on_resync is not None:
            self.on("resync", on_resync)

    # --- handlers ----------------------------------------------------------------------

    def on(self, event_type: str, handler: Optional[Handler] = None):
        """Call ``handler`` for ``event_type`` (``"*"``: every event). Returns a function that
        removes it; without ``handler``, a decorator."""
        if handler is None:
            def decorate(fn: Handler) -> Handler:
                self.on(event_type, fn)
                return fn
            return decorate
        self._handlers.setdefault(event_type, []).append(handler)
        return lambda: self.off(event_type, handler)

    def off(self, event_type: str, handler: Handler) -> None:
        handlers = self._handlers.get(event_type, [])
        if handler in handlers:
            handlers.remove(handler)

    async def _emit(self, name: str, value: Any) -> None:
        for handler in list(self._handlers.get(name, ())):
            try:
                result = handler(value)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("darkroom client: a %r handler failed", name)

    # --- state -------------------------------------------------------------------------

    @property
    def position(self) -> Optional[dict]:
        """``{"epoch", "seq"}`` of the last event received: pass it as ``since`` to resume later."""
        return dict(self._position) if self._position else None

    @property
    def connected(self) -> bool:
        """True while a link is up and subscribed."""
        return self._linked

    @property
    def closed(self) -> bool:
        return self._task is not None and self._task.done()

    # --- life --------------------------------------------------------------------------

    async def connect(self, timeout: Optional[float] = None) -> "AsyncClient":
        """Start, and return once the first subscription is confirmed.

        Raises ``ConnectError`` (or its ``AuthError`` cause for 401/403) when the first
        connection fails; later drops reconnect by themselves (``reconnect=True``).
        """
        if self._task is None:
            loop = asyncio.get_running_loop()
            self._ready = loop.create_future()
            self._closing = asyncio.Event()
            if self.typed:
                await self._load_catalog()
            self._task = asyncio.create_task(self._run(), name="darkroom-client")
        assert self._ready is not None
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), timeout)
        except asyncio.TimeoutError:
            await self.close()
            raise ConnectError(f"no subscription from {self.ws_url} within {timeout} s") from None
        return self

    async def wait(self) -> None:
        """Until the client is closed (``close()``, or a drop with ``reconnect=False``)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def run_forever(self) -> None:
        await self.connect()
        await self.wait()

    async def close(self, code: int = 1000, reason: str = "client closing") -> None:
        """Close the link with ``code`` and stop reconnecting."""
        if self._closing is not None:
            self._closing.set()
        ws = self._ws
        if ws is not None:
            try:
                await ws.close(code, reason)
            except Exception:
                pass
        if self._task is not None and not self._task.done() \
                and self._task is not asyncio.current_task():
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 5)
            except (asyncio.TimeoutError, Exception):
                self._task.cancel()

    async def __aenter__(self) -> "AsyncClient":
        return await self.connect()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # --- requests ----------------------------------------------------------------------

    async def send(self, message: dict) -> None:
        """Send one message now (raises ``ConnectionError`` while offline)."""
        ws = self._ws
        if ws is None:
            raise ConnectionError("not connected")
        await ws.send(json.dumps(message))

    async def subscribe(self, channels: Iterable[str], timeout: Optional[float] = 10.0) -> None:
        """Add channels (remembered for reconnects); returns once the server holds them, so
        an event published after this call is for us. Offline, or called from one of this
        client's handlers, it only sends (the reply comes to the handlers). Raises
        ``RequestRefused`` (the channels are then forgotten) or ``asyncio.TimeoutError``."""
        channels = list(channels)
        before = self._channels()
        self.channels = before + [c for c in channels if c not in before]
        try:
            await self._request({"type": "subscribe", "channels": channels}, timeout)
        except RequestRefused:
            self.channels = before
            raise

    async def unsubscribe(self, channels: Iterable[str], timeout: Optional[float] = 10.0) -> None:
        """Drop channels; returns once the server stopped sending them (as ``subscribe``)."""
        channels = list(channels)
        self.channels = [c for c in self._channels() if c not in channels]
        await self._request({"type": "unsubscribe", "channels": channels}, timeout)

    async def _request(self, message: dict, timeout: Optional[float]) -> None:
        """Send a subscribe or unsubscribe on this link and wait for its reply. The server
        answers a link's requests in order; a link that drops ends the wait, since the
        next link subscribes to the remembered channels anyway."""
        ws = self._ws
        if ws is None:
            return
        if asyncio.current_task() is self._task:  # a handler: the reply is read after it
            await ws.send(json.dumps(message))
            return
        answer = asyncio.get_running_loop().create_future()
        self._awaiting.append(answer)
        try:
            await ws.send(json.dumps(message))
        except ConnectionClosed:
            return
        await asyncio.wait_for(asyncio.shield(answer), timeout)

    def _answer(self, message: dict) -> None:
        """The reply to our oldest request still waiting."""
        if not self._awaiting:
            return  # a request sent with send(), or by a handler
        answer = self._awaiting.popleft()
        if answer.done():
            return
        if message.get("type") == "error":
            answer.set_exception(RequestRefused(str(message.get("code")), str(message.get("error"))))
            answer.exception()  # retrieved: a caller that timed out leaves no warning
        else:
            answer.set_result(message)

    def _end_requests(self) -> None:
        """The link is gone: nobody waits for its replies."""
        while self._awaiting:
            answer = self._awaiting.popleft()
            if not answer.done():
                answer.set_result(None)

    async def register(self, client_type: str, client_name: Optional[str] = None) -> None:
        self.client_type, self.client_name = client_type, client_name
        if self._ws is not None:
            await self.send(self._register_message())

    async def ping(self) -> None:
        await self.send({"type": "ping"})

    def _channels(self) -> list[str]:
        if self.channels is not None:
            return list(self.channels)
        return list(self.catalog.channels or CHANNELS)

    def _register_message(self) -> dict:
        message: dict = {"type": "register", "client_type": self.client_type}
        if self.client_name is not None:
            message["client_name"] = self.client_name
        return message

    async def _load_catalog(self) -> None:
        try:
            body = await asyncio.to_thread(self.api.get, "/websocket/catalog")
            self.catalog = Catalog.from_json(body)
        except ClientError as exc:  # an older server, or none yet: plain events
            log.debug("darkroom client: no catalogue from %s: %s", self.url, exc)

    # --- the link ----------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._ready is not None and self._closing is not None
        try:
            while not self._closing.is_set():
                up_since: Optional[float] = None
                try:
                    ws = await ws_connect(self.ws_url, additional_headers=self._headers(),
                                          open_timeout=self.open_timeout, max_size=2**24,
                                          compression=None, ping_interval=self.ping_interval,
                                          user_agent_header="darkroom-client")
                except InvalidStatus as exc:
                    status = exc.response.status_code
                    error: BaseException = (AuthError(status, "unauthorized",
                                                      "the server refused the token (LAN mode "
                                                      "needs the install's token)")
                                            if status in (401, 403) else
                                            ConnectError(f"{self.ws_url} answered HTTP {status}"))
                    if not self._ready.done() or status in (401, 403):
                        self._fail(error)
                        return
                except (OSError, asyncio.TimeoutError, InvalidHandshake, InvalidURI) as exc:
                    if not self._ready.done():
                        self._fail(Unreachable(f"cannot reach Darkroom at {self.ws_url}: {exc}"))
                        return
                else:
                    up_since = time.monotonic()
                    code, reason = None, ""
                    try:
                        await self._session(ws)
                    except ConnectionClosed as exc:
                        if exc.rcvd is not None:
                            code, reason = exc.rcvd.code, exc.rcvd.reason
                    except (OSError, asyncio.TimeoutError, ValueError) as exc:
                        reason = str(exc)
                    except Exception as exc:  # a bug must not end the client: log, reconnect
                        log.exception("darkroom client: the link failed")
                        reason = repr(exc)
                    finally:
                        self._ws = None
                        self._linked = False
                        self._end_requests()
                        if code is None and ws.close_code is not None:
                            code, reason = ws.close_code, ws.close_reason or reason
                        await ws.close()
                    if not self._ready.done():
                        self._fail(ConnectError(f"{self.ws_url} closed the link before the "
                                                f"subscription was confirmed ({code} {reason})"))
                        return
                    if self._closing.is_set():
                        break
                    await self._emit("disconnected", {"code": code, "reason": reason})
                    if code == 1008:  # policy: the token was rotated or refused
                        self._fail(AuthError(401, "unauthorized", f"closed by the server: {reason}"))
                        return
                if not self.reconnect or self._closing.is_set():
                    break
                if up_since is not None and time.monotonic() - up_since >= self.stable_after:
                    self.attempt = 0
                self.attempt += 1
                delay = random.uniform(0, min(self.max_delay,
                                              self.min_delay * 2 ** min(self.attempt - 1, 30)))
                await self._emit("reconnecting", {"attempt": self.attempt, "delay": delay})
                try:
                    await asyncio.wait_for(self._closing.wait(), delay)
                except asyncio.TimeoutError:
                    pass
        finally:
            await self._emit("closed", {"error": self.error})

    def _fail(self, error: BaseException) -> None:
        self.error = error
        assert self._ready is not None
        if not self._ready.done():
            self._ready.set_exception(error)
            self._ready.exception()  # retrieved: no "never retrieved" warning if nobody waits

    def _headers(self) -> dict:
        token = resolve_token(self.token)
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def _session(self, ws) -> None:
        """One link: the welcome, register, subscribe with ``since``, then every message."""
        welcome = json.loads(await asyncio.wait_for(ws.recv(), self.open_timeout))
        if welcome.get("type") != "connection_established":
            raise ValueError(f"unexpected first message {welcome.get('type')!r}")
        self.client_id = welcome.get("client_id")
        self.server_epoch = welcome.get("epoch")
        since = self._position
        if since is None and welcome.get("epoch") is not None:
            # First link: from the welcome's position, so nothing between it and the
            # subscription is missed.
            since = {"epoch": welcome["epoch"], "seq": int(welcome.get("seq") or 0)}
        self._floor = None
        if self.client_type is not None:
            await ws.send(json.dumps(self._register_message()))
        subscribe: dict = {"type": "subscribe", "channels": self._channels()}
        if since is not None:
            subscribe["since"] = since
        if self.snapshot:
            subscribe["snapshot"] = True
        await ws.send(json.dumps(subscribe))
        self._ws = ws  # requests of ours go after the link's own subscribe
        own_pending = True  # its reply has "recovered" when it had since, else comes first
        async for raw in ws:
            message = json.loads(raw)
            if not isinstance(message, dict):
                continue
            kind = message.get("type")
            if own_pending and kind == "subscription_confirmed" \
                    and (since is None or "recovered" in message):
                own_pending = False
                if since is not None:
                    await self._confirmed(message, since, welcome)
                    continue
            elif kind in _REPLIES or (kind == "error" and message.get("request_type") in _REQUESTS
                                      and not own_pending):
                self._answer(message)
            if "seq" in message and "channel" in message and kind != "connection_established":
                await self._event(message)
            else:
                await self._emit(str(kind), Event(message))
                if kind == "error" and message.get("request_type") in ("subscribe", "register") \
                        and self._ready is not None and not self._ready.done():
                    self._fail(ConnectError(f"the server refused the {message.get('request_type')}: "
                                            f"{message.get('error')} ({message.get('code')})"))
                    assert self._closing is not None
                    self._closing.set()
                    return
                if kind == "subscription_confirmed":
                    self._linked = True
                if kind == "subscription_confirmed" and self._ready is not None \
                        and not self._ready.done():
                    self._ready.set_result(True)
                    await self._emit("connected", {"client_id": self.client_id,
                                                   "epoch": self.server_epoch,
                                                   "recovered": None})

    async def _confirmed(self, message: dict, since: dict, welcome: dict) -> None:
        recovered = bool(message.get("recovered"))
        epoch = message.get("epoch", welcome.get("epoch"))
        seq = int(message.get("seq", welcome.get("seq") or 0))
        first = self._ready is not None and not self._ready.done()
        if recovered:
            self._floor = since["seq"]
            self._position = dict(since)
        else:
            self._position = {"epoch": epoch, "seq": seq}
        self._linked = True
        await self._emit("subscription_confirmed", Event(message))
        if first:
            assert self._ready is not None
            self._ready.set_result(True)
        await self._emit("connected", {"client_id": self.client_id, "epoch": epoch,
                                       "recovered": recovered})
        if not recovered:
            await self._emit("resync", {"reason": "not_recovered", "since": since,
                                        "epoch": epoch, "seq": seq})

    async def _event(self, message: dict) -> None:
        seq = message.get("seq")
        if isinstance(seq, int):
            if self._floor is not None and seq <= self._floor:
                return  # already seen before the link dropped
            position = self._position
            if position is None or seq > position["seq"]:
                self._position = {"epoch": self.server_epoch or (position or {}).get("epoch"),
                                  "seq": seq}
        event = self.catalog.event(message) if self.typed else Event(message)
        await self._emit(str(message.get("type")), event)
        await self._emit("*", event)
