"""Development fallback for the segment CDN: `/hls/...` served by the backend when nginx is absent.

Same rules as nginx/cdn.conf: only archive files (strict path pattern), and only through URLs a
playlist signed (`?e=&s=`, app/services/archive/url_signing.py: 403 otherwise), MIME types,
long-lived immutable caching for segments; thumbnail sheets public; everything else 404. CORS comes
from the app's middleware.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from app import clock
from app.deps import SettingsDep
from app.errors import ApiError
from app.services.archive import archive_layout as layout
from app.services.archive import url_signing
from app.services.archive.thumbnails import thumbs_root

router = APIRouter(tags=["cdn"])

_FILE_RE = re.compile(r"^[A-Za-z0-9_]+\.(m4s|mp4|m3u8)$")
_PLAYLIST = "m3u8"  # FFmpeg's own short list: the encoder's, never served (as nginx)
_RUN_RE = re.compile(r"^r[0-9]{13}$")
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,19}$")
_TYPES = {"m4s": "video/iso.segment", "mp4": "video/mp4", "m3u8": "application/vnd.apple.mpegurl"}
_TAG_RE = re.compile(r"^[0-9a-f]{20}$")
_SHEET_RE = re.compile(r"^[0-9]{6}\.jpg$")


@router.get("/hls/_thumbs/{tag}/{name}", include_in_schema=False)
async def thumbnail_sheet(tag: str, name: str, settings: SettingsDep) -> FileResponse:
    """A thumbnail sheet (app/services/archive/thumbnails.py): content-addressed, so immutable."""
    if not (_TAG_RE.match(tag) and _SHEET_RE.match(name)):
        raise ApiError(404, "not_found")
    path = thumbs_root(Path(settings.hls_segment_dir)) / tag / name
    if not path.is_file():
        raise ApiError(404, "not_found")
    return FileResponse(
        path, media_type="image/jpeg", headers={"Cache-Control": "public, max-age=31536000, immutable"}
    )


@router.get("/hls/{channel_key}/{run_id}/{rendition}/{name}", include_in_schema=False)
async def hls_file(
    channel_key: str, run_id: str, rendition: str, name: str, request: Request, settings: SettingsDep
) -> FileResponse:
    m = _FILE_RE.match(name)
    if not (m and _KEY_RE.match(channel_key) and _RUN_RE.match(run_id) and layout.is_rendition(rendition)):
        raise ApiError(404, "not_found")
    ext = m.group(1)
    archive_path = f"{channel_key}/{run_id}/{rendition}/{name}"
    query = request.query_params
    if ext == _PLAYLIST or not url_signing.verify(
        settings.url_signing_secret, archive_path, query.get("e"), query.get("s"), clock.now().timestamp()
    ):
        raise ApiError(403, "forbidden")
    path = Path(settings.hls_segment_dir) / archive_path
    if not path.is_file():
        raise ApiError(404, "not_found")
    return FileResponse(
        path, media_type=_TYPES[ext], headers={"Cache-Control": "public, max-age=31536000, immutable"}
    )
