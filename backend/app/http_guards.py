"""HTTP guards on every answer: a request body limit and the security headers.

Both are plain ASGI middlewares (no per-request objects beyond a closure), so playlists pay a dict
lookup and a few header bytes for them.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.services.playback.playback_service import cdn_base_for

MAX_BODY_BYTES = 1024 * 1024  # nothing the API takes comes near it (a licence request is < 1 kB)


class BodyTooLarge(Exception):
    pass


async def _too_large(send: Send) -> None:
    body = json.dumps({"detail": "request_too_large", "max_bytes": MAX_BODY_BYTES}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """413 for a body over `limit` bytes: at once from Content-Length, else while it streams in
    (chunked bodies are counted as they arrive and cut off past the limit)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = self.limit + 1  # not a length: refused like an oversized one
            if declared > self.limit:
                await _too_large(send)
                return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge
            return message

        async def noting_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, noting_send)
        except BodyTooLarge:
            if not started:
                await _too_large(send)


def _hostname(host: str) -> str | None:
    try:
        return urlsplit(f"//{host}").hostname if host else None
    except ValueError:
        return None


class SecurityHeadersMiddleware:
    """The security headers of the web app and the API. The Content-Security-Policy admits what the
    app and Shaka Player need: scripts, styles and fonts of this origin (inline styles: React's
    `style` attributes), media from `blob:` (Media Source Extensions) and the CDN, the CDN for the
    player's segment and playlist fetches and the thumbnails, `data:` images; nothing may frame the
    app (`frame-ancestors 'none'`, and X-Frame-Options for older browsers)."""

    def __init__(self, app: ASGIApp, cdn_base_url: str) -> None:
        self.app = app
        self.cdn_base_url = cdn_base_url
        self._policies: dict[str, bytes] = {}

    def policy(self, host: str | None) -> bytes:
        key = host or ""
        policy = self._policies.get(key)
        if policy is None:
            cdn = urlsplit(cdn_base_for(self.cdn_base_url, host))
            origin = f" {cdn.scheme}://{cdn.netloc}" if cdn.scheme and cdn.netloc else ""
            policy = (
                "default-src 'self'; "
                "script-src 'self'; "
                "style-src 'self' 'unsafe-inline'; "
                f"img-src 'self' data: blob:{origin}; "
                f"media-src 'self' blob:{origin}; "
                f"connect-src 'self'{origin}; "
                "worker-src 'self' blob:; "
                "font-src 'self' data:; "
                "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
            ).encode()
            if len(self._policies) > 256:  # Host headers are the client's to write
                self._policies.clear()
            self._policies[key] = policy
        return policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                hostname = _hostname(Headers(scope=scope).get("host", ""))
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", self.policy(hostname)),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"strict-origin-when-cross-origin"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
