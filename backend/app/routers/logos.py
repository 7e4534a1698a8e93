"""Channel logos: the seed's `logo_url`s, drawn from the channel catalogue (no image files to ship)."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import Response

from app.errors import ApiError
from app.services.catalogue.channel_catalogue import CHANNELS_BY_KEY

router = APIRouter(tags=["static"])

_COLOURS = {"ch1": "#1d4ed8", "ch2": "#b91c1c", "ch3": "#15803d", "ch4": "#c2410c", "ch5": "#6d28d9"}


@router.get("/static/logos/{channel_key}.svg", include_in_schema=False)
async def channel_logo(channel_key: str) -> Response:
    cdef = CHANNELS_BY_KEY.get(channel_key)
    if cdef is None:
        raise ApiError(404, "logo_not_found")
    colour = _COLOURS.get(cdef.key, "#334155")
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="90" viewBox="0 0 160 90">'
        f'<rect width="160" height="90" rx="12" fill="{colour}"/>'
        '<text x="80" y="42" font-family="sans-serif" font-size="30" font-weight="bold" fill="#fff" '
        f'text-anchor="middle">{cdef.number}</text>'
        '<text x="80" y="70" font-family="sans-serif" font-size="16" fill="#fff" '
        f'text-anchor="middle">{escape(cdef.name)}</text></svg>'
    )
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})
