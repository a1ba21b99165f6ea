"""The web app for analysts and knowledge engineers: one page (``/``) and its assets (``/web/...``).

Every asset ships in the package (``api/http/web/``): no CDN, no external font, no build step. The page
calls the same ``/v1`` API as every other client, with the API key the person signs in with (kept in the
tab's ``sessionStorage`` only).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from litestar import Controller, Response, get
from litestar.params import FromPath

from core.errors import NotFoundError

WEB = Path(__file__).resolve().parent.parent / "web"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
SECURITY = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                       "script-src 'self'; connect-src 'self'; frame-ancestors 'none'"}


@cache
def _asset(name: str) -> tuple[bytes, str]:
    path = (WEB / name).resolve()
    if path.parent != WEB.resolve() or path.suffix not in TYPES or not path.is_file():
        raise NotFoundError(f"no asset {name!r}")
    return path.read_bytes(), TYPES[path.suffix]


class WebController(Controller):
    """The page and its assets (no key needed: the page asks for one)."""

    path = "/"
    include_in_schema = False

    @get("/", summary="The web app")
    async def page(self) -> Response[bytes]:
        """The single page of the web app."""
        body, media = _asset("index.html")
        return Response(body, media_type=media, headers={**SECURITY, "Cache-Control": "no-cache"})

    @get("/web/{name:str}", summary="A web app asset")
    async def asset(self, name: FromPath[str]) -> Response[bytes]:
        """A script, style sheet or image of the web app (404 for anything else)."""
        body, media = _asset(name)
        return Response(body, media_type=media, headers={**SECURITY, "Cache-Control": "no-cache"})
