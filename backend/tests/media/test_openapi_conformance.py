"""The OpenAPI describes every answer of every operation: schemathesis runs all its checks against a
real backend (throwaway PostgreSQL database), once with a viewer's token and once with an operator's.

The web app's typed client is generated from this OpenAPI, so an undocumented status code or body,
a wrong content type, a schema-valid request refused (or an invalid one accepted) and any 500 fail.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import Stack, running_stack

SEED = 20260301  # fixed: the same requests on every run
MAX_EXAMPLES = 25  # per operation and phase: both runs take about a minute on 2 cores

# positive_data_acceptance's default answers to a schema-valid request, plus 422 where a rule that
# JSON Schema cannot express refuses some schema-valid bodies (each 422 names the field, and the
# operation's description says so):
# - a bookmark's `position_seconds` beyond `duration_seconds`, or beyond the programme's duration
#   for TSTV types (a comparison of two values, one of them possibly in the database);
# - a heartbeat's `last_position_s` beyond the programme's duration (in the database);
# - a channel's `catchup_window_hours` below its `cutv_window_hours` (sent, or the channel's);
# - a backfill whose `end` is not after its `start`.
# - a schedule `date` outside 1970-01-01..2999-12-31 (JSON Schema bounds numbers, not dates);
# - a time range whose `end` is not after its `start`, or more than 24 h after it.
# Every other check, and every other answer of these operations, is checked as usual.
_ACCEPTED = '["2xx", "3xx", "401", "403", "404", "409", "429", "5xx", "422"]'
_CROSS_FIELD_RULES = (
    ("PUT", "/api/v1/viewing/bookmarks/{content_type}/{content_id}"),
    ("PATCH", "/api/v1/tstv/sessions/{session_id}"),
    ("PUT", "/api/v1/admin/tstv/rules/{channel_id}"),
    ("POST", "/api/v1/admin/archive/backfill"),
    ("GET", "/api/v1/epg/schedule"),
    ("GET", "/api/v1/tstv/archive/{channel_id}/manifest"),
    ("GET", "/api/v1/tstv/archive/{channel_id}/manifest/{rendition}.m3u8"),
)
CONFIG = "".join(
    f'[[operations]]\ninclude-method = "{method}"\ninclude-path = "{path}"\n'
    f"checks.positive_data_acceptance.expected-statuses = {_ACCEPTED}\n\n"
    for method, path in _CROSS_FIELD_RULES
) + (
    # Signing out would end the run's token, and every later request would only be a 401
    # (tests/media/test_accounts.py covers it).
    '[[operations]]\ninclude-method = "POST"\ninclude-path = "/api/v1/auth/logout"\nenabled = false\n\n'
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    false = shutil.which("false")
    assert false, "`false` (coreutils) is needed as a stand-in encoder"
    with pytest.MonkeyPatch.context() as env:
        # The operator run starts, stops and restarts encoders and rotates keys. An "FFmpeg" that
        # fails at once keeps those answers real (status, 409) without encoding on the test machine.
        env.setenv("FFMPEG_BINARY", false)
        with running_stack(tmp_path_factory.mktemp("conformance")) as s:
            yield s


def _schemathesis(stack: Stack, token: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG)
    args = [
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color", "run"),
        f"{stack.api}/api/v1/openapi.json",
        *("--checks", "all", "--header", f"Authorization: Bearer {token}"),
        *("--seed", str(SEED), "--max-examples", str(MAX_EXAMPLES)),
        # One worker and no example database: the same cases in the same order on every run.
        *("--workers", "1", "--generation-database", "none", "--request-timeout", "30"),
    ]
    # From a scratch directory: schemathesis keeps a cache in the working directory.
    return subprocess.run(args, cwd=workdir, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_openapi_describes_every_answer(stack: Stack, role: str, tmp_path: Path) -> None:
    token = stack.viewer_token if role == "viewer" else stack.admin_token
    run = _schemathesis(stack, token, tmp_path)
    assert run.returncode == 0, f"schemathesis as {role} failed:\n{run.stdout}\n{run.stderr}"
