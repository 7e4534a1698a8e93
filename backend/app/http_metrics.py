"""Pure ASGI middleware counting every HTTP answer and its latency per route template.

Playlists are served at thousands a second, so the per-request work is a clock read, a wrapped
`send` and two pre-resolved metric updates. The route template (`/api/v1/tstv/catchup/{channel_id}/
manifest`, never the raw path) is worked out once per route: FastAPI puts the matched route in the
scope, but with its own router's path, without the prefixes it was included under.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import path_pattern
from app.services.metrics import Metrics

UNMATCHED = "unmatched"  # no route (a 404 outside the app's routes, a CORS preflight)


def full_template(app: Any, route: Any, path: str) -> str:
    """The OpenAPI template of `route` that `path` matches; routes outside the schema are included
    without a prefix, so their own path is the template."""
    own = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(own, str) or not own:
        return UNMATCHED
    for template in app.openapi()["paths"]:
        if template.endswith(own) and path_pattern(template).fullmatch(path):
            return str(template)
    return own


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # id(route) -> template: routes live as long as the app (and Starlette's are not hashable).
        self._templates: dict[int, str] = {}

    def _template(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is None:
            return UNMATCHED
        found = self._templates.get(id(route))
        if found is None:
            found = self._templates[id(route)] = full_template(scope["app"], route, scope["path"])
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            self.metrics.observe_request(
                scope["method"], self._template(scope), status, perf_counter() - started
            )
