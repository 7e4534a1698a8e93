"""The built web app (`frontend/dist`) at `/`, with a history fallback for the app's routes.

Hashed build assets are immutable; `index.html` is revalidated so a new build shows at once. The
build writes a brotli (`.br`) and a gzip (`.gz`) copy of every compressible file beside it
(frontend/vite.config.ts): the copy the client's Accept-Encoding prefers is sent as it is, with
`Content-Encoding`, and nothing is compressed per request. The
fallback answers only GET/HEAD of paths that are not the API's, the health check's, the CDN's or the
logos', so a mistyped API path is still a JSON 404 and never the app.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from app.deps import SettingsDep
from app.errors import ApiError, allowed_methods
from app.http_compression import accepted_encodings

router = APIRouter(include_in_schema=False)

# The build's precompressed copies, best first: (Content-Encoding, file suffix).
PRECOMPRESSED = (("br", ".br"), ("gzip", ".gz"))
RESERVED_PREFIXES = ("api", "healthz", "hls/", "static/", "metrics")
_NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>TSTV</title></head>
<body style="background:#0b0f17;color:#e5e7eb;font-family:sans-serif;padding:3rem">
<h1>The web app has not been built</h1><p>Run <code>make run</code> (it builds the app), or
<code>npm ci &amp;&amp; npm run build</code> in <code>frontend/</code>.</p></body></html>"""


def _inside(root: Path, relative: str) -> Path | None:
    """The file `relative` under `root`, or None when it is missing or escapes `root`."""
    try:
        path = (root / relative).resolve()
    except (OSError, ValueError):
        return None
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return None
    return path


def _file(path: Path, request: Request, cache: str, media_type: str | None = None) -> FileResponse:
    """`path`, or its precompressed copy the client accepts best, with `Vary: Accept-Encoding` on
    files that have copies (a shared cache keeps one answer per encoding)."""
    headers = {"Cache-Control": cache}
    copies = [(coding, path.with_name(path.name + suffix)) for coding, suffix in PRECOMPRESSED]
    copies = [(coding, copy) for coding, copy in copies if copy.is_file()]
    if not copies:
        return FileResponse(path, media_type=media_type, headers=headers)
    headers["Vary"] = "Accept-Encoding"
    accepted = accepted_encodings(request.headers.get("accept-encoding", ""))
    for coding, copy in copies:
        if coding in accepted:
            headers["Content-Encoding"] = coding
            # The type is the original's (from its name, or given), never the copy's.
            kind = media_type or mimetypes.guess_type(path.name)[0] or "text/plain"
            return FileResponse(copy, media_type=kind, headers=headers)
    return FileResponse(path, media_type=media_type, headers=headers)


# Every method, so that an unknown path under /api is a 404 whatever the method (with GET and HEAD
# only, any other method of any path met this route's 405).
@router.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
async def web_app(path: str, request: Request, settings: SettingsDep) -> Response:
    if path.startswith(RESERVED_PREFIXES):
        if allowed_methods(request):  # an API path, under a method it does not serve
            raise HTTPException(405)
        raise ApiError(404, "not_found")
    if request.method not in ("GET", "HEAD"):
        raise HTTPException(405, headers={"Allow": "GET, HEAD"})
    root = settings.web_app_dir
    if path.endswith(".map") and settings.tstv_env != "development":
        raise ApiError(404, "not_found")  # source maps only in development
    if path and (found := _inside(root, path)) is not None:
        immutable = path.startswith("assets/")
        cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
        return _file(found, request, cache)
    index = root / "index.html"
    if not index.is_file():
        return HTMLResponse(_NOT_BUILT, status_code=503)
    # Any other path is one of the app's routes (or its not-found page): the app decides.
    return _file(index, request, "no-cache", media_type="text/html")
