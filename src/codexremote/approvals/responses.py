"""The ``result`` objects app-server expects for each decision (codex 0.169 schema).

The original sent bare strings (wire-api 6.5); the v2 protocol wants objects:

- command / file change: ``{"decision": "accept" | "acceptForSession" | "decline"}``
- permissions: ``{"permissions": <granted profile>, "scope": "turn" | "session"}``
- MCP elicitation: ``{"action": "accept" | "decline", "content": {...}, "_meta": {...}}``
- legacy ``execCommandApproval`` / ``applyPatchApproval``: ``{"decision": ReviewDecision}``

app-server's own session persistence is used where it exists
(``acceptForSession``, ``scope: "session"``, ``_meta.persist: "session"``); the
companion keeps its own record as well (see ``service.py``). Always-allows live
only in the companion's ``approval-preferences.json`` (see ``response_for``).
"""

from __future__ import annotations

from typing import Any

from codexremote.approvals.mapping import (
    COMMAND_APPROVAL,
    FILE_CHANGE_APPROVAL,
    LEGACY_EXEC_APPROVAL,
    LEGACY_PATCH_APPROVAL,
    MCP_ELICITATION,
    PERMISSIONS_APPROVAL,
    meta_of,
)
from codexremote.approvals.types import (
    ALLOW_ALWAYS,
    ALLOW_FOR_SESSION,
    APPROVE,
    DECLINE,
    MatchedAllow,
)

USER_INPUT_REQUEST = "item/tool/requestUserInput"
# Told to the model by legacy approvals when a request is declined.
LEGACY_REJECTION = "The user declined this request."
# Members of a permission profile that app-server accepts back as granted.
GRANTABLE_PERMISSIONS = ("network", "fileSystem")
# The only ``_meta.persist`` value we send (app-server's cache for the loaded thread).
SESSION_PERSIST = "session"


def response_for(method: str, params: dict[str, Any], decision: str) -> Any:
    """The result for one of the four app decisions (already validated)."""
    if method in (COMMAND_APPROVAL, FILE_CHANGE_APPROVAL):
        return {
            "decision": {
                APPROVE: "accept",
                ALLOW_ALWAYS: "accept",  # never offered for these kinds; kept total
                ALLOW_FOR_SESSION: "acceptForSession",
            }.get(decision, "decline")
        }
    if method == PERMISSIONS_APPROVAL:
        if decision == DECLINE:
            return {"permissions": {}, "scope": "turn"}
        scope = "session" if decision == ALLOW_FOR_SESSION else "turn"
        return {"permissions": granted_permissions(params), "scope": scope}
    if method == MCP_ELICITATION:
        if decision == DECLINE:
            return {"action": "decline"}
        result: dict[str, Any] = {"action": "accept", "content": {}}
        # "Always" is never persisted into codex: with ``persist: "always"`` codex
        # writes ``approval_mode = "approve"`` for the tool into the user's
        # config.toml and stops asking, so ``approval-preferences.json`` (and
        # ``approvals forget``) no longer governs the tool. Our store answers
        # each later request instead (an explicit plain accept here).
        if decision == ALLOW_FOR_SESSION and SESSION_PERSIST in offered_persist(params):
            result["_meta"] = {"persist": SESSION_PERSIST}
        return result
    if method in (LEGACY_EXEC_APPROVAL, LEGACY_PATCH_APPROVAL):
        if decision == DECLINE:
            return {"decision": {"denied": {"rejection": LEGACY_REJECTION}}}
        if decision == ALLOW_FOR_SESSION:
            return {"decision": "approved_for_session"}
        return {"decision": "approved"}
    raise ValueError(f"no approval response for method {method}")


def automatic_response(method: str, params: dict[str, Any], matched: MatchedAllow) -> Any:
    """The result when a stored allow answers a request without asking.

    A session allow answers as ``allow_for_session`` would (so app-server's own
    session cache learns it too). An always allow answers with a plain accept:
    persisting into codex's config is left to an explicit user decision.
    """
    decision = ALLOW_FOR_SESSION if matched.scope == "session" else APPROVE
    return response_for(method, params, decision)


def refusal_for(method: str, params: dict[str, Any]) -> Any | None:
    """A "no" for a request nobody can answer (no chat, too many open, unsupported).

    None means we know no result shape: the caller must reject the request
    with a JSON-RPC error instead.
    """
    if method in (
        COMMAND_APPROVAL,
        FILE_CHANGE_APPROVAL,
        PERMISSIONS_APPROVAL,
        MCP_ELICITATION,
        LEGACY_EXEC_APPROVAL,
        LEGACY_PATCH_APPROVAL,
    ):
        return response_for(method, params, DECLINE)
    if method == USER_INPUT_REQUEST:
        return {"answers": {}}  # no phone UI for free-form questions yet: answer nothing
    return None


def granted_permissions(params: dict[str, Any]) -> dict[str, Any]:
    """Grant exactly what was requested (null members left out)."""
    requested = params.get("permissions")
    if not isinstance(requested, dict):
        return {}
    return {
        key: requested[key] for key in GRANTABLE_PERMISSIONS if isinstance(requested.get(key), dict)
    }


def offered_persist(params: dict[str, Any]) -> frozenset[str]:
    """The ``_meta.persist`` options app-server offers (list or single string)."""
    persist = meta_of(params).get("persist")
    if isinstance(persist, str):
        return frozenset({persist})
    if isinstance(persist, list):
        return frozenset(value for value in persist if isinstance(value, str))
    return frozenset()
