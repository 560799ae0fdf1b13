"""The realtime core: hub, outbox, coalescing, event log, client protocol and transports.

It knows nothing of photos: the events it carries, and which of them are
state, come from the catalogue the app hands the hub (``websocket_events``).
"""
