"""A thread per running encrypting FFmpeg that re-keys its staged segments into the archive as soon
as they are finished (app/services/encoders/staging.py; why: app/services/archive/cenc_rekey.py).

It polls the staging folder every `POLL_S` (a listing of a few files and, when a segment is
there, ~1 ms of AES per MB), so a segment reaches the archive at most `POLL_S` plus its re-keying
after FFmpeg renamed it: well under a segment (docs/PERFORMANCE.md, "Re-keying"). The work runs
in its own thread, so the event loop never waits on it. Once FFmpeg has exited, the thread drains
what is left and removes the staging folder (`finished`); the run loop waits for that before it
counts the run's segments. A failing write (a full disk) keeps the staged file and is retried
every poll; `error` says why meanwhile, and the run loop reports it as the encoder's disk-full
state (app/services/encoders/run_loop.py).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

from app.services.encoders.staging import StagedRun

log = logging.getLogger("tstv.simlive")

POLL_S = 0.1
# How long the run loop waits, after FFmpeg exited, for the last segments to be re-keyed.
FINISH_TIMEOUT_S = 10.0


class RekeyWatcher:
    def __init__(self, staged: StagedRun, exited: Callable[[], bool], poll_s: float = POLL_S) -> None:
        self.staged = staged
        self._exited = exited  # has the FFmpeg that writes `staged` ended (and been reaped)?
        self._poll_s = poll_s
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rekey-{staged.run_dir.name}", daemon=True)

    def start(self) -> RekeyWatcher:
        self._thread.start()
        return self

    def exited(self) -> bool:
        return self._exited()

    @property
    def error(self) -> OSError | None:
        return self.staged.error

    def _run(self) -> None:
        try:
            while not self._exited():
                self.staged.drain()
                time.sleep(self._poll_s)
            # FFmpeg is gone: the last segments and playlist, then the folder (kept on a failed
            # write for the recovery at the channel's next start).
            self.staged.finish()
        except Exception:
            log.exception("rekey: watcher failed", extra={"run": str(self.staged.run_dir)})
        finally:
            self.done.set()

    async def finished(self, wait_s: float = FINISH_TIMEOUT_S) -> bool:
        """Wait (off the event loop, at most `wait_s`) until the thread has drained the ended run."""
        return await asyncio.to_thread(self.done.wait, wait_s)
