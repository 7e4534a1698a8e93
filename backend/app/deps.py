"""FastAPI dependencies: settings, database session, and the viewer/admin guards."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import Database
from app.services.accounts.auth_service import InvalidToken, TokenClaims, decode_token

_bearer = HTTPBearer(auto_error=False)


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_session(db: Annotated[Database, Depends(get_database)]) -> AsyncIterator[AsyncSession]:
    async with db.sessionmaker() as session:
        yield session


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


async def current_claims(
    settings: Annotated[Settings, Depends(get_settings_dep)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> TokenClaims:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("not_authenticated")
    try:
        return decode_token(settings, credentials.credentials)
    except InvalidToken:
        raise _unauthorized("invalid_token") from None


async def require_admin(claims: Annotated[TokenClaims, Depends(current_claims)]) -> TokenClaims:
    if not claims.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="admin_required")
    return claims


async def require_metrics_reader(
    settings: Annotated[Settings, Depends(get_settings_dep)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """The scrape token (`METRICS_TOKEN`), else an admin's JWT."""
    token = settings.metrics_token.encode()
    # As bytes: compare_digest refuses non-ASCII text, and the header is the client's to write.
    if token and credentials is not None and hmac.compare_digest(credentials.credentials.encode(), token):
        return
    await require_admin(await current_claims(settings, credentials))


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
ViewerDep = Annotated[TokenClaims, Depends(current_claims)]
AdminDep = Annotated[TokenClaims, Depends(require_admin)]
