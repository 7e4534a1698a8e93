"""The built web app (`frontend/dist`) at `/`, with a history fallback for the app's routes.

Hashed build assets are immutable; `index.html` is revalidated so a new build shows at once. The
fallback answers only GET/HEAD of paths that are not the API's, the health check's, the CDN's or the
logos', so a mistyped API path is still a JSON 404 and never the app.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from app.deps import SettingsDep
from app.errors import ApiError, allowed_methods

router = APIRouter(include_in_schema=False)

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
    if path and (found := _inside(root, path)) is not None:
        immutable = path.startswith("assets/")
        cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
        return FileResponse(found, headers={"Cache-Control": cache})
    index = root / "index.html"
    if not index.is_file():
        return HTMLResponse(_NOT_BUILT, status_code=503)
    # Any other path is one of the app's routes (or its not-found page): the app decides.
    return FileResponse(index, media_type="text/html", headers={"Cache-Control": "no-cache"})
