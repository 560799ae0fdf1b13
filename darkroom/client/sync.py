"""``Client``: the ``AsyncClient`` on a thread of its own, for programs without an event loop.

Handlers run on the client's thread, one at a time, in ``seq`` order: keep them
short, or hand the work to a queue. Every method is safe to call from any thread.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Iterable, Optional

from darkroom.client.aio import AsyncClient, ConnectError, Handler


class Client:
    """A Darkroom client for threaded code (same options as ``AsyncClient``).

    ::

        with Client("http://127.0.0.1:5100", channels=["jobs"]) as client:
            client.on("job_progress", lambda e: print(e.job_id, e.progress))
            client.wait()           # until Ctrl-C or client.close() from another thread
    """

    def __init__(self, url: Optional[str] = None, **options: Any):
        self._client = AsyncClient(url, **options)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._done = threading.Event()

    # --- what the async client knows -----------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        # url, ws_url, api, catalog, client_id, position, connected, channels, error, ...
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._client, name)

    def on(self, event_type: str, handler: Optional[Handler] = None):
        return self._client.on(event_type, handler)

    def off(self, event_type: str, handler: Handler) -> None:
        self._client.off(event_type, handler)

    # --- life --------------------------------------------------------------------------

    def connect(self, timeout: Optional[float] = 30.0) -> "Client":
        """Start the client's thread; return once subscribed (raises ``ConnectError``)."""
        if self._thread is None:
            ready = threading.Event()

            def run() -> None:
                loop = asyncio.new_event_loop()
                self._loop = loop
                asyncio.set_event_loop(loop)
                ready.set()
                try:
                    loop.run_forever()
                finally:
                    loop.run_until_complete(loop.shutdown_asyncgens())
                    loop.close()
                    self._done.set()

            self._thread = threading.Thread(target=run, name="darkroom-client", daemon=True)
            self._thread.start()
            ready.wait()
        try:
            self._call(self._client.connect(timeout), None)
        except BaseException:
            try:  # let the client's task end before its loop does
                self._call(self._client.close(), 10)
            except Exception:
                pass
            self._stop_loop()
            if self._thread is not None:
                self._thread.join(10)
            raise
        self._call_soon_watch()
        return self

    def _call_soon_watch(self) -> None:
        """Stop the loop when the async client ends by itself (reconnect=False, auth refused)."""
        async def watch() -> None:
            await self._client.wait()
            asyncio.get_running_loop().stop()

        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(watch(), self._loop)

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until the client is closed; False if ``timeout`` passed first. Ctrl-C closes."""
        try:
            return self._done.wait(timeout)
        except KeyboardInterrupt:
            self.close()
            raise

    def run_forever(self) -> None:
        self.connect()
        self.wait()

    def close(self, timeout: float = 10.0) -> None:
        """Close the link (1000) and stop the client's thread."""
        if self._loop is None or self._done.is_set():
            return
        if threading.current_thread() is self._thread:  # from a handler: finish on the loop
            self._loop.create_task(self._client.close())
            return
        try:
            self._call(self._client.close(), timeout)
        except (FutureTimeout, RuntimeError, ConnectError):
            pass
        self._stop_loop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _stop_loop(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)

    def __enter__(self) -> "Client":
        return self.connect()

    def __exit__(self, *exc) -> None:
        self.close()

    # --- requests ----------------------------------------------------------------------

    def _call(self, coro, timeout: Optional[float] = 10.0):
        if self._loop is None:
            coro.close()
            raise ConnectionError("not connected: call connect() first")
        if threading.current_thread() is self._thread:
            raise RuntimeError("a handler cannot wait on the client: use the AsyncClient, "
                               "or call this from another thread")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def send(self, message: dict) -> None:
        self._call(self._client.send(message))

    def subscribe(self, channels: Iterable[str], timeout: float = 10.0) -> None:
        """Add channels; returns once the server holds them (``AsyncClient.subscribe``)."""
        self._call(self._client.subscribe(list(channels), timeout), timeout + 1)

    def unsubscribe(self, channels: Iterable[str], timeout: float = 10.0) -> None:
        self._call(self._client.unsubscribe(list(channels), timeout), timeout + 1)

    def register(self, client_type: str, client_name: Optional[str] = None) -> None:
        self._call(self._client.register(client_type, client_name))

    def ping(self) -> None:
        self._call(self._client.ping())
