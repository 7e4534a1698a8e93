"""Abuse on a real production stack: a login flood from one address is throttled without stalling
playback and without locking the real operator out from elsewhere; oversized bodies, malformed
input and framing are refused; no source maps are served.

The second client address is a second loopback address (127.0.0.2) bound as the connection's
source: the app takes X-Forwarded-For only from proxies in FORWARDED_ALLOW_IPS, so a header would
prove nothing here.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import m3u8
import pytest

from app.services.accounts.auth_service import LoginThrottle
from tests.conftest import BACKEND_DIR
from tests.stack import PASSWORD, REPO_DIR, Stack, live_without_encoder, running_stack

OTHER_ADDRESS = "127.0.0.2"
BURST_S = 5.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("abuse")) as s:
        live_without_encoder(s)
        yield s


def from_address(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


def media_url(stack: Stack) -> str:
    path = f"/api/v1/tstv/live/{stack.channel_id}/manifest"
    master = m3u8.loads(stack.get(path).text, uri=stack.api + path)
    url: str = master.playlists[0].absolute_uri
    return url


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def _flood(api: str, count: int, seconds: float) -> Counter[int]:
    """`count` logins with random e-mails from 127.0.0.1, paced over `seconds`."""

    async def run() -> Counter[int]:
        statuses: Counter[int] = Counter()
        # Long: under load the guesses let through wait their turn for a hashing thread.
        async with httpx.AsyncClient(base_url=api, timeout=180) as client:

            async def one(i: int) -> None:
                await asyncio.sleep(i * seconds / count)
                body = {
                    "email": f"{secrets.token_hex(6)}@example.com",
                    "password": "guess-" + secrets.token_hex(4),
                }
                statuses[(await client.post("/api/v1/auth/login", json=body)).status_code] += 1

            await asyncio.gather(*(one(i) for i in range(count)))
        return statuses

    return asyncio.run(run())


def test_a_login_flood_is_throttled_without_stalling_playlists(stack: Stack) -> None:
    url = media_url(stack)
    headers = stack.headers()
    with httpx.Client(timeout=30) as client:

        def timed() -> float:
            t = time.perf_counter()
            assert client.get(url, headers=headers).status_code == 200
            return time.perf_counter() - t

        for _ in range(20):
            timed()  # warm: connection, caches

        def for_seconds(seconds: float) -> list[float]:
            end = time.monotonic() + seconds
            samples = []
            while time.monotonic() < end:
                samples.append(timed())
            return samples

        before = for_seconds(BURST_S)
        # The flood comes from another process: in this one its client would hold the GIL and slow
        # the measuring client itself. It says "go" as it starts sending.
        script = (
            "import json, tests.media.test_abuse as t; print('go', flush=True); "
            f"print(json.dumps(t._flood({stack.api!r}, 300, {BURST_S})))"
        )
        # At the lowest priority: the attackers' CPU is on their machines, not on the server's, and
        # on two cores a flood client at normal priority takes the CPU the playlists are measured on.
        flood = subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=BACKEND_DIR,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: os.nice(19),
        )
        assert flood.stdout is not None and flood.stdout.readline().strip() == "go"
        started = time.monotonic()
        during = for_seconds(BURST_S)  # the burst's seconds
        out, _ = flood.communicate(timeout=300)
        took = time.monotonic() - started
        # The other test modules running beside this one load the machine unevenly: the quiet
        # seconds are measured on both sides of the flood, and it is compared with the busier side.
        after = for_seconds(BURST_S)
    assert flood.returncode == 0
    statuses = Counter({int(k): v for k, v in json.loads(out).items()})
    # Sent within 5 s; the answers take longer: the few guesses the throttle let through queue for
    # the hashing slots (`HASHING_CONCURRENCY`), which is the point.
    assert sum(statuses.values()) == 300, statuses
    print(f"flood answered in {took:.1f} s: {dict(statuses)}")
    assert statuses[429] >= 250, statuses  # the address's limit, then refused before any hashing
    assert set(statuses) <= {401, 429}, statuses
    assert len(during) >= 100 and len(before) >= 100 and len(after) >= 100
    quiet = max(p95(before), p95(after))
    print(
        f"media p95 before {p95(before) * 1000:.1f} ms, during the flood {p95(during) * 1000:.1f} ms, "
        f"after it {p95(after) * 1000:.1f} ms"
    )
    assert p95(during) <= 3 * quiet, (p95(before), p95(during), p95(after))

    # The real operator, from another address, signs in at once.
    with from_address(OTHER_ADDRESS) as other:
        r = other.post(
            f"{stack.api}/api/v1/auth/login", json={"email": "admin@tstv.local", "password": PASSWORD}
        )
        assert r.status_code == 200, r.text


def test_guessing_the_operators_password_locks_out_only_the_guesser(stack: Stack) -> None:
    with from_address("127.0.0.3") as attacker:
        codes = [
            attacker.post(
                f"{stack.api}/api/v1/auth/login", json={"email": "admin@tstv.local", "password": f"wrong-{i}"}
            ).status_code
            for i in range(12)
        ]
        assert codes[:10] == [401] * 10 and codes[10:] == [429, 429], codes
        right = {"email": "admin@tstv.local", "password": PASSWORD}
        assert attacker.post(f"{stack.api}/api/v1/auth/login", json=right).status_code == 429
    with from_address("127.0.0.4") as operator:
        assert operator.post(f"{stack.api}/api/v1/auth/login", json=right).status_code == 200


def test_the_throttle_memory_is_bounded() -> None:
    throttle = LoginThrottle(max_keys=1000)
    for i in range(20_000):
        throttle.record_failure(f"{i}@example.com", f"10.0.{i // 250}.{i % 250}")
    assert len(throttle) <= 1000


def test_security_headers_on_the_app_and_the_api(stack: Stack) -> None:
    for path in ("/", "/api/v1/config", "/api/v1/auth/me", "/no/such/page"):
        r = httpx.get(stack.api + path, timeout=30)
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp, path
        cdn_origin = stack.cdn.removesuffix("/hls")
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert {"blob:", cdn_origin} <= set(directives["media-src"].split()), csp
        assert cdn_origin in directives["connect-src"].split(), csp
        assert "data:" in directives["img-src"].split(), csp
        assert directives["script-src"] == "'self'", csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert r.headers["x-frame-options"] == "DENY"


def test_no_source_maps_in_production(stack: Stack) -> None:
    maps = sorted((REPO_DIR / "frontend" / "dist" / "assets").glob("*.js.map"))
    assert maps, "build the web app first (make test does)"
    for m in maps:
        assert httpx.get(f"{stack.api}/assets/{m.name}", timeout=30).status_code == 404
        assert httpx.get(f"{stack.api}/assets/{m.name.removesuffix('.map')}", timeout=30).status_code == 200


def test_a_body_over_a_megabyte_is_413(stack: Stack) -> None:
    big = b'{"email":"' + b"a" * (2 * 1024 * 1024) + b'","password":"x"}'
    r = httpx.post(
        f"{stack.api}/api/v1/auth/login", content=big, headers={"content-type": "application/json"}
    )
    assert (r.status_code, r.json()["detail"]) == (413, "request_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
        yield b'{"kids":["'
        for _ in range(64):
            yield b"A" * 32 * 1024
        yield b'"]}'

    r = httpx.post(f"{stack.api}/api/v1/drm/license", content=chunks(), headers=stack.headers())
    assert (r.status_code, r.json()["detail"]) == (413, "request_too_large")
    # Under the limit, the same route answers as usual.
    r = httpx.post(f"{stack.api}/api/v1/drm/license", json={"kids": []}, headers=stack.headers())
    assert r.status_code == 422


def test_malformed_input_is_a_4xx_with_a_detail(stack: Stack) -> None:
    url = media_url(stack)
    pb = httpx.URL(url).params["pb"]
    r = httpx.get(f"{stack.api}/api/v1/auth/me", headers={"Authorization": f"Bearer {pb}"})
    assert (r.status_code, r.json()["detail"]) == (401, "invalid_token")
    r = stack.get(f"/api/v1/epg/schedule?channel_id={stack.channel_id}&date=9999-12-31")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "date"], r.text
    assert stack.get(f"/api/v1/epg/schedule?channel_id={stack.channel_id}&date=0001-01-01").status_code == 422
