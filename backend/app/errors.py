"""Error shapes: every failure is JSON with a machine-readable `detail`, never a bare 500."""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException

from app.db import database_unavailable

log = logging.getLogger("tstv.errors")


class ApiError(Exception):
    """Raised by services for rule violations the client must see (403/404/409 with a code)."""

    def __init__(self, status_code: int, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.extra = extra


def _validation_response(errors: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"detail": errors}, status_code=422)


_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


@functools.lru_cache(maxsize=256)
def path_pattern(template: str) -> re.Pattern[str]:
    """A regex matching the paths of an OpenAPI path template (`/a/{x}/b`)."""
    return re.compile("[^/]+".join(map(re.escape, re.split(r"\{[^}]+\}", template))))


def _literal_segments(template: str) -> int:
    return sum(1 for segment in template.split("/") if segment and not segment.startswith("{"))


def allowed_methods(request: Request) -> str:
    """The methods the OpenAPI lists for the request's path. Starlette's 405 names only the first
    route's, and a path may have several routes (a bookmark's GET and PUT)."""
    path = request.url.path
    matching = [
        (template, item)
        for template, item in request.app.openapi()["paths"].items()
        if path_pattern(template).fullmatch(path)
    ]
    # A literal segment names its own resource: `/recordings/series` is not `/recordings/{id}`.
    most_literal = max((_literal_segments(t) for t, _ in matching), default=0)
    methods = {
        m.upper()
        for template, item in matching
        if _literal_segments(template) == most_literal
        for m in item
        if m in _METHODS
    }
    if "GET" in methods:
        methods.add("HEAD")  # served for every GET route
    return ", ".join(sorted(methods))


DATABASE_UNAVAILABLE = "database_unavailable"
# Errors a database outage surfaces as (app/db.py `database_unavailable` says which of them do).
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    DBAPIError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
)


def database_unavailable_response() -> JSONResponse:
    return JSONResponse({"detail": DATABASE_UNAVAILABLE}, status_code=503, headers={"Retry-After": "1"})


def install_error_handlers(app: FastAPI) -> None:
    async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
        if database_unavailable(exc):
            # A PostgreSQL restart: the client may retry; the pool reconnects on its own (app/db.py).
            log.warning("database unavailable", extra={"error": repr(exc)[:300]})
            return database_unavailable_response()
        raise exc  # any other failure stays a 500 with its traceback

    for cls in DATABASE_ERRORS:
        app.add_exception_handler(cls, _database_error)

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail, **exc.extra}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # Keep loc/type/msg (the field and the reason); drop echoed input, which may be huge or secret.
        return _validation_response(
            [
                {"loc": list(e.get("loc", ())), "type": e.get("type"), "msg": e.get("msg")}
                for e in exc.errors()
            ]
        )

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
            # FastAPI answers 400 for a body that is not UTF-8; it is invalid input like any bad JSON.
            return _validation_response(
                [{"loc": ["body"], "type": "json_invalid", "msg": "body is not UTF-8"}]
            )
        if exc.status_code == 405 and (allow := allowed_methods(request)):
            exc = HTTPException(405, exc.detail, headers={**(exc.headers or {}), "Allow": allow})
        return await http_exception_handler(request, exc)
