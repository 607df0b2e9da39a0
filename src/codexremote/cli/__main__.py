"""``python -m codexremote.cli``: what the tests and scripts run."""

from __future__ import annotations

from codexremote.cli.main import main

raise SystemExit(main())
