"""FastAPI dependencies: settings, database session, the viewer/admin guards, and the app's
long-lived services as the routers reach them (`archive_of`, `encoders_of`): one place that knows
which `app.state` attribute holds what (set by `app/main.py`)."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Annotated, TypeVar, cast

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import Database, close_session
from app.errors import ApiError
from app.services.accounts import iptv_tokens
from app.services.accounts.auth_service import InvalidToken, TokenClaims, decode_token
from app.services.accounts.user_state import UserStateCache, check_user
from app.services.archive.archive_index import ArchiveIndex
from app.services.archive.disk_budget import DiskBudget
from app.services.encoders.encoders import Encoders
from app.services.playback.playback_service import PlaybackService
from app.services.playback.playlist_requests import PlaylistRequests

_bearer = HTTPBearer(auto_error=False)


_T = TypeVar("_T")


def _state_reader(name: str, kind: type[_T]) -> Callable[[Request], _T]:
    """A reader of `app.state.<name>`, typed as what `app/main.py` puts there."""

    def read(request: Request) -> _T:
        return cast(_T, getattr(request.app.state, name))

    return read


def _dependency(read: Callable[[Request], _T]) -> Callable[[Request], Awaitable[_T]]:
    """`read` as an async dependency (FastAPI runs a sync one in its thread pool)."""

    async def dependency(request: Request) -> _T:
        return read(request)

    return dependency


settings_of = _state_reader("settings", Settings)
database_of = _state_reader("db", Database)
archive_of = _state_reader("archive", ArchiveIndex)  # every role keeps one
disk_budget_of = _state_reader("disk_budget", DiskBudget)  # every role keeps one
playback_of = _state_reader("playback", PlaybackService)
# Each user's standing, cached while changes are pushed (services/accounts/user_state.py).
user_states_of = _state_reader("user_states", UserStateCache)
# The playback protocol (app/services/playback/playlist_requests.py).
playlists_of = _state_reader("playlists", PlaylistRequests)
# One dependency object each, so FastAPI reads each once per request.
get_settings = _dependency(settings_of)
get_database = _dependency(database_of)
get_playback = _dependency(playback_of)
get_playlists = _dependency(playlists_of)


async def get_session(db: Annotated[Database, Depends(get_database)]) -> AsyncIterator[AsyncSession]:
    session = db.sessionmaker()
    try:
        yield session
    finally:
        await close_session(session)


def running_encoders(request: Request) -> Encoders | None:
    """The encoders (local supervisor or the cluster's control); None before start-up."""
    encoders: Encoders | None = getattr(request.app.state, "simlive", None)
    return encoders


def encoders_of(request: Request) -> Encoders:
    """The encoders, or 503 `simlive_unavailable` when they are not up."""
    encoders = running_encoders(request)
    if encoders is None:
        raise ApiError(503, "simlive_unavailable")
    return encoders


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


async def current_claims(
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> TokenClaims:
    """The signed-in user: a valid access token whose user still stands (not disabled, not signed
    out of it, its epoch current), with the role and subscription the database holds now."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("not_authenticated")
    try:
        claims = decode_token(settings, credentials.credentials)
    except InvalidToken:
        raise _unauthorized("invalid_token") from None
    cache: UserStateCache = request.app.state.user_states
    try:
        state = await check_user(cache, request.app.state.db, claims.user_id, claims.token_id, claims.epoch)
    except ApiError as exc:
        raise _unauthorized(exc.detail) from None
    return replace(claims, role=state.role, subscription_active=state.subscription_active)


IptvTokenQuery = Annotated[
    str | None,
    Query(
        alias="token",
        min_length=1,
        max_length=128,
        description="An IPTV token (`POST /iptv/tokens`), for players that cannot send a bearer token",
    ),
]


async def iptv_claims(request: Request, token: IptvTokenQuery = None) -> TokenClaims:
    """The user an IPTV token (`?token=`) stands for (app/services/accounts/iptv_tokens.py)."""
    if not token:
        raise _unauthorized("not_authenticated")
    try:
        return await iptv_tokens.claims_for(user_states_of(request), database_of(request), token)
    except ApiError as exc:
        raise _unauthorized(exc.detail) from None


async def playback_claims(
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    token: IptvTokenQuery = None,
) -> TokenClaims:
    """The caller of a playback route (playlists, licences, keys): a bearer access token, or else an
    IPTV token in the URL. Only these routes and the IPTV export take an IPTV token."""
    if credentials is None and token:
        return await iptv_claims(request, token)
    return await current_claims(request, settings, credentials)


def iptv_token_carried(request: Request, claims: TokenClaims) -> str | None:
    """The IPTV token a playback was asked with, to carry on into the URLs its playlists name
    (an IPTV player sends no header); None for a signed-in caller."""
    if claims.token_id.startswith(iptv_tokens.TOKEN_ID_PREFIX):
        return request.query_params.get("token")
    return None


async def require_admin(claims: Annotated[TokenClaims, Depends(current_claims)]) -> TokenClaims:
    if not claims.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="admin_required")
    return claims


async def require_metrics_reader(
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """The scrape token (`METRICS_TOKEN`), else an admin's JWT."""
    token = settings.metrics_token.encode()
    # As bytes: compare_digest refuses non-ASCII text, and the header is the client's to write.
    if token and credentials is not None and hmac.compare_digest(credentials.credentials.encode(), token):
        return
    await require_admin(await current_claims(request, settings, credentials))


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
ViewerDep = Annotated[TokenClaims, Depends(current_claims)]
# A playback route's caller: a bearer token, or an IPTV token in the URL.
PlaybackViewerDep = Annotated[TokenClaims, Depends(playback_claims)]
IptvDep = Annotated[TokenClaims, Depends(iptv_claims)]
AdminDep = Annotated[TokenClaims, Depends(require_admin)]
PlaybackDep = Annotated[PlaybackService, Depends(get_playback)]
PlaylistsDep = Annotated[PlaylistRequests, Depends(get_playlists)]
