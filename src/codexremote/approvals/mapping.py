"""Turn an app-server approval request into what the phone shows (wire-api 6.1).

``describe`` is pure: params in, :class:`Draft` out. Summaries are better than
the original's (the command and its directory, the files an edit touches with
+/- counts, the MCP server and tool) but keep its kind/mode/risk vocabulary,
which the iOS app displays.
"""

from __future__ import annotations

import logging
import shlex
from dataclasses import dataclass, field
from typing import Any

from codexremote.approvals.filechanges import (
    FileChangeMemory,
    FileStat,
    edit_summary,
    stats_from_legacy_changes,
)
from codexremote.approvals.fingerprint import mcp_scope_key
from codexremote.approvals.types import (
    ALLOW_ALWAYS,
    ALLOW_FOR_SESSION,
    APPROVE,
    DECLINE,
    ChatForTurn,
    ServerRequest,
)

log = logging.getLogger(__name__)

COMMAND_APPROVAL = "item/commandExecution/requestApproval"
FILE_CHANGE_APPROVAL = "item/fileChange/requestApproval"
PERMISSIONS_APPROVAL = "item/permissions/requestApproval"
MCP_ELICITATION = "mcpServer/elicitation/request"
LEGACY_EXEC_APPROVAL = "execCommandApproval"
LEGACY_PATCH_APPROVAL = "applyPatchApproval"
APPROVAL_METHODS = frozenset(
    {
        COMMAND_APPROVAL,
        FILE_CHANGE_APPROVAL,
        PERMISSIONS_APPROVAL,
        MCP_ELICITATION,
        LEGACY_EXEC_APPROVAL,
        LEGACY_PATCH_APPROVAL,
    }
)
MCP_TOOL_CALL_KIND = "mcp_tool_call"  # _meta.codex_approval_kind of MCP tool approvals

MAX_SUMMARY_CHARS = 2000  # summaries are shown inline on a phone; longer text is cut

DEFAULT_SUMMARY = {
    "command": "Command execution request",
    "fileChange": "File change approval request",
    "mcp": "Allow access to an MCP server request.",
    "permissions": "Additional permissions request",
}


@dataclass(frozen=True, slots=True)
class Draft:
    """Everything about an approval that follows from the request alone."""

    kind: str
    mode: str
    title: str
    summary: str
    risk_level: str
    supports_session_allow: bool
    supports_always_allow: bool
    details: dict[str, Any] = field(default_factory=dict)
    server_name: str | None = None
    scope_key: str | None = None
    # False for real MCP elicitations (a form the user must fill): no allow may
    # answer those automatically.
    auto_acceptable: bool = True

    @property
    def available_decisions(self) -> tuple[str, ...]:
        decisions = [APPROVE, DECLINE]
        if self.supports_session_allow:
            decisions.append(ALLOW_FOR_SESSION)
        if self.supports_always_allow:
            decisions.append(ALLOW_ALWAYS)
        return tuple(decisions)


