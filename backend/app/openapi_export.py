"""Write the API's OpenAPI document, from which the web app's typed client is generated.

python -m app.openapi_export <path>      (the web app's `npm run gen:api` calls it)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from app.config import Settings


def openapi_document() -> dict[str, Any]:
    from app.main import create_app  # the app is built, never started: no database, no encoders

    doc: dict[str, Any] = create_app(Settings()).openapi()
    return doc


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m app.openapi_export <path>", file=sys.stderr)
        return 2
    Path(argv[0]).write_text(json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
