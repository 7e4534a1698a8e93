from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.deps import SessionDep
from app.schemas.health import HealthOut
from app.supervision import TaskSupervisor

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "`unavailable`: the database does not answer"}},
)
async def healthz(request: Request, session: SessionDep) -> JSONResponse:
    try:
        await session.execute(text("SELECT 1"))
    except Exception as exc:  # any database failure means "not healthy", never a 500
        return JSONResponse({"status": "unavailable", "detail": type(exc).__name__}, status_code=503)
    tasks: TaskSupervisor = request.app.state.tasks
    down = [asdict(d) for d in tasks.tasks_down()]
    if down:
        return JSONResponse({"status": "degraded", "tasks_down": down})
    return JSONResponse({"status": "ok"})
