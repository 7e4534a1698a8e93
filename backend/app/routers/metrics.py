"""`GET /metrics` for Prometheus (text format), outside /api/v1 by Prometheus convention."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.deps import require_metrics_reader, running_encoders
from app.routers.route_answers import UNAUTHENTICATED, errors, metrics_of, ok_body, refusal
from app.services.metrics import CONTENT_TYPE

router = APIRouter(tags=["metrics"])
log = logging.getLogger("tstv.metrics")


@router.get(
    "/metrics",
    response_class=Response,
    responses=ok_body("text/plain", "Prometheus text exposition format (0.0.4)")
    | errors(
        UNAUTHENTICATED,
        refusal(403, "admin_required", why="a viewer's token (send an admin's or `METRICS_TOKEN`)"),
    ),
)
async def metrics_endpoint(
    request: Request, _reader: Annotated[None, Depends(require_metrics_reader)]
) -> Response:
    """Encoders, archive, HTTP traffic per route, playlists and licences. Bearer token: an admin's
    JWT or the scrape token `METRICS_TOKEN` (Prometheus' `authorization` setting)."""
    manager = running_encoders(request)
    if manager is not None:
        try:  # channels added since the last look get their series
            await manager.refresh_channels()
        except Exception as exc:  # the database down must not stop the scrape that would show it
            log.warning("metrics: channels not refreshed", extra={"error": repr(exc)})
    body = metrics_of(request).render()
    return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
