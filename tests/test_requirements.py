"""Requirements manifest: every SEC/REL requirement we claim has a test named after it.

IDs from security-reliability.md, plus the project's own (SEC-19, SEC-20 in
docs/connections.md; SEC-21 in docs/app-server.md; SEC-22, REL-15 in docs/push.md;
SEC-23 in docs/tailnet.md; REL-14 in docs/web-client.md; REL-16 in docs/web-dictation.md).
A requirement that does not apply yet says why.
"""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
NOT_YET = {
    "sec17": "fail closed: covered by the sec01 tests (refused bind, --insecure-http warning)",
}
# REL-14 (idempotency keys) is the project's own, defined in docs/web-client.md.
REQUIRED = [f"sec{n:02d}" for n in range(1, 24)] + [f"rel{n:02d}" for n in range(1, 17)]
TEST_NAME = re.compile(r"def test_((?:sec|rel)\d\d)")


def test_every_requirement_has_a_named_test() -> None:
    found = set()
    for path in TESTS.rglob("test_*.py"):
        found.update(TEST_NAME.findall(path.read_text(encoding="utf-8")))
    missing = [rid for rid in REQUIRED if rid not in found and rid not in NOT_YET]
    assert missing == [], f"requirements without a test named after them: {missing}"