def text(value: Any) -> str | None:
    """A non-empty trimmed string, else None."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def clip(summary: str) -> str:
    if len(summary) <= MAX_SUMMARY_CHARS:
        return summary
    return summary[: MAX_SUMMARY_CHARS - 1] + "…"


def meta_of(params: dict[str, Any]) -> dict[str, Any]:
    meta = params.get("_meta")
    return meta if isinstance(meta, dict) else {}


def is_mcp_tool_approval(params: dict[str, Any]) -> bool:
    return meta_of(params).get("codex_approval_kind") == MCP_TOOL_CALL_KIND


def chat_of(params: dict[str, Any], chat_for_turn: ChatForTurn | None) -> str | None:
    """``threadId``, else legacy ``conversationId``, else the chat of ``turnId``."""
    for key in ("threadId", "conversationId"):
        value = params.get(key)
        if isinstance(value, str) and value:
            return value
    turn_id = params.get("turnId")
    if isinstance(turn_id, str) and turn_id and chat_for_turn is not None:
        try:
            return chat_for_turn(turn_id)
        except Exception:
            log.exception("chat_for_turn failed")
    return None


def describe(req: ServerRequest, files: FileChangeMemory) -> Draft:
    """The draft for an approval-type request (``req.method in APPROVAL_METHODS``)."""
    params = req.params
    if req.method == COMMAND_APPROVAL:
        return _command(params, text(params.get("command")))
    if req.method == LEGACY_EXEC_APPROVAL:
        argv = params.get("command")
        joined = shlex.join(argv) if isinstance(argv, list) and argv else None
        return _command(params, text(joined))
    if req.method == FILE_CHANGE_APPROVAL:
        return _file_change(params, files.get(params.get("itemId")))
    if req.method == LEGACY_PATCH_APPROVAL:
        return _file_change(params, stats_from_legacy_changes(params.get("fileChanges")))
    if req.method == PERMISSIONS_APPROVAL:
        return _permissions(params)
    if req.method == MCP_ELICITATION:
        if is_mcp_tool_approval(params):
            return _mcp_tool(params)
        return _mcp_elicitation(params)
    raise ValueError(f"not an approval method: {req.method}")


def fallback(req: ServerRequest) -> Draft:
    """Used when ``describe`` fails on odd params: same kind, default text, no always-allow."""
    kind, mode, title = {
        COMMAND_APPROVAL: ("command", "approval", "Command Approval"),
        LEGACY_EXEC_APPROVAL: ("command", "approval", "Command Approval"),
        FILE_CHANGE_APPROVAL: ("fileChange", "approval", "File Change Approval"),
        LEGACY_PATCH_APPROVAL: ("fileChange", "approval", "File Change Approval"),
        PERMISSIONS_APPROVAL: ("mcp", "approval", "Permission Request"),
    }.get(req.method, ("mcp", "mcp_elicitation", "MCP Server Access"))
    elicitation = req.method == MCP_ELICITATION and not is_mcp_tool_approval(req.params)
    return Draft(
        kind=kind,
        mode=mode,
        title=title,
        summary=DEFAULT_SUMMARY["permissions" if req.method == PERMISSIONS_APPROVAL else kind],
        risk_level="high" if kind == "command" else "medium",
        supports_session_allow=not elicitation,
        supports_always_allow=False,
        auto_acceptable=not elicitation,
    )


def _command(params: dict[str, Any], command: str | None) -> Draft:
    cwd = text(params.get("cwd"))
    reason = text(params.get("reason"))
    network = params.get("networkApprovalContext")
    lines: list[str] = []
    if command:
        lines.append(command)
    elif isinstance(network, dict) and text(network.get("host")):
        lines.append(f"Network access to {network['host']} ({network.get('protocol', '?')})")
    else:
        lines.append(DEFAULT_SUMMARY["command"])
    if cwd:
        lines.append(f"in {cwd}")
    if reason:
        lines.append(reason)
    details: dict[str, Any] = {"command": command, "cwd": cwd, "reason": reason}
    for key in ("commandActions", "networkApprovalContext", "proposedExecpolicyAmendment"):
        if params.get(key) is not None:
            details[key] = params[key]
    if text(params.get("kind")):
        details["approvalKind"] = params["kind"]
    return Draft(
        kind="command",
        mode="approval",
        title="Command Approval",
        summary=clip("\n".join(lines)),
        risk_level="high",
        supports_session_allow=True,
        supports_always_allow=False,
        details=details,
    )


def _file_change(params: dict[str, Any], stats: list[FileStat] | None) -> Draft:
    reason = text(params.get("reason"))
    grant_root = text(params.get("grantRoot"))
    if stats:
        summary = edit_summary(stats)
        if reason:
            summary += f"\n{reason}"
    elif reason:
        summary = reason
    elif grant_root:
        summary = f"Allow writes under {grant_root}"
    else:
        summary = DEFAULT_SUMMARY["fileChange"]
    return Draft(
        kind="fileChange",
        mode="approval",
        title="File Change Approval",
        summary=clip(summary),
        risk_level="medium",
        supports_session_allow=True,
        supports_always_allow=False,
        details={
            "files": [stat.to_wire() for stat in stats or []],
            "reason": reason,
            "grantRoot": grant_root,
        },
    )


def _permissions(params: dict[str, Any]) -> Draft:
    """``item/permissions/requestApproval``: extra network / file-system access.

    Kind ``mcp`` and mode ``approval`` as in the original's table (the iOS app
    labels by kind); the title says what it really is.
    """
    requested = params.get("permissions")
    requested = requested if isinstance(requested, dict) else {}
    lines: list[str] = []
    network = requested.get("network")
    if isinstance(network, dict) and network.get("enabled"):
        lines.append("Network access")
    file_system = requested.get("fileSystem")
    if isinstance(file_system, dict):
        for label, key in (("Write", "write"), ("Read", "read")):
            paths = [p for p in file_system.get(key) or [] if isinstance(p, str)]
            if paths:
                lines.append(f"{label}: {', '.join(paths)}")
        entries = file_system.get("entries")
        if isinstance(entries, list) and entries:
            lines.append(f"File-system rules: {len(entries)}")
    reason = text(params.get("reason"))
    if reason:
        lines.append(reason)
    return Draft(
        kind="mcp",
        mode="approval",
        title="Permission Request",
        summary=clip("\n".join(lines) or DEFAULT_SUMMARY["permissions"]),
        risk_level="medium",
        supports_session_allow=True,
        supports_always_allow=False,
        details={"permissions": requested, "cwd": text(params.get("cwd")), "reason": reason},
    )


def _mcp_tool(params: dict[str, Any]) -> Draft:
    """An MCP tool call codex wants approved (``_meta.codex_approval_kind``)."""
    meta = meta_of(params)
    server = text(params.get("serverName"))
    tool = text(meta.get("tool_name"))
    message = text(params.get("message"))
    annotations = meta.get("tool_annotations")
    destructive = isinstance(annotations, dict) and annotations.get("destructiveHint") is True
    lines = [line for line in (server and f"Server: {server}", tool and f"Tool: {tool}") if line]
    if message:
        lines.append(message)
    scope_key = mcp_scope_key(server, tool)
    return Draft(
        kind="mcp",
        mode="mcp_elicitation",
        title="MCP Server Access",
        summary=clip("\n".join(lines) or DEFAULT_SUMMARY["mcp"]),
        risk_level="high" if destructive else "medium",
        supports_session_allow=True,
        supports_always_allow=scope_key is not None,
        details={
            "server": server,
            "tool": tool,
            "toolTitle": text(meta.get("tool_title")),
            "toolDescription": text(meta.get("tool_description")),
            "toolAnnotations": annotations if isinstance(annotations, dict) else None,
            "toolParams": meta.get("tool_params_display", meta.get("tool_params")),
            "message": message,
        },
        server_name=server,
        scope_key=scope_key,
    )


def _mcp_elicitation(params: dict[str, Any]) -> Draft:
    """A real MCP elicitation (the server asks the user something): never auto-accepted."""
    server = text(params.get("serverName"))
    message = text(params.get("message"))
    details: dict[str, Any] = {"server": server, "message": message}
    for key in ("requestedSchema", "url", "elicitationId"):
        if params.get(key) is not None:
            details[key] = params[key]
    if text(params.get("mode")):
        details["elicitationMode"] = params["mode"]
    return Draft(
        kind="mcp",
        mode="mcp_elicitation",
        title="MCP Server Access",
        summary=clip(message or DEFAULT_SUMMARY["mcp"]),
        risk_level="medium",
        supports_session_allow=False,
        supports_always_allow=False,
        details=details,
        server_name=server,
        auto_acceptable=False,
    )
