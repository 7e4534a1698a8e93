"""The first page's JavaScript stays small: at most 200 kB gzipped, with Shaka loaded by the player
route only (issue 9). Reads the build `make test` made (scripts/build_web.sh)."""

from __future__ import annotations

import gzip
import re

from app.config import Settings

FIRST_PAGE_BUDGET = 200 * 1024


def test_first_page_javascript_is_small_and_without_shaka() -> None:
    dist = Settings().web_app_dir
    index = (dist / "index.html").read_text()
    # The entry module and what the browser preloads with it: everything the first page runs.
    urls = re.findall(r'<script type="module"[^>]*src="([^"]+)"', index)
    urls += re.findall(r'<link rel="modulepreload"[^>]*href="([^"]+)"', index)
    assert urls, "no entry module in index.html"
    sizes = {}
    for url in urls:
        code = (dist / url.lstrip("/")).read_bytes()
        assert b"shaka.Player" not in code and "shaka" not in url, f"{url} carries Shaka"
        sizes[url] = len(gzip.compress(code, 9))
    assert sum(sizes.values()) <= FIRST_PAGE_BUDGET, sizes
    # Shaka is there, in a chunk of its own that the player route imports.
    assert any("shaka" in p.name for p in (dist / "assets").glob("*.js"))
