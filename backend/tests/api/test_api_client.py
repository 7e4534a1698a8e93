"""The web app's typed API client is generated from this backend's OpenAPI: the committed file must
be what the generator makes of the OpenAPI today (`npm run gen:api` in frontend/ regenerates it)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from app.openapi_export import main as export_openapi
from tests.conftest import BACKEND_DIR

FRONTEND = BACKEND_DIR.parent / "frontend"
GENERATED = FRONTEND / "src" / "api" / "schema.d.ts"
GENERATOR = FRONTEND / "node_modules" / ".bin" / "openapi-typescript"


def test_generated_client_matches_the_backend(tmp_path: Path) -> None:
    assert GENERATOR.exists(), "frontend npm packages are missing (make test installs them)"
    doc = tmp_path / "openapi.json"
    assert export_openapi([str(doc)]) == 0
    out = tmp_path / "schema.d.ts"
    subprocess.run([str(GENERATOR), str(doc), "-o", str(out)], check=True, capture_output=True, cwd=FRONTEND)
    assert out.read_text() == GENERATED.read_text(), (
        "frontend/src/api/schema.d.ts is out of date: run `npm run gen:api` in frontend/ and commit it"
    )
