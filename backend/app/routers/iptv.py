"""IPTV export (docs/PRODUCT.md, 'IPTV export'): a viewer's revocable IPTV links, and the M3U
playlist and XMLTV guide an IPTV player reads with one (`?token=`)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from app import clock
from app.config import Settings
from app.deps import IptvDep, SessionDep, SettingsDep, ViewerDep
from app.errors import ApiError
from app.routers.route_answers import INVALID, SUBSCRIPTION, UNAUTHENTICATED, errors, ok_body, refusal
from app.schemas.iptv import IptvTokenCreatedOut, IptvTokenOut, IptvTokensOut
from app.services.accounts import iptv_tokens
from app.services.accounts.auth_service import TokenClaims
from app.services.catalogue import iptv_export
from app.services.catalogue.iptv_export import ExportUrls

router = APIRouter(prefix="/iptv", tags=["iptv"])

M3U_TYPE = "audio/x-mpegurl"
XMLTV_TYPE = "application/xml"
API_PATH = "/api/v1"


def export_urls(request: Request, settings: Settings, token: str) -> ExportUrls:
    """Absolute URLs: `PUBLIC_BASE_URL`, else the address the request came to."""
    site = (settings.public_base_url or str(request.base_url)).rstrip("/")
    return ExportUrls(api_base=f"{site}{API_PATH}", site_base=f"{site}/", token=token)


@router.post(
    "/tokens",
    status_code=201,
    response_model=IptvTokenCreatedOut,
    responses=errors(
        UNAUTHENTICATED, refusal(409, "too_many_iptv_tokens", why="the user has as many links as allowed")
    ),
)
async def create_iptv_token(
    request: Request, session: SessionDep, settings: SettingsDep, claims: ViewerDep
) -> IptvTokenCreatedOut:
    """A new IPTV link: its secret and the two URLs to give an IPTV player, shown this once."""
    row, secret = await iptv_tokens.create(session, claims.user_id)
    urls = export_urls(request, settings, secret)
    return IptvTokenCreatedOut(
        id=row.id, created_at=row.created_at, token=secret, playlist_url=urls.playlist(), epg_url=urls.guide()
    )


@router.get("/tokens", response_model=IptvTokensOut, responses=errors(UNAUTHENTICATED))
async def list_iptv_tokens(session: SessionDep, claims: ViewerDep) -> IptvTokensOut:
    rows = await iptv_tokens.of_user(session, claims.user_id)
    return IptvTokensOut(tokens=[IptvTokenOut(id=r.id, created_at=r.created_at) for r in rows])


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    response_class=Response,
    responses=errors(UNAUTHENTICATED, refusal(404, "iptv_token_not_found"), INVALID),
)
async def revoke_iptv_token(token_id: uuid.UUID, session: SessionDep, claims: ViewerDep) -> Response:
    """Revoke a link: the playlist, guide and every playback started with it stop at once."""
    if not await iptv_tokens.revoke(session, claims.user_id, token_id):
        raise ApiError(404, "iptv_token_not_found")
    return Response(status_code=204)


_EXPORT = errors(UNAUTHENTICATED, SUBSCRIPTION, INVALID)


def _subscribed(claims: TokenClaims) -> None:
    if not claims.subscription_active:
        raise ApiError(403, "subscription_required")


@router.get(
    "/playlist.m3u", response_class=Response, responses=ok_body(M3U_TYPE, "An M3U playlist") | _EXPORT
)
async def iptv_playlist(
    request: Request, session: SessionDep, settings: SettingsDep, claims: IptvDep
) -> Response:
    """Every channel the viewer may watch: live, and catch-up through the time-range route."""
    _subscribed(claims)
    channels = await iptv_export.exported_channels(session)
    urls = export_urls(request, settings, request.query_params["token"])
    text = iptv_export.render_m3u(channels, urls)
    return Response(text, media_type=M3U_TYPE, headers={"Cache-Control": "private, no-cache"})


@router.get("/epg.xml", response_class=Response, responses=ok_body(XMLTV_TYPE, "An XMLTV guide") | _EXPORT)
async def iptv_guide(
    request: Request, session: SessionDep, settings: SettingsDep, claims: IptvDep
) -> Response:
    """The channels' programmes from 7 days back to 7 days ahead, as XMLTV."""
    _subscribed(claims)
    channels = await iptv_export.exported_channels(session)
    entries = await iptv_export.guide_entries(session, channels, clock.now())
    urls = export_urls(request, settings, request.query_params["token"])
    body = iptv_export.render_xmltv(channels, entries, urls)
    return Response(body, media_type=XMLTV_TYPE, headers={"Cache-Control": "private, max-age=300"})
