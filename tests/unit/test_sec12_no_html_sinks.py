"""SEC-12: agent output is untrusted, so raw HTML has exactly one door.

Every module of the web client builds DOM through ``lib/dom.js`` (text only);
``lib/markdown.js`` alone hands strings to the sanitiser. This test reads every
shipped file of ``web/`` (vendored libraries excepted: they are the sanitiser
and the parser) and fails on any HTML sink or inline handler outside that door.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "src" / "codexremote" / "web"
THE_DOOR = WEB / "lib" / "markdown.js"
SINKS = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|createContextualFragment|document\.write"
    r"|srcdoc|DOMParser|parseHTMLUnsafe|setHTMLUnsafe"
)
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<[^>]*\sstyle\s*=|<style\b", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


def shipped_files(suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(
        p
        for p in WEB.rglob("*")
        if p.is_file() and p.suffix in suffixes and "vendor" not in p.relative_to(WEB).parts
    )


def test_sec12_no_html_sink_outside_markdown_module() -> None:
    files = shipped_files((".js", ".html", ".mjs"))
    assert THE_DOOR in files, "lib/markdown.js must exist: it is the one door for HTML"
    offenders = []
    for path in files:
        if path == THE_DOOR:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if SINKS.search(line):
                offenders.append(f"{path.relative_to(WEB)}:{number}: {line.strip()}")
    assert offenders == []


def test_sec12_markdown_module_sanitises_what_it_parses() -> None:
    text = THE_DOOR.read_text(encoding="utf-8")
    # It may not assign HTML itself either: DOMPurify returns a DOM fragment.
    assert not re.search(r"\.innerHTML\s*=|insertAdjacentHTML|outerHTML\s*=", text)
    assert "RETURN_DOM_FRAGMENT: true" in text
    assert "DOMPurify.sanitize(" in text


def test_sec12_html_has_no_inline_script_style_or_handlers() -> None:
    offenders = []
    for path in shipped_files((".html",)):
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_HANDLER, INLINE_STYLE, INLINE_SCRIPT):
            for match in pattern.finditer(text):
                offenders.append(f"{path.relative_to(WEB)}: {match.group(0)}")
    assert offenders == []


def test_sec12_vendor_manifest_lists_every_vendored_file_with_licence() -> None:
    vendor = WEB / "vendor"
    manifest = json.loads((vendor / "MANIFEST.json").read_text(encoding="utf-8"))
    listed: set[str] = set()
    for lib in manifest["libraries"]:
        assert lib["name"] and lib["version"] and lib["licence"] and lib["source"]
        for name in lib["files"] + lib["licenceFiles"]:
            assert (vendor / name).is_file(), name
            listed.add(name)
        assert lib["licenceFiles"], f"{lib['name']} needs its licence file beside it"
        for name, digest in lib["sha256"].items():
            assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name
    on_disk = {
        str(p.relative_to(vendor))
        for p in vendor.rglob("*")
        if p.is_file() and p.name != "MANIFEST.json"
    }
    assert on_disk == listed
