"""A deliberately badly behaved WebSocket client on a raw socket.

It does the handshake and can send masked frames, but reads only when told
to and never answers pings: a stuck or dead peer, as seen by the server.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct


class RawClient:
    def __init__(self, host: str, port: int, rcvbuf: int = 4096, headers: dict | None = None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(5)
        self.sock.connect((host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET /ws HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(1)  # byte by byte: leave every frame in the kernel
            if not chunk:
                raise ConnectionError("closed during handshake")
            self.buffer += chunk
        self.status = int(self.buffer.split(b" ", 2)[1])
        self.buffer = b""

    def send_json(self, message: dict) -> None:
        payload = json.dumps(message).encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert len(payload) < 126
        self.sock.sendall(bytes((0x81, 0x80 | len(payload))) + mask + masked)

    def read_until_close(self, timeout: float = 10.0) -> tuple[int, list[bytes]]:
        """Read every frame until a close frame; return (close code, text payloads)."""
        self.sock.settimeout(timeout)
        texts: list[bytes] = []
        while True:
            opcode, payload = self._frame()
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                return code, texts
            if opcode == 0x1:
                texts.append(payload)

    def read_texts(self, n: int, timeout: float = 10.0) -> list[dict]:
        """The next ``n`` text messages, decoded (pings and other control frames skipped)."""
        self.sock.settimeout(timeout)
        out: list[dict] = []
        while len(out) < n:
            opcode, payload = self._frame()
            assert opcode != 0x8, f"closed after {len(out)} messages"
            if opcode == 0x1:
                out.append(json.loads(payload))
        return out

    def _frame(self) -> tuple[int, bytes]:
        head = self._read(2)
        opcode, length = head[0] & 0x0F, head[1] & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._read(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._read(8))[0]
        return opcode, self._read(length)

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed without a close frame")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def close(self) -> None:
        self.sock.close()
