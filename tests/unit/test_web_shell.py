"""Serving the web shell (docs/web-client.md "Serving"; SEC-12 CSP, SEC-15 paths).

Two kinds of tests: the mechanism against a shell written into tmp_path (every
case the real files may not show: traversal, dot-files, symlinks, unknown
versions), and the package's real ``web/`` files as shipped.
"""

from __future__ import annotations

import gzip
import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

from codexremote.api.security import CSP
from codexremote.api.web import accepts_gzip, shell_csp
from codexremote.app import Services, build_services, create_app
from codexremote.settings import Settings
from codexremote.web_shell import WEB_DIR, load_shell, shell_version
from tests.harness.processes import fake_app_server_launcher

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

PORT = 8787
BASE_URL = f"http://127.0.0.1:{PORT}"
TAILNET = "mac.tail1234.ts.net"

INDEX = """<!doctype html><html><head>
<link rel="stylesheet" href="/app/__SHELL_VERSION__/app.css">
<link rel="manifest" href="/manifest.webmanifest">
<script type="module" src="/app/__SHELL_VERSION__/app.js"></script>
</head><body><main>shell __SHELL_VERSION__</main></body></html>
"""
SW = 'const VERSION = "__SHELL_VERSION__";\nconst FILES = /*__SHELL_FILES__*/[];\n'
MANIFEST = '{"name": "Codex", "icons": [{"src": "/app/__SHELL_VERSION__/icons/icon-192.png"}]}'


def write_shell(root: Path) -> Path:
    files = {
        "index.html": INDEX,
        "sw.js": SW,
        "manifest.webmanifest": MANIFEST,
        "app.css": "body { margin: 0; }\n" * 50,
        "app.js": 'import { h } from "./lib/dom.js";\n' + "// filler\n" * 100,
        "lib/dom.js": "export function h() {}\n",
        "vendor/MANIFEST.json": '{"libs": []}',
        "vendor/LICENSE-x.txt": "MIT\n",
        ".secret": "nope",
        ".hidden/inner.js": "nope",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "icons").mkdir()
    (root / "icons" / "icon-192.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    outside = root.parent / "outside.js"
    outside.write_text("secret")
    (root / "link.js").symlink_to(outside)
    return root


def make_client(tmp_path: Path, web_dir: Path | None) -> tuple[FastAPI, Services]:
    settings = Settings(
        port=PORT,
        state_dir=tmp_path / "state",
        codex_home=tmp_path / "codex_home",
        confirmer="socket",
        allowed_hosts=[TAILNET],
    )
    services = build_services(settings, launcher=fake_app_server_launcher())
    services.shell = load_shell(web_dir) if web_dir is not None else None
    return create_app(services), services


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Services]]:
    app, services = make_client(tmp_path, write_shell(tmp_path / "web"))
    with TestClient(app, base_url=BASE_URL) as test_client:
        yield test_client, services


def test_index_is_templated_no_cache_with_the_shell_csp(
    client: tuple[TestClient, Services],
) -> None:
    http, services = client
    assert services.shell is not None
    version = services.shell.version
    response = http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert "__SHELL_VERSION__" not in response.text
    assert f'src="/app/{version}/app.js"' in response.text
    csp = response.headers.get_list("content-security-policy")
    assert csp == [shell_csp("http", f"127.0.0.1:{PORT}")], "exactly one CSP, the shell's"
    assert f"connect-src 'self' ws://127.0.0.1:{PORT};" in csp[0]
    for directive in ("script-src 'self'", "object-src 'none'", "frame-ancestors 'none'"):
        assert directive in csp[0]
    assert "unsafe-inline" not in csp[0] and "unsafe-eval" not in csp[0]
    assert "require-trusted-types-for 'script'" in csp[0]
    assert "trusted-types codexremote-markdown codexremote-sw dompurify" in csp[0]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    ("host", "ws"),
    [
        (f"localhost:{PORT}", f"ws://localhost:{PORT}"),
        (TAILNET, f"ws://{TAILNET}"),
        (f"[::1]:{PORT}", f"ws://[::1]:{PORT}"),
    ],
)
def test_sec12_shell_csp_names_the_requests_own_ws_origin(
    client: tuple[TestClient, Services], host: str, ws: str
) -> None:
    http, _ = client
    response = http.get("/", headers={"Host": host})
    assert response.status_code == 200
    assert f"connect-src 'self' {ws};" in response.headers["content-security-policy"]


def test_sec12_shell_csp_never_names_a_host_off_the_allowlist(
    client: tuple[TestClient, Services],
) -> None:
    http, _ = client
    response = http.get("/", headers={"Host": "evil.example"})
    assert response.status_code == 421  # the Perimeter answers before the shell
    assert "evil" not in response.headers["content-security-policy"]


def test_shell_csp_is_wss_under_tls() -> None:
    assert "connect-src 'self' wss://mac.ts.net:8443;" in shell_csp("https", "mac.ts.net:8443")


