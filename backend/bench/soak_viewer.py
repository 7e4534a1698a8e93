"""One simulated viewer doing what the web app's player does (frontend/src/player/), timed per request:

  sign in                     POST /api/v1/auth/login
  tune                        the master (GET /api/v1/tstv/{mode}/{channel}/manifest[?schedule_entry_id]),
                              a rung (mostly the base), its media playlist and the audio one
  keys                        each EXT-X-KEY URI (Shaka's identity-key fetch), and the ClearKey licence
                              POST /api/v1/drm/license?pb=... (the request filter in playerController.ts)
  play                        segments and init segments from the signed CDN URLs, 30 s buffered
                              ahead (streaming.bufferingGoal); live and start-over playlists refreshed
                              every target duration, catch-up's once (VOD)
  save (start-over, catch-up) a session (POST /api/v1/tstv/sessions) and its heartbeat every 30 s
                              (PATCH, which moves the bookmark: useProgressSaving.ts), a last save on
                              leaving; a catch-up first reads both bookmarks to resume (useResume.ts)

and now and then leaves for another programme or mode."""

from __future__ import annotations

import asyncio
import base64
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from bench.soak_hls import Media, Segment, kid_of_key_uri, parse_master, parse_media, playback_token
from bench.soak_stats import Recorder, pick_mode

BUFFER_S = 30.0  # Shaka's bufferingGoal in playerController.ts
HEARTBEAT_S = 30.0  # HEARTBEAT_SECONDS, frontend/src/rules/progressSaver.ts
LIVE_DELAY_TARGETS = 3  # Shaka starts a live HLS stream 3 target durations behind its edge
BASE_RUNG_SHARE = 0.8  # viewers on the lowest rung; the rest on a random higher one
VIEWER_EMAIL = "soak{n}@tstv.local"  # the accounts bench/soak_setup.py makes


@dataclass(frozen=True)
class Programme:
    id: str
    start: float
    end: float


@dataclass(frozen=True)
class Channel:
    id: str
    key: str
    programmes: tuple[Programme, ...]

    def on_air(self, at: float) -> Programme | None:
        return next((p for p in self.programmes if p.start <= at < p.end), None)

    def aired(self, since: float, before: float) -> list[Programme]:
        return [p for p in self.programmes if p.start >= since and p.end <= before]


@dataclass
class World:
    """What every viewer shares: the client, the addresses, the channels and the clock of the run."""

    client: httpx.AsyncClient
    api: str
    password: str
    channels: list[Channel]
    recorded_since: float  # the archive's first instant (backfilled)
    mix: dict[str, float]
    dwell_s: float  # mean time on one playback before switching
    rec: Recorder
    stop_at: float = 0.0  # time.monotonic()
    active: int = 0
    tunes: Counter[str] = field(default_factory=Counter)  # playbacks started, by mode
    tokens: dict[str, str] = field(default_factory=dict)  # e-mail -> access token, across steps

    def stopping(self) -> bool:
        return time.monotonic() >= self.stop_at


