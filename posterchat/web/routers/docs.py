"""The API docs, /docs (Swagger UI) and /redoc, with their scripts served from the installed fastapi-offline package.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so they are blank offline and trust a third party's script.
These load everything from this server, under a Content-Security-Policy that allows nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

router = APIRouter(include_in_schema=False)


def with_csp(page: HTMLResponse) -> HTMLResponse:
    """The page, allowed only this server's files, its own inline scripts (by hash) and inline styles."""
    scripts = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
                       for script in INLINE_SCRIPT.findall(page.body.decode()))
    page.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'self' {scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "font-src 'self' data:; connect-src 'self'; worker-src blob:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'")
    return page


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI."""
    root = request.scope.get("root_path", "")
    return with_csp(get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}", title=f"{request.app.title} - Swagger UI",
        oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT}", swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS}/swagger-ui.css", swagger_favicon_url=f"{root}{ASSETS}/favicon.png"))


@router.get(OAUTH2_REDIRECT)
async def swagger_ui_redirect() -> HTMLResponse:
    """Swagger UI's OAuth2 redirect page."""
    return with_csp(get_swagger_ui_oauth2_redirect_html())


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc."""
    root = request.scope.get("root_path", "")
    return with_csp(get_redoc_html(
        openapi_url=f"{root}{request.app.openapi_url}", title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js", redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
        with_google_fonts=False))


def install(app: FastAPI) -> None:
    """Serve the docs pages and their assets (the app is created with docs_url=None and redoc_url=None)."""
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=str(files("fastapi_offline") / "static")), name="docs-assets")
