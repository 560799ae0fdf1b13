"""Darkroom: a local photo pipeline whose every step reaches every screen as it happens.

Layers: ``darkroom.realtime`` (hub, outbox, event log, transports) knows
nothing of photos; ``darkroom.web`` serves it (server, security, pages);
``darkroom.pipeline`` does the photo work and publishes through the
``broadcast_*`` helpers of the root module ``websocket_events``.
"""

__version__ = "0.9.0"
