"""T1: schemathesis against the companion's own OpenAPI document, over real HTTP.

``run_schema_fuzz(base_url, token, examples)`` loads ``/v1/openapi.json`` from the
served companion and, for every operation, generates ``examples`` positive and
``examples`` negative cases (derandomized, so CI runs are repeatable), sends each
with the valid token and again without one, and runs every schemathesis check
(``not_a_server_error``, status/content-type/header/schema conformance,
``negative_data_rejection``, ``ignored_auth`` ...). It is synchronous (requests):
run it in a thread while the companion's event loop serves.

Failures are collected, not raised, so one run reports them all; the caller
asserts on :class:`FuzzFigures`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance


@dataclass
class FuzzFigures:
    operations: int = 0
    requests: int = 0  # every HTTP request, schemathesis' own auth probes included
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    upstream_errors: list[str] = field(default_factory=list)  # documented relayed 5xx
    failures: list[str] = field(default_factory=list)  # check failures: schema/status/auth
    no_negative: list[str] = field(default_factory=list)  # operations without invalid input

    def distinct_failures(self) -> list[str]:
        """One example per operation, auth variant and failed check."""
        seen: dict[str, str] = {}
        for failure in self.failures:
            seen.setdefault(failure.split(":", 1)[0], failure)
        return list(seen.values())

    def summary(self) -> str:
        return (
            f"{self.operations} operations, {self.requests} requests, "
            f"{len(self.server_errors)} server errors, {len(self.failures)} check failures, "
            f"{len(self.upstream_errors)} documented upstream 5xx, "
            f"{len(self.no_negative)} operations with no invalid input to make, "
            f"statuses {dict(sorted(self.statuses.items()))}"
        )


# Operations whose 400 for schema-valid input depends on the computer's state, which a
# schema cannot say: the directory must exist, the branch too, something must be staged,
# the pairing offer must be live. Every other check still runs on them.
STATE_DEPENDENT = {
    "POST /v1/chats": "cwd must be an existing, readable directory",
    "POST /v1/projects/{project_id}/git/checkout": "git refuses unknown branches (400)",
    "POST /v1/projects/{project_id}/git/commit": "400 when nothing is staged",
    "POST /v1/pairing/confirm": "400 unless the pairing offer is live",
    "GET /v1/stream/events/{seq}": "410 once the event has left the replay buffer",
}


# Operations that relay another server's failure as a documented 502/503/504 (the
# transcription service refuses what is not audio). Those answers are counted apart
# (`upstream_errors`); a 500, or a 5xx the operation does not document, is a server error.
UPSTREAM_5XX = {"POST /v1/dictation/transcribe": ("502", "503", "504")}


def run_schema_fuzz(base_url: str, fresh_token: Callable[[], str], examples: int) -> FuzzFigures:
    """``fresh_token`` gives a valid token per case: a fuzzed ``pairing/revoke`` without
    ``deviceId`` revokes the caller (wire-api.md 3), which must not end the run."""
    figures = FuzzFigures()
    session = requests.Session()

    def count(response: requests.Response, *_args: Any, **_kw: Any) -> None:
        figures.requests += 1
        figures.statuses[response.status_code] += 1
        if response.status_code < 500:
            return
        where = f"{response.request.method} {response.request.url} -> {response.status_code}"
        path = urlsplit(response.request.url or "").path
        relayed = UPSTREAM_5XX.get(f"{response.request.method} {path}", ())
        if str(response.status_code) in relayed:
            figures.upstream_errors.append(where)
        else:
            figures.server_errors.append(where)

    session.hooks["response"].append(count)
    document = session.get(f"{base_url}/v1/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=base_url)
    # Unknown query parameters are ignored on purpose (clients grow additively), and the
    # token is ours to set (valid, then none): schemathesis generates neither.
    schema.config.generation.update(allow_extra_parameters=False, with_security_parameters=False)
    for result in schema.get_all_operations():
        operation = result.ok()
        figures.operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)
            try:
                _fuzz_operation(strategy, session, fresh_token, examples, figures)
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                figures.no_negative.append(operation.label)
    session.close()
    return figures


def _fuzz_operation(
    strategy: st.SearchStrategy[Any],
    session: requests.Session,
    fresh_token: Callable[[], str],
    examples: int,
    figures: FuzzFigures,
) -> None:
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate),  # no shrinking: failures are collected
    )
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        excluded = [positive_data_acceptance] if case.operation.label in STATE_DEPENDENT else []
        if case.operation.label in UPSTREAM_5XX:
            excluded.append(not_a_server_error)  # counted by `count` as upstream answers
        for headers in ({"Authorization": f"Bearer {fresh_token()}"}, None):
            try:
                case.call_and_validate(
                    session=session, headers=headers, excluded_checks=excluded, timeout=30
                )
            except (Exception, BaseExceptionGroup) as exc:  # a check failed: collect it, go on
                who = "token" if headers else "no token"
                checks = [line.strip() for line in str(exc).splitlines() if "- ST" in line]
                figures.failures.append(f"{case.operation.label} ({who}) {checks}: {exc}")

    run()
