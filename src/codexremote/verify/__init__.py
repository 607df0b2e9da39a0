"""``codexremote verify``: the closed loop against a running companion (issue 12.2).

The eight steps of the seed's closed-loop verification (wire-api.md 11), each
timed and reported PASS/FAIL/SKIP: token through the real pairing path with
local approval, chat, context, git routes in a temporary repository, the
runtime-config round trip, a real message with its stream, the rollout proof
and the visible-desktop proof. A failed step says why; the loop goes on where
it can; the user's ``config.toml`` and repositories are left as they were.
This package is an HTTP *client* of the companion; it shares no code with
``api/``.
"""

from __future__ import annotations

from codexremote.verify.report import Report, StepResult
from codexremote.verify.runner import VerifyOptions, run_verify

__all__ = ["Report", "StepResult", "VerifyOptions", "run_verify"]
