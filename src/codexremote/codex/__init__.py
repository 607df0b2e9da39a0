"""Bridge to the real ``codex app-server``: transport, dispatcher, supervisor."""