def test_shell_csp_is_wss_behind_the_https_tailnet_proxy(
    client: tuple[TestClient, Services],
) -> None:
    """`serve --tailscale`: the page is https on the proxy, we serve http behind it."""
    http, _ = client
    response = http.get("/", headers={"Host": f"127.0.0.1:{PORT}", "X-Forwarded-Proto": "https"})
    assert (
        f"connect-src 'self' wss://127.0.0.1:{PORT};" in response.headers["content-security-policy"]
    )


def test_api_responses_keep_the_api_csp(client: tuple[TestClient, Services]) -> None:
    http, _ = client
    response = http.get("/health")
    assert response.headers.get_list("content-security-policy") == [CSP]


def test_service_worker_gets_version_and_precache_list(
    client: tuple[TestClient, Services],
) -> None:
    http, services = client
    assert services.shell is not None
    version = services.shell.version
    response = http.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    match = re.search(r"const FILES = (\[.*\]);", response.text)
    assert match is not None and f'"{version}"' in response.text
    files = json.loads(match.group(1))
    assert files == services.shell.precache
    assert files[:2] == ["/", "/manifest.webmanifest"]
    assert f"/app/{version}/app.js" in files and f"/app/{version}/icons/icon-192.png" in files
    # Licence texts and the vendor manifest ship but are not fetched by the page.
    assert not [f for f in files if "LICENSE" in f or "MANIFEST" in f or "/." in f]
    for url in files:  # every precached URL is servable
        assert http.get(url).status_code == 200, url


def test_manifest_type_and_icon_urls(client: tuple[TestClient, Services]) -> None:
    http, services = client
    assert services.shell is not None
    response = http.get("/manifest.webmanifest")
    assert response.headers["content-type"] == "application/manifest+json"
    assert response.headers["cache-control"] == "no-cache"
    icon = response.json()["icons"][0]["src"]
    assert icon == f"/app/{services.shell.version}/icons/icon-192.png"


