"""Routes of the web pages, their static assets, the npm libraries they use, and local Swagger UI.

- ``/`` citizen (wallet, booth, receipts, results, credentials, mileage, labour), ``/verify`` verifier,
  ``/polls/{id}`` public poll page, ``/auditor`` auditor, ``/buyer`` used-car buyer;
- ``/static/...`` the pages' own modules and CSS (``web/static``);
- ``/vendor/NAME`` an allow-list of files from ``node_modules`` (ethers, canonicalize, qrcode-generator,
  swagger-ui-dist), so the pages and ``/docs`` need no CDN;
- ``/deployment.json`` the server's deployment manifest (addresses, code hashes, ABIs): the default
  trust anchor of the in-browser checks (a verifier may load a manifest of its own instead).

None of these is part of the API's schema (``include_in_schema=False``).
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi import Path as PathParam
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from civic_ledger.api.deps import PlatformDep
from civic_ledger.errors import NotFound
from civic_ledger.platform.compiler import NODE_MODULES
from civic_ledger.platform.deploy import load_manifest

WEB = Path(__file__).parent
PAGES = WEB / "pages"
STATIC = WEB / "static"

#: ``/vendor/NAME`` → file under node_modules (the npm packages pinned in package-lock.json).
VENDOR: dict[str, tuple[str, str]] = {
    "ethers.min.js": ("ethers/dist/ethers.min.js", "text/javascript"),
    "canonicalize.js": ("canonicalize/lib/canonicalize.js", "text/javascript"),
    "qrcode.mjs": ("qrcode-generator/dist/qrcode.mjs", "text/javascript"),
    "swagger-ui-bundle.js": ("swagger-ui-dist/swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": ("swagger-ui-dist/swagger-ui.css", "text/css"),
    "swagger-favicon.png": ("swagger-ui-dist/favicon-32x32.png", "image/png"),
}

#: path → page file
PAGE_FILES = {
    "/": "citizen.html",
    "/verify": "verifier.html",
    "/auditor": "auditor.html",
    "/buyer": "buyer.html",
}

router = APIRouter(include_in_schema=False)


def render_page(name: str) -> str:
    """``pages/NAME`` inside the one layout (``pages/_layout.html``: head, import map, navigation, the
    trust panel and status line, the page's own module). A page file is its ``<main>`` content,
    its first line ``<!-- title: … -->``."""
    text = (PAGES / name).read_text(encoding="utf-8")
    first, _, body = text.partition("\n")
    title = first.removeprefix("<!-- title:").removesuffix("-->").strip()
    page = name.removesuffix(".html")
    layout = (PAGES / "_layout.html").read_text(encoding="utf-8")
    head, _, tail = layout.partition("$body")
    fill = {"$title": html.escape(title), "$page": page}
    for key, value in fill.items():
        head, tail = head.replace(key, value), tail.replace(key, value)
    return head + body + tail


def _page(name: str) -> HTMLResponse:
    return HTMLResponse(render_page(name), headers={"Cache-Control": "no-cache"})


def _page_route(path: str, name: str) -> None:
    def page() -> HTMLResponse:
        return _page(name)

    router.add_api_route(path, page, methods=["GET"], response_class=HTMLResponse, name=f"page {name}")


for _path, _name in PAGE_FILES.items():
    _page_route(_path, _name)


@router.get("/polls/{poll_id}", response_class=HTMLResponse)
def poll_page(poll_id: int = PathParam(ge=1, le=2**64)) -> HTMLResponse:
    """The public page of one poll (the page reads the id from its URL)."""
    return _page("poll.html")


@router.get("/deployment.json")
def deployment_manifest(platform: PlatformDep) -> JSONResponse:
    """The server's deployment manifest, as written at deployment (with every contract's ABI)."""
    manifest = load_manifest(platform.deployment.manifest_path)
    if manifest is None:
        raise NotFound("no deployment manifest is written in this server's data directory", code="no_manifest")
    return JSONResponse(manifest, headers={"Cache-Control": "no-cache"})


@router.get("/vendor/{name}")
def vendor(name: str) -> Response:
    """A file of an npm package the pages use, from node_modules (run `npm install` if it is missing)."""
    if name not in VENDOR:
        raise NotFound(f"/vendor/{name} is not one of the served libraries: {', '.join(sorted(VENDOR))}")
    rel, media = VENDOR[name]
    path = NODE_MODULES / rel
    if not path.is_file():
        raise NotFound(f"{rel} is missing from node_modules: run `npm install` (or `make install`)", code="no_asset")
    return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=3600"})


def docs_page() -> HTMLResponse:
    """Swagger UI with its assets from this server (FastAPI's default loads them from a CDN)."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="civic-ledger API",
        swagger_js_url="/vendor/swagger-ui-bundle.js",
        swagger_css_url="/vendor/swagger-ui.css",
        swagger_favicon_url="/vendor/swagger-favicon.png",
    )


def install_web(app: FastAPI) -> None:
    """Mount the pages, their static files, the vendored libraries and a local ``/docs``."""
    app.include_router(router)
    app.add_api_route("/docs", docs_page, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="web-static")
