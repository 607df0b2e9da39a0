"""REL-11: our status reads never take index.lock, so a user committing meanwhile never fails."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from codexremote.gitops import git_context
from tests.unit.test_gitops_support import make_repo

# Status reads in the race (T17 asks for 1,000; about 10 s on the 2-core test machine).
STATUS_READS = 1000

# A user committing in a loop with plain git until told to stop; prints its tally as JSON.
COMMITTER = r"""
import json, pathlib, subprocess, sys
repo, stop = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
done, failures = 0, []
while not stop.exists():
    (repo / "counter.txt").write_text(f"{done}\n")
    for args in (["add", "counter.txt"], ["commit", "-q", "-m", f"commit {done}"]):
        result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
        if result.returncode != 0:
            failures.append(result.stderr.strip())
            break
    else:
        done += 1
print(json.dumps({"commits": done, "failures": failures}))
"""


async def test_rel11_status_reads_never_break_a_concurrent_committer(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "untracked.txt").write_text("u")
    stop = tmp_path / "stop"
    committer = subprocess.Popen(
        [sys.executable, "-c", COMMITTER, str(repo), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    errors: list[str] = []
    started = time.monotonic()
    try:
        for _ in range(STATUS_READS):
            try:
                context = await git_context(repo, use_cache=False)
            except Exception as exc:  # counted, reported below
                errors.append(repr(exc))
                continue
            assert context.isRepository and context.untrackedFiles >= 1
    finally:
        elapsed = time.monotonic() - started
        stop.touch()
        out, err = committer.communicate(timeout=30)
    tally = json.loads(out)
    print(f"REL-11: {STATUS_READS} status reads in {elapsed:.1f} s; {tally['commits']} commits")
    assert errors == []
    assert tally["failures"] == [], err
    assert tally["commits"] > 0
