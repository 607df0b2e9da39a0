"""Serving the web client's shell (docs/web-client.md "Serving"): transport only.

* ``/`` (index.html), ``/sw.js`` and ``/manifest.webmanifest`` are ``no-cache`` with
  an ETag, so a reload or the service worker's update check costs a 304 when nothing
  changed; ``/app/<version>/<file>`` is immutable for a year, because its URL changes
  whenever any byte of the shell does. Another version answers 404: a page of an
  old shell must never mix in files of the new one.
* gzip is precompressed at start (``web_shell``) and sent when the client accepts it
  (``Vary: Accept-Encoding``); the API's own JSON is never compressed here.
* The shell's CSP limits ``connect-src`` to our own origin and the ws/wss form of
  the request's Host, which the Perimeter has already checked against the allowlist.
  The Perimeter keeps this CSP instead of adding its API one.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from codexremote.api.common import accepts_gzip
from codexremote.api.security import split_host
from codexremote.errors import NotFound
from codexremote.web_shell import Asset, ShellAssets

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
SHELL_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self' {ws}; worker-src 'self'; manifest-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'; "
    # Trusted Types (Chromium; WebKit ignores them): only lib/markdown.js's policy (and
    # DOMPurify's own) may turn a string into HTML, only sw-client.js's the worker URL;
    # any other innerHTML-style sink throws (SEC-12).
    "require-trusted-types-for 'script'; "
    "trusted-types codexremote-markdown codexremote-sw dompurify"
)
__all__ = ["accepts_gzip", "shell_csp", "web_router"]
MISSING_SHELL = "The web client is not installed in this build"
NOT_FOUND = "Not found"


def shell_csp(scheme: str, host_header: str) -> str:
    """The shell's CSP for one request; ``host_header`` passed the Host allowlist."""
    ws_scheme = "wss" if scheme == "https" else "ws"
    parsed = split_host(host_header)
    if parsed is None:  # unreachable behind the Perimeter; stay strict anyway
        return SHELL_CSP.format(ws="").replace(" ;", ";")
    host, port = parsed
    shown = f"[{host}]" if ":" in host else host
    origin = f"{ws_scheme}://{shown}" + (f":{port}" if port is not None else "")
    return SHELL_CSP.format(ws=origin)


def web_router(shell: ShellAssets, scheme: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def respond(request: Request, asset: Asset | None, cache: str, *, csp: bool) -> Response:
        if asset is None:
            raise NotFound(MISSING_SHELL)
        use_gzip = asset.gzipped is not None and accepts_gzip(
            request.headers.get("accept-encoding")
        )
        headers = {"Cache-Control": cache}
        if asset.gzipped is not None:
            headers["Vary"] = "Accept-Encoding"
        if csp:
            # Behind `tailscale serve` the page is https although we serve http: the
            # proxy says so (the header can only narrow the CSP, never widen it).
            proxied = request.headers.get("x-forwarded-proto", "").lower() == "https"
            page_scheme = "https" if proxied else scheme
            headers["Content-Security-Policy"] = shell_csp(page_scheme, request.headers["host"])
        if cache == REVALIDATE:
            etag = f'"{shell.version}{"-gz" if use_gzip else ""}"'
            headers["ETag"] = etag
            if etag in (request.headers.get("if-none-match") or ""):
                return Response(status_code=304, headers=headers)
        if use_gzip:
            headers["Content-Encoding"] = "gzip"
        body = asset.gzipped if use_gzip and asset.gzipped is not None else asset.body
        return Response(body, media_type=asset.content_type, headers=headers)

    @router.api_route("/", methods=["GET", "HEAD"])
    async def index(request: Request) -> Response:
        return respond(request, shell.index, REVALIDATE, csp=True)

    @router.api_route("/sw.js", methods=["GET", "HEAD"])
    async def service_worker(request: Request) -> Response:
        return respond(request, shell.service_worker, REVALIDATE, csp=True)

    @router.api_route("/manifest.webmanifest", methods=["GET", "HEAD"])
    async def manifest(request: Request) -> Response:
        return respond(request, shell.manifest, REVALIDATE, csp=False)

    @router.api_route("/app/{path:path}", methods=["GET", "HEAD"])
    async def versioned(request: Request, path: str) -> Response:
        version, _, rel = path.partition("/")
        asset = shell.asset(version, rel)
        if asset is None:
            raise NotFound(NOT_FOUND)
        return respond(request, asset, IMMUTABLE, csp=True)

    return router
