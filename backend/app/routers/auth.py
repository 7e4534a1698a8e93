from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.deps import SessionDep, SettingsDep, ViewerDep
from app.models import User
from app.routers._common import INVALID, UNAUTHENTICATED, errors, refusal
from app.schemas.auth import LoginRequest, MeOut, ProfileOut, ProfilesOut, TokenResponse
from app.services.accounts.auth_service import LoginThrottle, authenticate, default_profile, issue_token

router = APIRouter(tags=["auth"])

_WRONG = refusal(401, "invalid_credentials", why="unknown e-mail or wrong password")
_THROTTLED = refusal(
    429,
    "too_many_attempts",
    why="10 failed logins for this e-mail within a minute",
    headers={
        "Retry-After": {"description": "Seconds to wait", "required": True, "schema": {"type": "string"}}
    },
)


@router.post("/auth/login", response_model=TokenResponse, responses=errors(_WRONG, _THROTTLED, INVALID))
async def login(
    body: LoginRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> TokenResponse:
    throttle: LoginThrottle = request.app.state.login_throttle
    if await throttle.is_blocked(session, body.email):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, detail="too_many_attempts", headers={"Retry-After": "60"}
        )
    user = await authenticate(session, body.email, body.password)
    if user is None:
        await throttle.note_failure(session, body.email)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="invalid_credentials")
    profile = default_profile(user)
    token = issue_token(settings, user, profile.id if profile else None)
    return TokenResponse(access_token=token, expires_in=settings.jwt_expiry_minutes * 60)


async def _load_user(session: SessionDep, claims: ViewerDep) -> User:
    user = await session.scalar(
        select(User).options(selectinload(User.profiles)).where(User.id == claims.user_id)
    )
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="invalid_token")
    return user


@router.get("/auth/me", response_model=MeOut, responses=errors(UNAUTHENTICATED))
async def me(session: SessionDep, claims: ViewerDep) -> MeOut:
    user = await _load_user(session, claims)
    return MeOut(
        id=user.id,
        email=user.email,
        role=user.role,
        subscription_active=user.subscription_active,
        profile_id=claims.profile_id,
        profiles=[ProfileOut.model_validate(p) for p in user.profiles],
    )


@router.get("/profiles", response_model=ProfilesOut, responses=errors(UNAUTHENTICATED))
async def profiles(session: SessionDep, claims: ViewerDep) -> ProfilesOut:
    user = await _load_user(session, claims)
    return ProfilesOut(profiles=[ProfileOut.model_validate(p) for p in user.profiles])
