"""codex-remote: drive the Codex coding agent on your computer from your phone."""

__version__ = "0.1.0"
