"""Operator endpoints for accounts: list them, change role, subscription, disabled."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from app.deps import AdminDep, SessionDep, user_states_of
from app.errors import ApiError
from app.routers.route_answers import ADMIN, INVALID, errors, refusal
from app.schemas.auth import UserOut, UserPatchIn, UsersOut
from app.services.accounts import accounts

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/users", response_model=UsersOut, responses=errors(*ADMIN))
async def list_users(session: SessionDep, _admin: AdminDep) -> UsersOut:
    return UsersOut(users=[UserOut.model_validate(u) for u in await accounts.list_users(session)])


@router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    responses=errors(
        *ADMIN,
        refusal(404, "user_not_found"),
        refusal(409, "own_account", why="an operator cannot demote or disable themselves here (use the CLI)"),
        INVALID,
    ),
)
async def update_user(
    user_id: uuid.UUID, body: UserPatchIn, request: Request, session: SessionDep, admin: AdminDep
) -> UserOut:
    """Takes effect on the user's next request, playlists and licences of a running playback
    included; a new role signs the user out everywhere."""
    if user_id == admin.user_id and (body.disabled or (body.role is not None and body.role != "admin")):
        raise ApiError(409, "own_account")
    change = accounts.UserChange(body.role, body.subscription_active, body.disabled)
    user = await accounts.update_user(session, user_id, change)
    user_states_of(request).invalidate(user_id)
    return UserOut.model_validate(user)
