"""The web client's files, loaded once at start: version, templating, gzip (no HTTP here).

Why load everything up front: the shell is small (a budget test keeps the precache
under 150 KB gzip), so reading, hashing and compressing it once makes every later
request a dictionary lookup with no disk I/O on the event loop, and the version in
the asset URLs (``/app/<version>/…``) can never disagree with the bytes served
under it. A file changed on disk after start is served only after a restart, which
is exactly what an immutable, versioned URL promises.

* The **version** is a content hash over every shipped file (relative path and
  bytes), so any change to any file gives new URLs and a new service worker.
* ``index.html`` gets ``__SHELL_VERSION__`` replaced; ``sw.js`` also gets
  ``/*__SHELL_FILES__*/[]`` replaced by the JSON list of precached URLs;
  ``manifest.webmanifest`` gets ``__SHELL_VERSION__`` (icon URLs). Every other file
  is served byte for byte.
* Lookups are by exact relative path among the files found at load time: a path
  with ``..``, a dot-file, a directory or anything not shipped simply is not there.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

WEB_DIR = Path(__file__).resolve().parent / "web"
VERSION_MARK = "__SHELL_VERSION__"
FILES_MARK = "/*__SHELL_FILES__*/[]"
VERSION_CHARS = 12  # hex digits of sha256: collisions between two shells are not a concern
GZIP_LEVEL = 9  # once at start, so the smallest output is worth the few milliseconds
MAX_FILE_BYTES = 4 * 1024 * 1024  # a stray large file is left out (and logged by the caller)
ROOT_ONLY = frozenset({"index.html", "sw.js", "manifest.webmanifest"})  # served at fixed URLs
SKIPPED_DIRS = frozenset({"__pycache__", "node_modules"})

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webp": "image/webp",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}
TEXT_PLAIN = "text/plain; charset=utf-8"
OCTET_STREAM = "application/octet-stream"
# Only these are worth gzip: png/woff2/webp are compressed formats already.
COMPRESSIBLE = frozenset({".html", ".js", ".mjs", ".css", ".json", ".webmanifest", ".svg", ".txt"})
# What the service worker precaches: what the app needs at run time. Licence texts
# and the vendor manifest ship with the package but the page never fetches them.
PRECACHED_SUFFIXES = frozenset(
    {".js", ".mjs", ".css", ".json", ".webmanifest", ".svg", ".png", ".ico", ".webp", ".woff2"}
)
NOT_PRECACHED = frozenset({"vendor/MANIFEST.json"})


@dataclass(frozen=True, slots=True)
class Asset:
    """One servable body: identity bytes, the gzip variant when it is smaller."""

    path: str  # relative to web/, POSIX separators
    body: bytes
    gzipped: bytes | None
    content_type: str

    @property
    def gzip_size(self) -> int:
        return len(self.gzipped) if self.gzipped is not None else len(self.body)


@dataclass(frozen=True, slots=True)
class LoadFigures:
    files: int
    raw_bytes: int
    gzip_bytes: int
    load_ms: float


class ShellAssets:
    """The loaded shell. ``index``/``service_worker``/``manifest`` are None when the
    package ships no such file (a checkout before the client exists)."""

    def __init__(
        self,
        version: str,
        files: dict[str, Asset],
        index: Asset | None,
        service_worker: Asset | None,
        manifest: Asset | None,
        precache: list[str],
        figures: LoadFigures,
    ) -> None:
        self.version = version
        self.files = files
        self.index = index
        self.service_worker = service_worker
        self.manifest = manifest
        self.precache = precache
        self.figures = figures

    def asset(self, version: str, path: str) -> Asset | None:
        """A versioned asset; None for another version, a root-only file or no file."""
        if version != self.version or path in ROOT_ONLY:
            return None
        return self.files.get(path)

    def versioned_url(self, path: str) -> str:
        return f"/app/{self.version}/{path}"

    def precache_gzip_bytes(self) -> int:
        """Sum of what the service worker downloads to install (gzip where served so)."""
        return sum(self._by_url(url).gzip_size for url in self.precache)

    def gzip_bytes_of(self, urls: list[str]) -> int:
        return sum(self._by_url(url).gzip_size for url in urls)

    def _by_url(self, url: str) -> Asset:
        if url == "/":
            assert self.index is not None
            return self.index
        if url == "/manifest.webmanifest":
            assert self.manifest is not None
            return self.manifest
        prefix = f"/app/{self.version}/"
        return self.files[url.removeprefix(prefix)]


def content_type_for(path: str) -> str:
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    name = PurePosixPath(path).name.upper()
    if name.startswith(("LICENSE", "LICENCE", "COPYING", "NOTICE")):
        return TEXT_PLAIN
    return OCTET_STREAM


def _shipped_files(root: Path) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    if not root.is_dir():
        return found
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        parts = rel.parts
        if any(part.startswith(".") or part in SKIPPED_DIRS for part in parts):
            continue
        if path.is_symlink() or not path.is_file():
            continue  # a symlink could point anywhere: only real files under web/ ship
        if path.stat().st_size > MAX_FILE_BYTES:
            continue
        found[rel.as_posix()] = path.read_bytes()
    return found


def shell_version(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for rel in sorted(files):
        body = files[rel]
        digest.update(rel.encode() + b"\0" + str(len(body)).encode() + b"\0" + body)
    return digest.hexdigest()[:VERSION_CHARS]


def _asset(path: str, body: bytes) -> Asset:
    gzipped = None
    if PurePosixPath(path).suffix.lower() in COMPRESSIBLE:
        packed = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
        gzipped = packed if len(packed) < len(body) else None
    return Asset(path, body, gzipped, content_type_for(path))


def _precache_list(version: str, files: dict[str, bytes]) -> list[str]:
    urls = ["/"] if "index.html" in files else []
    if "manifest.webmanifest" in files:
        urls.append("/manifest.webmanifest")
    for rel in sorted(files):
        if rel in ROOT_ONLY or rel in NOT_PRECACHED:
            continue
        if PurePosixPath(rel).suffix.lower() in PRECACHED_SUFFIXES:
            urls.append(f"/app/{version}/{rel}")
    return urls


def load_shell(root: Path = WEB_DIR) -> ShellAssets:
    """Read, hash, template and compress the shell (blocking: call before serving)."""
    started = time.perf_counter()
    raw = _shipped_files(root)
    version = shell_version(raw)
    precache = _precache_list(version, raw)
    files = {rel: _asset(rel, body) for rel, body in raw.items() if rel not in ROOT_ONLY}

    def templated(name: str, *, with_files: bool = False) -> Asset | None:
        if name not in raw:
            return None
        text = raw[name].decode("utf-8").replace(VERSION_MARK, version)
        if with_files:
            text = text.replace(FILES_MARK, json.dumps(precache))
        return _asset(name, text.encode("utf-8"))

    index = templated("index.html")
    service_worker = templated("sw.js", with_files=True)
    manifest = templated("manifest.webmanifest")
    every = [*files.values(), *(a for a in (index, service_worker, manifest) if a is not None)]
    figures = LoadFigures(
        files=len(every),
        raw_bytes=sum(len(a.body) for a in every),
        gzip_bytes=sum(a.gzip_size for a in every),
        load_ms=(time.perf_counter() - started) * 1000,
    )
    return ShellAssets(version, files, index, service_worker, manifest, precache, figures)
