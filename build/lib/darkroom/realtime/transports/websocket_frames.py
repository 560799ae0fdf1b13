"""Server-to-client WebSocket frames, encoded once and written as plain bytes.

Frames from a server are never masked (RFC 6455 section 5.1), so the same bytes
can go to every subscriber. permessage-deflate is never negotiated, so no
per-connection compression state stands in the way.
"""

from __future__ import annotations

import struct

_TEXT = 0x81  # FIN + text opcode


def _header(first_byte: int, length: int) -> bytes:
    if length < 126:
        return bytes((first_byte, length))
    if length < 1 << 16:
        return struct.pack("!BBH", first_byte, 126, length)
    return struct.pack("!BBQ", first_byte, 127, length)


def text_frame(payload: bytes) -> bytes:
    """One unfragmented text frame carrying ``payload`` (UTF-8 bytes)."""
    return _header(_TEXT, len(payload)) + payload

