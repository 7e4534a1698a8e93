"""Which channels an operator wants on air, kept across restarts of a single-process backend
(`{HLS_SEGMENT_DIR}/.simlive/state.json`). A cluster keeps it in the database instead
(`encoder_wanted`, see `app/services/encoders/ownership.py`)."""

from __future__ import annotations

from pathlib import Path

from app.services.encoders.pidfile import atomic_write_json, read_json


class WantedState:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "state.json"
        self._wanted: dict[str, bool] = {}

    def load(self) -> dict[str, bool]:
        """The persisted wanted state (channels never started or stopped are absent: default on)."""
        self._wanted = {k: bool(v) for k, v in read_json(self.path).items()}
        return dict(self._wanted)

    def wanted(self, key: str) -> bool:
        return self._wanted.get(key, True)

    def set(self, key: str, wanted: bool) -> None:
        self._wanted[key] = wanted
        atomic_write_json(self.path, self._wanted)
