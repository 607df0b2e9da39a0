"""``codexremote verify``: the closed loop, one line per step, a JSON report, exit 1 on FAIL."""

from __future__ import annotations

import argparse
import asyncio
import logging

from codexremote.settings import Settings


def run(args: argparse.Namespace, settings: Settings) -> int:
    from codexremote.verify import VerifyOptions, run_verify

    # httpx logs every request at INFO: the step lines say what matters.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))

    options = VerifyOptions(
        url=args.url,
        port=settings.port,
        state_dir=settings.state_dir,
        codex_home=settings.codex_home,
        token=args.token,
        start=args.start,
        codex_bin=settings.codex_bin,
        timeout_s=args.timeout,
        desktop_app_name=settings.desktop_app_name,
    )
    report = asyncio.run(run_verify(options))
    path = report.write(settings.state_dir)
    verdict = "passed" if report.passed else "FAILED"
    print(f"verify {verdict}; report: {path}")
    return 0 if report.passed else 1
