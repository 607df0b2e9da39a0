"""From app-server notifications to stream events (the transport lives in api/stream.py)."""
