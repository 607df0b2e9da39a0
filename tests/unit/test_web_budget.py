"""Transfer budget of the web client (issue 10): what the service worker precaches
must stay under 150 KB gzip (this test fails the build past it); the first
screen's size is measured and printed (target < 60 KB gzip), never asserted.

Sizes are the bytes the companion really sends: the precompressed gzip body for
text types, the file itself for png and other compressed formats.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

import pytest

from codexremote.web_shell import WEB_DIR, ShellAssets, load_shell

PRECACHE_BUDGET_BYTES = 150 * 1024
FIRST_SCREEN_TARGET_BYTES = 60 * 1024
STATIC_IMPORT = re.compile(r"""^\s*(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']""", re.M)
BARE_IMPORT = re.compile(r"""^\s*import\s*["']([^"']+)["']""", re.M)
SHELL_REF = re.compile(r"""(?:href|src)="/app/[0-9a-f]+/([^"]+)\"""")


def module_graph(shell: ShellAssets, entry: str) -> list[str]:
    """``entry`` and every module it imports statically (what loads before first paint;
    ``import()`` is lazy and left out)."""
    seen: list[str] = []
    todo = [entry]
    while todo:
        rel = todo.pop()
        if rel in seen or rel not in shell.files:
            continue
        seen.append(rel)
        text = shell.files[rel].body.decode("utf-8", "replace")
        for spec in STATIC_IMPORT.findall(text) + BARE_IMPORT.findall(text):
            if spec.startswith("."):
                base = PurePosixPath(rel).parent
                parts: list[str] = []
                for part in (base / spec).parts:
                    if part == "..":
                        parts.pop()
                    elif part != ".":
                        parts.append(part)
                todo.append("/".join(parts))
    return seen


def first_screen(shell: ShellAssets) -> list[str]:
    """URLs the first screen needs: the document, what it links (styles, scripts,
    icons), the static module graph of its scripts, and the manifest."""
    assert shell.index is not None
    html = shell.index.body.decode()
    linked = SHELL_REF.findall(html)
    files: list[str] = []
    for rel in linked:
        for found in module_graph(shell, rel) if rel.endswith(".js") else [rel]:
            if found not in files and found in shell.files:
                files.append(found)
    urls = ["/", *(shell.versioned_url(rel) for rel in files)]
    if shell.manifest is not None:
        urls.append("/manifest.webmanifest")
    return urls


@pytest.fixture(scope="module")
def shell() -> ShellAssets:
    loaded = load_shell(WEB_DIR)
    assert loaded.index is not None, "web/index.html is missing"
    assert loaded.service_worker is not None, "web/sw.js is missing"
    return loaded


def test_precache_stays_under_150_kb_gzip(
    shell: ShellAssets, capsys: pytest.CaptureFixture[str]
) -> None:
    total = shell.precache_gzip_bytes()
    first = first_screen(shell)
    first_bytes = shell.gzip_bytes_of(first)
    with capsys.disabled():
        print(
            f"\nweb budget: precache {len(shell.precache)} files {total / 1024:.1f} KB gzip "
            f"(budget {PRECACHE_BUDGET_BYTES // 1024} KB); first screen {len(first)} files "
            f"{first_bytes / 1024:.1f} KB gzip (target {FIRST_SCREEN_TARGET_BYTES // 1024} KB); "
            f"raw shell {shell.figures.raw_bytes / 1024:.1f} KB, loaded in "
            f"{shell.figures.load_ms:.1f} ms"
        )
    assert total <= PRECACHE_BUDGET_BYTES, (
        f"the service worker precaches {total} bytes gzip, over the "
        f"{PRECACHE_BUDGET_BYTES} budget: {largest(shell)}"
    )


def largest(shell: ShellAssets) -> list[tuple[str, int]]:
    sizes = [(url, shell.gzip_bytes_of([url])) for url in shell.precache]
    return sorted(sizes, key=lambda item: -item[1])[:8]


def test_first_screen_is_within_the_precache(shell: ShellAssets) -> None:
    """Everything the first screen loads is precached, so a home-screen launch
    paints from the service worker cache alone, offline too."""
    missing = [url for url in first_screen(shell) if url not in shell.precache]
    assert missing == []


def test_module_graph_follows_relative_imports(shell: ShellAssets) -> None:
    graph = module_graph(shell, "app.js")
    assert graph[0] == "app.js" and "lib/dom.js" in graph