@pytest.mark.parametrize(
    ("rel", "content_type"),
    [
        ("app.js", "text/javascript; charset=utf-8"),
        ("lib/dom.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
        ("icons/icon-192.png", "image/png"),
        ("vendor/MANIFEST.json", "application/json"),
        ("vendor/LICENSE-x.txt", "text/plain; charset=utf-8"),
    ],
)
def test_versioned_assets_are_immutable_with_their_type(
    client: tuple[TestClient, Services], rel: str, content_type: str
) -> None:
    http, services = client
    assert services.shell is not None
    response = http.get(f"/app/{services.shell.version}/{rel}")
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.content == (services.shell.files[rel].body)


def test_text_assets_are_gzipped_when_accepted(client: tuple[TestClient, Services]) -> None:
    http, services = client
    assert services.shell is not None
    url = f"/app/{services.shell.version}/app.js"
    packed = http.get(url, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding"
    assert int(packed.headers["content-length"]) < len(services.shell.files["app.js"].body)
    plain = http.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == packed.content  # httpx decodes the gzip body
    png = http.get(f"/app/{services.shell.version}/icons/icon-192.png")
    assert "content-encoding" not in png.headers  # already compressed formats stay as they are


def test_accept_encoding_parsing() -> None:
    assert accepts_gzip("gzip, deflate, br")
    assert accepts_gzip("br;q=1.0, gzip;q=0.8")
    assert accepts_gzip("*")
    assert not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("br, identity")
    assert not accepts_gzip(None)
    assert not accepts_gzip("gzip;q=nonsense")


def test_revalidation_answers_304(client: tuple[TestClient, Services]) -> None:
    http, _ = client
    first = http.get("/sw.js", headers={"Accept-Encoding": "identity"})
    again = http.get(
        "/sw.js", headers={"Accept-Encoding": "identity", "If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/app/{v}/.secret",
        "/app/{v}/.hidden/inner.js",
        "/app/{v}/../outside.js",
        "/app/{v}/%2e%2e/outside.js",
        "/app/{v}/lib/../../outside.js",
        "/app/{v}/lib%2f..%2f..%2foutside.js",
        "/app/{v}/link.js",  # a symlink out of web/
        "/app/{v}/lib",  # a directory
        "/app/{v}/",
        "/app/{v}",
        "/app/{v}/index.html",  # root-only files are served at their fixed URLs
        "/app/{v}/sw.js",
        "/app/{v}/nope.js",
        "/app/0123456789ab/app.js",  # another version
        "/app//app.js",
        "/app/{v}//etc/passwd",
        "/app/{v}/app.js%00.png",
    ],
)
def test_sec15_traversal_dotfiles_and_unknown_versions_are_404_json(
    client: tuple[TestClient, Services], path: str
) -> None:
    http, services = client
    assert services.shell is not None
    response = http.get(path.replace("{v}", services.shell.version))
    assert response.status_code == 404, (path, response.status_code)
    assert response.json()["code"] == "not_found"
    assert response.headers["cache-control"] == "no-store"
    assert "secret" not in response.text and "nope" not in response.text


def test_head_and_post(client: tuple[TestClient, Services]) -> None:
    http, _ = client
    assert http.head("/").status_code == 200
    post = http.post("/", content=b"{}", headers={"Content-Type": "application/json"})
    assert post.status_code == 405 and post.json()["code"] == "method_not_allowed"


def test_version_is_a_content_hash_of_every_file(tmp_path: Path) -> None:
    root = write_shell(tmp_path / "web")
    first = load_shell(root).version
    assert load_shell(root).version == first
    (root / "lib" / "dom.js").write_text("export function h() { return 1; }\n")
    second = load_shell(root).version
    assert second != first and re.fullmatch(r"[0-9a-f]{12}", second)
    assert shell_version({"a": b"xy"}) != shell_version({"ax": b"y"})  # names and bytes apart


def test_without_a_shell_the_routes_answer_404_json(tmp_path: Path) -> None:
    app, _ = make_client(tmp_path, tmp_path / "empty")
    with TestClient(app, base_url=BASE_URL) as http:
        for path in ("/", "/sw.js", "/manifest.webmanifest"):
            response = http.get(path)
            assert response.status_code == 404, path
            assert response.json() == {
                "error": "The web client is not installed in this build",
                "code": "not_found",
            }


def test_load_figures(tmp_path: Path) -> None:
    shell = load_shell(write_shell(tmp_path / "web"))
    assert shell.figures.files == len(shell.files) + 3
    assert 0 < shell.figures.gzip_bytes < shell.figures.raw_bytes
    assert gzip.decompress(shell.files["app.css"].gzipped or b"") == shell.files["app.css"].body


def test_real_shell_loads_from_the_package() -> None:
    """The package's own web/ (grows as the client is written; see the budget test)."""
    shell = load_shell(WEB_DIR)
    assert "lib/dom.js" in shell.files
    assert shell.files["lib/dom.js"].content_type == "text/javascript; charset=utf-8"


# --------------------------------------------------------- the shipped shell


@pytest.fixture
def real(tmp_path: Path) -> Iterator[tuple[TestClient, Services]]:
    """The app serving the package's own web/ files."""
    app, services = make_client(tmp_path, WEB_DIR)
    with TestClient(app, base_url=BASE_URL) as test_client:
        yield test_client, services


def png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n" and body[12:16] == b"IHDR"
    return int.from_bytes(body[16:20], "big"), int.from_bytes(body[20:24], "big")


def test_sec12_shipped_index_has_no_inline_script_or_style(
    real: tuple[TestClient, Services],
) -> None:
    http, _ = real
    html = http.get("/").text
    assert "__SHELL_VERSION__" not in html
    for script in re.findall(r"<script\b[^>]*>", html, flags=re.I):
        assert re.search(r'\bsrc="/app/[0-9a-f]{12}/', script), script  # no inline script
    assert not re.search(r"<style\b", html, flags=re.I)
    assert not re.search(r"\sstyle\s*=", html, flags=re.I)
    assert not re.search(r"\son[a-z]+\s*=", html, flags=re.I)  # no inline handlers
    assert 'name="viewport"' in html and "viewport-fit=cover" in html


def test_every_url_the_shipped_index_names_is_served(real: tuple[TestClient, Services]) -> None:
    http, services = real
    html = http.get("/").text
    urls = re.findall(r'(?:href|src)="(/[^"]*)"', html)
    assert any(u.endswith(".js") for u in urls) and any(u.endswith(".css") for u in urls)
    for url in urls:
        response = http.get(url)
        assert response.status_code == 200, url
    assert services.shell is not None
    for url in services.shell.precache:  # and everything the service worker precaches
        response = http.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"] != "application/octet-stream", url


def test_shipped_service_worker_is_fully_templated(real: tuple[TestClient, Services]) -> None:
    http, services = real
    sw = http.get("/sw.js")
    assert sw.status_code == 200
    assert "__SHELL_VERSION__" not in sw.text and "/*__SHELL_FILES__*/" not in sw.text
    assert services.shell is not None and services.shell.version in sw.text


def test_shipped_manifest_is_installable(real: tuple[TestClient, Services]) -> None:
    http, services = real
    assert services.shell is not None
    manifest = http.get("/manifest.webmanifest").json()
    assert manifest["display"] == "standalone"
    assert manifest["name"] and manifest["start_url"] == "/" and manifest["theme_color"]
    sizes = set()
    for icon in manifest["icons"]:
        assert icon["type"] == "image/png"
        response = http.get(icon["src"])
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        width, height = png_size(response.content)
        assert icon["sizes"] == f"{width}x{height}", icon
        sizes.add(width)
    assert {192, 512} <= sizes
    html = http.get("/").text
    touch = re.search(r'<link rel="apple-touch-icon"[^>]*href="([^"]+)"', html)
    assert touch is not None
    assert png_size(http.get(touch.group(1)).content) == (180, 180)
