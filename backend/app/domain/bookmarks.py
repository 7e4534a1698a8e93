"""Which bookmarks are TSTV positions (a programme watched in start-over or catch-up), as opposed
to anything else a bookmark may point at: the guide, the continue-watching rail and the expiry
notifications read only these."""

from __future__ import annotations

TSTV_TYPES = ("tstv_catchup", "tstv_startover")
