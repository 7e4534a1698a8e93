"""Small helpers shared by the routers: field errors, and the error answers each route documents."""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.exceptions import RequestValidationError

from app.domain import rights
from app.errors import ApiError
from app.schemas.errors import ErrorOut, ExpiredErrorOut, ValidationErrorOut
from app.services.metrics import Metrics

Responses = dict[int | str, dict[str, Any]]
# Operator routes take any key up to this length and answer 404 for one that is not a channel's.
ChannelKey = Annotated[str, Path(max_length=64, description="The channel's CDN key")]


def same_named(source: object, *names: str) -> dict[str, Any]:
    """The named attributes of `source`, for an answer whose fields carry the same names (the
    schema validates them, as it would keyword arguments)."""
    return {name: getattr(source, name) for name in names}


def day_in_window(asked: date | None, today: date, earliest: date, latest: date, code: str) -> date:
    """The local day asked for (default today), or a 404 `code` naming the days there are. Not a
    422: which days are valid depends on the clock, which the schema cannot say."""
    day = asked or today
    if not earliest <= day <= latest:
        where = ["query", "date"]
        raise ApiError(404, code, loc=where, earliest=earliest.isoformat(), latest=latest.isoformat())
    return day


def metrics_of(request: Request) -> Metrics:
    """The app's Prometheus metrics (`app.services.metrics`)."""
    metrics: Metrics = request.app.state.metrics
    return metrics


def field_error(location: str, field: str, msg: str, type_: str = "value_error") -> RequestValidationError:
    """A 422 naming the offending field, in the same shape as FastAPI's own validation errors."""
    error: dict[str, Any] = {"loc": [location, field], "type": type_, "msg": msg}
    return RequestValidationError([error])


@dataclass(frozen=True)
class Answer:
    """One error answer a route can give: its status, when, and the shape of its body."""

    status: int
    when: str
    model: Any = ErrorOut
    headers: dict[str, Any] = field(default_factory=dict)


def refusal(status: int, *codes: str, why: str = "", model: Any = ErrorOut, **kwargs: Any) -> Answer:
    """An answer whose `detail` is one of `codes`, e.g. `refusal(404, "channel_not_found")`."""
    when = " or ".join(f"`{c}`" for c in codes)
    return Answer(status, f"{when}: {why}" if why else when, model, **kwargs)


def invalid(*whys: str) -> Answer:
    """The 422 of a route, with the checks JSON Schema cannot express (`whys`) spelled out."""
    when = "Invalid input: `detail` names each offending field (`loc`) and why"
    return Answer(422, "; ".join((when, *whys)), ValidationErrorOut)


def errors(*answers: Answer) -> Responses:
    """A route's `responses=`. Answers with the same status merge: their descriptions join and
    their bodies become a union (e.g. the shared `profile_not_found` and the route's own 404)."""
    by_status: dict[int, list[Answer]] = {}
    for a in answers:
        by_status.setdefault(a.status, []).append(a)
    out: Responses = {}
    for status, same in sorted(by_status.items()):
        models = list(dict.fromkeys(a.model for a in same))
        out[status] = {
            "model": functools.reduce(operator.or_, models),
            "description": "; ".join(a.when for a in same),
        }
        headers = {k: v for a in same for k, v in a.headers.items()}
        if headers:
            out[status]["headers"] = headers
    return out


def ok_body(media_type: str, description: str) -> Responses:
    """The 200 of a route answering `media_type` (text or bytes) instead of JSON."""
    return {200: {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}}


UNAUTHENTICATED = refusal(
    401,
    "not_authenticated",
    "invalid_token",
    "token_revoked",
    "account_disabled",
    "invalid_iptv_token",
    why="no valid bearer token (signed out, password or role changed, account disabled); on the "
    "playback and IPTV routes, no valid IPTV token (`?token=`: unknown or revoked)",
)
ADMIN = (UNAUTHENTICATED, refusal(403, "admin_required", why="the token is a viewer's"))
INVALID = invalid()
# Viewer routes that act for a profile: `profile_id`, else the token's.
PROFILE = (
    refusal(403, "profile_forbidden", why="`profile_id` is not one of the caller's profiles"),
    refusal(404, "profile_not_found", why="the caller has no profile"),
)


def profile_answers(*own: Answer, malformed: Answer = INVALID) -> Responses:
    """The answers of a viewer route that acts for a profile, around the route's own refusals."""
    return errors(UNAUTHENTICATED, *PROFILE, *own, malformed)


# Starting playback (playlists, sessions).
SUBSCRIPTION = refusal(403, "subscription_required", why="the token's subscription is not active")
STARTOVER_REFUSED = refusal(
    403, rights.STARTOVER_NOT_ALLOWED, rights.NOT_ON_AIR, why="start-over is not allowed for this programme"
)
CATCHUP_REFUSED = refusal(
    403,
    rights.PROGRAM_NOT_ELIGIBLE,
    rights.NOT_AVAILABLE_YET,
    rights.WINDOW_EXPIRED,
    why="catch-up is not allowed; `expires_at` is when its window ends (or ended)",
    model=ExpiredErrorOut,
)
NOT_RECORDED = refusal(404, rights.NOT_RECORDED, why="the archive holds none of it")
CATCHUP_NOT_RECORDED = refusal(
    404, rights.NOT_RECORDED, why="the archive holds none of it (with `expires_at`)", model=ExpiredErrorOut
)
