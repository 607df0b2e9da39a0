"""``codexremote approvals list|forget``: the always-allow entries in the state dir."""

from __future__ import annotations

import argparse

from codexremote.settings import Settings


def list_entries(args: argparse.Namespace, settings: Settings) -> int:
    from codexremote.approvals.cli_commands import approvals_list

    return approvals_list(settings.state_dir)


def forget(args: argparse.Namespace, settings: Settings) -> int:
    from codexremote.approvals.cli_commands import approvals_forget

    return approvals_forget(settings.state_dir, args.key)
