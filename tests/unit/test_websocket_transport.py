"""The WebSocket adapter without a server: frames, close detection, and the library's internals."""

from __future__ import annotations

import base64
import os
import socket
import struct

import pytest
import simple_websocket
from wsproto.frame_protocol import FrameProtocol, Opcode

from darkroom.realtime.outbox import Flusher, Outbox
from darkroom.realtime.ratelimit import TokenBucket
from darkroom.realtime.transports import websocket


def parse_server_frames(data: bytes):
    """Decode unmasked server frames as a client would (wsproto's frame parser)."""
    parser = FrameProtocol(client=True, extensions=[])
    parser.receive_bytes(data)
    return list(parser.received_frames())


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_text_frames_of_every_length_class_decode(size):
    payload = ("é" * (size // 2) + "a" * (size % 2)).encode()
    frame = websocket.text_frame(payload)
    assert frame[0] == 0x81 and not frame[1] & 0x80  # FIN text, unmasked
    frames = parse_server_frames(frame)
    assert [f.opcode for f in frames] == [Opcode.TEXT] and frames[0].message_finished
    assert frames[0].payload.encode() == payload


def test_close_frames_are_found_after_other_frames():
    pong = bytes((0x8A, 0x00))
    close = bytes((0x88, 0x02)) + struct.pack("!H", 1000)
    text = websocket.text_frame(b"x" * 300)
    assert websocket.has_close_frame(pong + close)
    assert websocket.has_close_frame(text + close)
    assert not websocket.has_close_frame(text + pong)
    assert not websocket.has_close_frame(websocket.text_frame(bytes((0x88,)) * 10))


@pytest.fixture
def library_socket():
    ours, peer = socket.socketpair()
    flusher = Flusher(stall_timeout=5, on_stalled=lambda _: None)
    flusher.start()
    sock = websocket.LibrarySocket(Outbox(ours, flusher, 1 << 20, lambda _: None),
                                   TokenBucket(1e9, 10**9))
    peer.settimeout(2)
    yield sock, peer
    flusher.stop()
    ours.close()
    peer.close()


def test_after_the_librarys_own_close_frame_nothing_more_is_written(library_socket):
    sock, peer = library_socket
    sock.send(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")  # the handshake is never a frame
    close = bytes((0x88, 0x02)) + struct.pack("!H", 1009)
    sock.send(close)  # simple-websocket closing by itself (here: message too big)
    assert sock.outbox.write([(None, websocket.text_frame(b"late event"))]) is False
    sock.send(bytes((0x8A, 0x00)))  # a late pong from the reader thread
    sock.outbox.shutdown()
    got = b""
    while chunk := peer.recv(65536):
        got += chunk
    assert got == b"HTTP/1.1 101 Switching Protocols\r\n\r\n" + close


def test_pings_answered_before_the_client_is_registered_count_against_its_rate():
    """simple-websocket's reader answers pings from the handshake on, before the handler
    has registered the client: those pongs are rated too, and the flood is acted on once
    the handler is there to act."""
    ours, peer = socket.socketpair()
    flusher = Flusher(stall_timeout=5, on_stalled=lambda _: None)
    flusher.start()
    sock = websocket.LibrarySocket(Outbox(ours, flusher, 1 << 20, lambda _: None),
                                   TokenBucket(0.0, 2))
    pong = bytes((0x8A, 0x00))
    try:
        sock.send(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
        for _ in range(5):
            sock.send(pong)
        floods: list[bool] = []
        sock.on_flood = lambda: floods.append(True)
        assert floods == [True]
        sock.outbox.shutdown()
        got = b""
        peer.settimeout(2)
        while chunk := peer.recv(65536):
            got += chunk
        assert got == b"HTTP/1.1 101 Switching Protocols\r\n\r\n" + pong * 2
    finally:
        flusher.stop()
        ours.close()
        peer.close()


def test_the_simple_websocket_internals_the_adapter_reads_still_exist():
    """Fails when a simple-websocket release renames what ``_wake_handler``, ``_ending``
    and ``_reader_thread`` rely on: then update those three functions."""
    ours, peer = socket.socketpair()
    environ = {"werkzeug.socket": ours, "HTTP_UPGRADE": "websocket", "HTTP_CONNECTION": "Upgrade",
               "HTTP_SEC_WEBSOCKET_KEY": base64.b64encode(os.urandom(16)).decode(),
               "HTTP_SEC_WEBSOCKET_VERSION": "13", "HTTP_HOST": "x", "PATH_INFO": "/ws",
               "REQUEST_METHOD": "GET", "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1"}
    ws = simple_websocket.Server(environ)
    try:
        assert ws.close_reason == websocket.NO_STATUS
        code, pong_received, incoming = websocket._ending(ws)
        assert (code, pong_received, incoming) == (1005, True, 0)
        assert websocket._reader_thread(ws).is_alive()
        websocket._wake_handler(ws)
        assert ws.receive(timeout=0) is None  # woken, nothing received, still connected
        ws.close(1000, "bye")
        assert websocket._reader_thread(ws) is ws.thread
    finally:
        peer.close()
        ours.close()
