"""Small helpers shared by the viewer routers."""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError


def field_error(location: str, field: str, msg: str, type_: str = "value_error") -> RequestValidationError:
    """A 422 naming the offending field, in the same shape as FastAPI's own validation errors."""
    error: dict[str, Any] = {"loc": [location, field], "type": type_, "msg": msg}
    return RequestValidationError([error])
