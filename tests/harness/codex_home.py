"""A hermetic CODEX_HOME pointing codex at the fake model.

``make_codex_home`` writes ``config.toml`` per docs/codex-app-server.md section 1:
a custom ``fake`` provider on loopback, no retries, plugins/analytics/update
checks off (so codex attempts no network traffic besides the fake model), and
our own one-entry model catalog (so ``apply_patch`` is offered and MCP tools are
listed directly instead of behind ``tool_search``). ``codex_env`` is the minimal
environment to spawn codex with.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from tests.harness.model_scripts import MCP_SERVER

MODEL_SLUG = "fake-model"
MCP_DEMO_SCRIPT = Path(__file__).with_name("mcp_demo_server.py")
MCP_DEMO_ROOT_NAME = "mcp-demo"  # under CODEX_HOME: where the demo `touch` tool writes
STREAM_IDLE_TIMEOUT_MS = 30_000  # slow-answer pauses are far shorter
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"

CATALOG_ENTRY: dict[str, Any] = {
    "slug": MODEL_SLUG,
    "display_name": "Fake Model",
    "description": "test",
    "default_reasoning_level": "medium",
    "supported_reasoning_levels": [
        {"effort": "low", "description": "l"},
        {"effort": "medium", "description": "m"},
    ],
    "shell_type": "unified_exec",  # tools exec_command + write_stdin
    "visibility": "list",
    "supported_in_api": True,
    "priority": 1,
    "base_instructions": "You are a test agent.",
    "apply_patch_tool_type": "freeform",  # custom tool apply_patch
    "supports_search_tool": False,  # MCP tools listed directly, no tool_search
    "context_window": 2_000_000,  # with tiny fake usage: never auto-compacts
    "truncation_policy": {"mode": "tokens", "limit": 10000},
    "input_modalities": ["text"],
    "support_verbosity": False,
    "experimental_supported_tools": [],
}


def _toml_str(value: str | Path) -> str:
    """A TOML basic string (JSON string escaping is a valid subset)."""
    return json.dumps(str(value))


def mcp_demo_root(codex_home: Path) -> Path:
    """Directory in which the demo MCP server's ``touch`` tool creates files."""
    return codex_home / MCP_DEMO_ROOT_NAME


def make_codex_home(
    root: Path,
    model_base_url: str,
    *,
    approval_policy: str = "on-request",
    sandbox_mode: str = "read-only",
    mcp_demo: bool = True,
) -> Path:
    """Create ``root`` (if needed) as a CODEX_HOME configured for the fake model."""
    root.mkdir(parents=True, exist_ok=True)
    catalog = root / "fake_catalog.json"
    catalog.write_text(json.dumps({"models": [CATALOG_ENTRY]}, indent=2))
    lines = [
        f"model = {_toml_str(MODEL_SLUG)}",
        'model_provider = "fake"',
        f"model_catalog_json = {_toml_str(catalog)}",
        f"approval_policy = {_toml_str(approval_policy)}",
        f"sandbox_mode = {_toml_str(sandbox_mode)}",
        "check_for_update_on_startup = false",
        "",
        "[analytics]",
        "enabled = false",
        "",
        "[features]",
        "plugins = false  # else codex runs git ls-remote against github.com",
        "remote_plugin = false",
        "unbounded_connection_retries = false  # else a dead fake model hangs the turn",
        "",
        "[model_providers.fake]",
        'name = "Fake loopback model"',
        f"base_url = {_toml_str(model_base_url)}",
        'wire_api = "responses"',
        "request_max_retries = 0",
        "stream_max_retries = 0",
        f"stream_idle_timeout_ms = {STREAM_IDLE_TIMEOUT_MS}",
    ]
    if mcp_demo:
        demo_root = mcp_demo_root(root)
        demo_root.mkdir(exist_ok=True)
        lines += [
            "",
            f"[mcp_servers.{MCP_SERVER}]",
            f"command = {_toml_str(sys.executable)}",
            f"args = [{_toml_str(MCP_DEMO_SCRIPT)}]",
            f"env = {{ MCP_DEMO_ROOT = {_toml_str(demo_root)} }}",
        ]
    (root / "config.toml").write_text("\n".join(lines) + "\n")
    return root


def codex_env(codex_home: Path, home_dir: Path) -> dict[str, str]:
    """Minimal environment for spawning codex: nothing leaks in from the caller's."""
    home_dir.mkdir(parents=True, exist_ok=True)
    # codex's Linux sandbox (bubblewrap, present wherever webkit2gtk is installed)
    # runs helper binaries it links into CODEX_HOME, and refuses to create them
    # under the temp dir: a CODEX_HOME in pytest's /tmp/... would make every
    # sandboxed command fail ("execvp codex-linux-sandbox"). A private TMPDIR
    # that does not contain CODEX_HOME keeps the sandbox real.
    private_tmp = home_dir / ".tmp"
    private_tmp.mkdir(exist_ok=True)
    return {
        "CODEX_HOME": str(codex_home),
        "HOME": str(home_dir),  # codex snapshots the login shell: keep ~/.bashrc out
        "TMPDIR": str(private_tmp),
        "PATH": os.environ.get("PATH", DEFAULT_PATH),
        "RUST_LOG": "warn",
    }
