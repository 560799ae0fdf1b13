"""One adapter module per wire a client can use to follow the hub (see ``realtime/transport.py``)."""
