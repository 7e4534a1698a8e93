from __future__ import annotations

from pydantic import BaseModel, Field


class TaskDownOut(BaseModel):
    task: str = Field(
        description="The supervised task's name (`archive_poll`, `encoder:ch1`, `job:retention`, ...)"
    )
    since: float = Field(description="When it failed (epoch seconds)")
    error: str = Field(description="What it raised")
    restart_in: float = Field(description="Seconds after `since` it is started again")


class HealthOut(BaseModel):
    status: str = Field(
        description="`ok`; `degraded` while a supervised task is down (`tasks_down`, answered with 200: "
        "the process serves and restarts the task itself); `unavailable` when the database does not answer"
    )
    detail: str | None = Field(default=None, description="Why it is unavailable")
    tasks_down: list[TaskDownOut] = Field(
        default_factory=list, description="The supervised tasks waiting out their backoff after a failure"
    )