async def timed(
    world: World, kind: str, method: str, url: str, token: str | None = None, **kw: object
) -> httpx.Response | None:
    """One request, recorded under `kind` (status, or the exception's name); the body is read."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    t0 = time.perf_counter()
    try:
        r = await world.client.request(method, url, headers=headers, **kw)  # type: ignore[arg-type]
    except (httpx.HTTPError, OSError) as exc:
        world.rec.add(kind, type(exc).__name__, time.perf_counter() - t0)
        return None
    world.rec.add(kind, r.status_code, time.perf_counter() - t0)
    return r


@dataclass
class Stream:
    """One media playlist being played (the chosen rung, or the audio)."""

    url: str
    media: Media
    fetched: set[str] = field(default_factory=set)  # segment paths (a signed query may change)
    inits: set[str] = field(default_factory=set)


def _path(uri: str) -> str:
    return uri.split("?", 1)[0]


class Viewer:
    def __init__(self, world: World, n: int, email: str) -> None:
        self.world = world
        self.email = email
        self.rng = random.Random(n)
        self.token = ""
        self.keys_asked: set[str] = set()
        self.kids_licensed: set[str] = set()

    async def sign_in(self) -> bool:
        """A viewer signed in by an earlier --find-max step keeps its token (the app keeps it too):
        a step measures the new viewers' sign-ins, not a storm of everybody's again."""
        w = self.world
        if self.email in w.tokens:
            self.token = w.tokens[self.email]
            return True
        body = {"email": self.email, "password": w.password}
        r = await timed(w, "login", "POST", f"{w.api}/api/v1/auth/login", json=body)
        if r is None or r.status_code != 200:
            return False
        self.token = w.tokens[self.email] = r.json()["access_token"]
        return True

    async def run(self) -> None:
        w = self.world
        if not await self.sign_in():
            return
        w.active += 1
        try:
            while not w.stopping():
                mode = pick_mode(w.mix, self.rng)
                leave = time.monotonic() + max(20.0, self.rng.expovariate(1 / w.dwell_s))
                if not await self.watch(mode, self.rng.choice(w.channels), min(leave, w.stop_at)):
                    await asyncio.sleep(5)  # as the app's retry of a failed load (usePlaylistLoading.ts)
        finally:
            w.active -= 1

    def _target(self, mode: str, ch: Channel) -> Programme | None:
        now = time.time()
        if mode == "live":
            return None
        if mode == "startover":
            return ch.on_air(now)
        aired = ch.aired(self.world.recorded_since, now - 10)  # its last segment written
        return self.rng.choice(aired) if aired else None

    async def watch(self, mode: str, ch: Channel, leave: float) -> bool:
        """One playback until `leave` (monotonic) or a catch-up's end; False when it could not start."""
        w = self.world
        prog = self._target(mode, ch)
        if mode != "live" and prog is None:
            mode, prog = "live", None  # nothing aired yet: the viewer watches live instead
        start_at = prog.start if prog else None
        if mode == "catchup" and prog is not None:
            start_at = prog.start + await self._resume(prog)
        w.tunes[mode] += 1
        query = f"?schedule_entry_id={prog.id}" if prog else ""
        url = f"{w.api}/api/v1/tstv/{mode}/{ch.id}/manifest{query}"
        r = await timed(w, "master", "GET", url, self.token)
        if r is None or r.status_code != 200:
            return False
        master = parse_master(r.text, url)
        if not master.variants:
            return False
        variants = master.variants
        rung = variants[0] if self.rng.random() < BASE_RUNG_SHARE else self.rng.choice(variants)
        urls = [rung.uri] + ([master.audio] if master.audio else [])
        streams = [s for s in await asyncio.gather(*(self._load(u) for u in urls)) if s is not None]
        if len(streams) != len(urls):
            return False
        self.keys_asked.clear()
        self.kids_licensed.clear()
        await self._keys(streams, playback_token(rung.uri))
        session = await self._open_session(mode, ch, prog) if prog else None
        await self._play(mode, streams, prog, start_at, leave, session)
        return True

    async def _resume(self, prog: Programme) -> float:
        """Both bookmarks of the programme (catch-up and start-over), as useResume.ts reads them."""
        best = 0.0
        for kind in ("tstv_catchup", "tstv_startover"):
            url = f"{self.world.api}/api/v1/viewing/bookmarks/{kind}/{prog.id}"
            r = await timed(self.world, "bookmark", "GET", url, self.token)
            if r is not None and r.status_code == 200:
                best = max(best, float(r.json().get("position_seconds") or 0))
        return best if 5 <= best < 0.95 * (prog.end - prog.start) else 0.0

    async def _load(self, url: str) -> Stream | None:
        r = await timed(self.world, "media", "GET", url, self.token)
        if r is None or r.status_code != 200:
            return None
        return Stream(url, parse_media(r.text, url))

    async def _keys(self, streams: list[Stream], pb: str | None) -> None:
        """New key URIs (Shaka fetches each once per load), then one licence for the KIDs not yet
        licensed, with the playback token as the web app's request filter adds it."""
        uris = {s.key for st in streams for s in st.media.segments if s.key} - self.keys_asked
        for uri in sorted(uris):
            self.keys_asked.add(uri)
            await timed(self.world, "key", "GET", uri, self.token)
        kids = {k for u in uris if (k := kid_of_key_uri(u))} - self.kids_licensed
        if kids and pb:
            self.kids_licensed |= kids
            body = {
                "kids": [
                    base64.urlsafe_b64encode(bytes.fromhex(k)).rstrip(b"=").decode() for k in sorted(kids)
                ],
                "type": "temporary",
            }
            url = f"{self.world.api}/api/v1/drm/license?pb={pb}"
            await timed(self.world, "licence", "POST", url, self.token, json=body)

    async def _open_session(self, mode: str, ch: Channel, prog: Programme) -> int | None:
        body = {"channel_id": ch.key, "schedule_entry_id": prog.id, "session_type": mode}
        r = await timed(
            self.world, "session", "POST", f"{self.world.api}/api/v1/tstv/sessions", self.token, json=body
        )
        return int(r.json()["id"]) if r is not None and r.status_code in (200, 201) else None

    async def _save(
        self, session: int | None, prog: Programme | None, at: float, completed: bool = False
    ) -> None:
        if session is None or prog is None:
            return
        position = round(min(max(0.0, at - prog.start), prog.end - prog.start), 3)
        body: dict[str, object] = {"last_position_s": position}
        if completed:
            body["completed"] = True
        url = f"{self.world.api}/api/v1/tstv/sessions/{session}"
        await timed(self.world, "heartbeat", "PATCH", url, self.token, json=body)

    async def _play(
        self,
        mode: str,
        streams: list[Stream],
        prog: Programme | None,
        start_at: float | None,
        leave: float,
        session: int | None,
    ) -> None:
        video = streams[0].media
        edge = video.end() or time.time()
        first = start_at if start_at is not None else edge - LIVE_DELAY_TARGETS * video.target
        t0 = time.monotonic()
        next_refresh = t0 + video.target
        next_beat = t0 + HEARTBEAT_S
        while True:
            now = time.monotonic()
            position = first + (now - t0)
            ended = prog is not None and mode == "catchup" and position >= prog.end
            if now >= leave or ended:
                await self._save(session, prog, position, completed=ended)
                return
            if now >= next_refresh and not all(s.media.ended for s in streams):
                next_refresh = now + video.target
                await self._refresh(streams)
                video = streams[0].media
            await asyncio.gather(*(self._fetch(s, position + BUFFER_S) for s in streams))
            if now >= next_beat:
                next_beat = now + HEARTBEAT_S
                await self._save(session, prog, position)
            wake = min(leave, next_refresh, next_beat, time.monotonic() + 1.0)
            await asyncio.sleep(max(0.05, wake - time.monotonic()))

    async def _refresh(self, streams: list[Stream]) -> None:
        async def one(s: Stream) -> None:
            if s.media.ended:
                return
            r = await timed(self.world, "media", "GET", s.url, self.token)
            if r is not None and r.status_code == 200:
                s.media = parse_media(r.text, s.url)

        await asyncio.gather(*(one(s) for s in streams))
        await self._keys(streams, playback_token(streams[0].url))  # a new run brings a new key

    async def _fetch(self, s: Stream, until: float) -> None:
        """The segments (and their init segments) that start before `until`, in order."""
        for seg in s.media.segments:
            if seg.start >= until:
                break
            path = _path(seg.uri)
            if path in s.fetched or seg.start + seg.duration <= until - BUFFER_S:
                continue  # fetched, or behind the playhead (before where playback started)
            await self._segment(s, seg)
            s.fetched.add(path)
            if self.world.stopping():
                return

    async def _segment(self, s: Stream, seg: Segment) -> None:
        if seg.init and _path(seg.init) not in s.inits:
            s.inits.add(_path(seg.init))
            await timed(self.world, "segment", "GET", seg.init)
        await timed(self.world, "segment", "GET", seg.uri)
