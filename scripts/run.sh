#!/usr/bin/env bash
# `make run`: set everything up, then migrate, seed and serve the platform on $PORT (8000).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/bootstrap.sh" nginx-light
bash "$here/scripts/build_web.sh"
export PATH="$HOME/.local/bin:$PATH"
cd "$here/backend"
exec uv run --frozen python -m app.launcher
