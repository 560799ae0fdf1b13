"""A TCP proxy to Redis that loses one reply for real: the command reaches Redis and
runs, then the connection drops before its answer does (a crash or a network cut
at the worst moment).

``lose_next_script_reply()`` arms it: the next successful script call's reply
(an integer, after an EVALSHA) is thrown away and that connection closed. With
``then_refuse=True`` every connection after that is closed at once until
``forward()``, so a test can change Redis before the client gets through again.
"""

from __future__ import annotations

import socket
import threading


class LossyProxy:
    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.lost = threading.Event()  # set once a reply was thrown away
        self.refused = 0  # connections closed at once while refusing
        self._armed = False
        self._then_refuse = False
        self._refusing = False
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, name="lossy-proxy", daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def lose_next_script_reply(self, then_refuse: bool = False) -> None:
        with self._lock:
            self._armed, self._then_refuse = True, then_refuse
            self.lost.clear()

    def forward(self) -> None:
        with self._lock:
            self._refusing = False

    def close(self) -> None:
        self._closing.set()
        self.listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                downstream, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                refusing = self._refusing
            if refusing:
                downstream.close()
                with self._lock:
                    self.refused += 1
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            with self._lock:
                self._sockets += [downstream, upstream]
            pending = {"script": False}
            threading.Thread(target=self._requests, args=(downstream, upstream, pending),
                             daemon=True).start()
            threading.Thread(target=self._replies, args=(upstream, downstream, pending),
                             daemon=True).start()

    def _requests(self, downstream: socket.socket, upstream: socket.socket, pending: dict) -> None:
        try:
            while chunk := downstream.recv(65536):
                if b"EVALSHA" in chunk.upper():
                    pending["script"] = True
                upstream.sendall(chunk)
        except OSError:
            pass
        self._drop(downstream, upstream)

    def _replies(self, upstream: socket.socket, downstream: socket.socket, pending: dict) -> None:
        try:
            while chunk := upstream.recv(65536):
                if pending["script"]:
                    pending["script"] = False
                    with self._lock:
                        lose = self._armed and chunk.startswith(b":")
                        if lose:
                            self._armed = False
                            self._refusing = self._then_refuse
                    if lose:
                        self.lost.set()
                        break
                downstream.sendall(chunk)
        except OSError:
            pass
        self._drop(downstream, upstream)

    @staticmethod
    def _drop(*sockets: socket.socket) -> None:
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
