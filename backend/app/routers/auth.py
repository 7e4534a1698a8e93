from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from starlette.types import ASGIApp, Receive, Scope, Send

from app.deps import SessionDep, SettingsDep, ViewerDep, user_states_of
from app.models import User
from app.routers.route_answers import INVALID, UNAUTHENTICATED, errors, refusal, same_named
from app.schemas.auth import (
    LoginRequest,
    MeOut,
    PasswordChangeIn,
    ProfileOut,
    ProfilesOut,
    TokenResponse,
)
from app.services.accounts import accounts
from app.services.accounts.auth_service import LoginThrottle, authenticate, default_profile, issue_token

router = APIRouter(tags=["auth"])

_WRONG = refusal(401, "invalid_credentials", why="unknown e-mail or wrong password")
_DISABLED = refusal(403, "account_disabled", why="the password is right but an operator disabled the account")
_THROTTLED = refusal(
    429,
    "too_many_attempts",
    why="too many failed logins from this address (or for this e-mail from it) within a minute",
    headers={
        "Retry-After": {"description": "Seconds to wait", "required": True, "schema": {"type": "string"}}
    },
)


class LoginFloodGuard:
    """Refuses a login from an address this process has seen reach its limit before the request is
    routed or its body parsed: a flood of guesses then costs the event loop next to nothing, so
    playlists keep their pace. Other logins go to the route, which counts and decides."""

    def __init__(self, app: ASGIApp, throttle: LoginThrottle, path: str) -> None:
        self.app = app
        self.throttle = throttle
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == self.path
            and self.throttle.address_blocked(scope["client"][0] if scope.get("client") else "")
        ):
            await JSONResponse(
                {"detail": "too_many_attempts"}, status_code=429, headers={"Retry-After": "60"}
            )(scope, receive, send)
            return
        await self.app(scope, receive, send)


def client_address(request: Request) -> str:
    """The client's address (uvicorn takes it from X-Forwarded-For only behind a proxy listed in
    FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else ""


@router.post(
    "/auth/login", response_model=TokenResponse, responses=errors(_WRONG, _DISABLED, _THROTTLED, INVALID)
)
async def login(
    body: LoginRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> TokenResponse:
    throttle: LoginThrottle = request.app.state.login_throttle
    address = client_address(request)
    if await throttle.is_blocked(session, body.email, address):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, detail="too_many_attempts", headers={"Retry-After": "60"}
        )
    # Counted before the password is checked (and forgiven when it is right): a burst of guesses
    # cannot all pass the throttle while the first ones are still being hashed.
    await throttle.note_failure(session, body.email, address)
    user = await authenticate(session, body.email, body.password)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="invalid_credentials")
    await throttle.forgive(session, body.email, address)
    if user.disabled:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="account_disabled")
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
        **same_named(user, "id", "email", "role", "subscription_active"),
        profile_id=claims.profile_id,
        profiles=[ProfileOut.model_validate(p) for p in user.profiles],
    )


@router.get("/profiles", response_model=ProfilesOut, responses=errors(UNAUTHENTICATED))
async def profiles(session: SessionDep, claims: ViewerDep) -> ProfilesOut:
    user = await _load_user(session, claims)
    return ProfilesOut(profiles=[ProfileOut.model_validate(p) for p in user.profiles])


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors(UNAUTHENTICATED),
)
async def logout(request: Request, session: SessionDep, claims: ViewerDep) -> Response:
    """Signs out of this token (other devices stay signed in); playbacks started with it stop."""
    expires = datetime.fromtimestamp(claims.expires_at, UTC)
    await accounts.revoke_token(session, claims.user_id, claims.token_id, expires)
    user_states_of(request).invalidate(claims.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


_WRONG_PASSWORD = refusal(403, "wrong_password", why="`current_password` is not the account's password")


@router.post(
    "/auth/password",
    response_model=TokenResponse,
    responses=errors(UNAUTHENTICATED, _WRONG_PASSWORD, _THROTTLED, INVALID),
)
async def change_password(
    body: PasswordChangeIn, request: Request, session: SessionDep, settings: SettingsDep, claims: ViewerDep
) -> TokenResponse:
    """A new password: every token of the account issued before stops working (other devices sign
    in again); the answer is a new token for this one."""
    # Guessing the current password costs a hash each: throttled like logins, per account and address.
    throttle: LoginThrottle = request.app.state.login_throttle
    key, address = f"password:{claims.user_id}", client_address(request)
    if await throttle.is_blocked(session, key, address):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, detail="too_many_attempts", headers={"Retry-After": "60"}
        )
    await throttle.note_failure(session, key, address)
    user = await accounts.change_password(session, claims.user_id, body.current_password, body.new_password)
    await throttle.forgive(session, key, address)
    user_states_of(request).invalidate(claims.user_id)
    token = issue_token(settings, user, claims.profile_id)
    return TokenResponse(access_token=token, expires_in=settings.jwt_expiry_minutes * 60)
