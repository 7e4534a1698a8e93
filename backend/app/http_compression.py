"""Compressed answers (docs/PERFORMANCE.md, "Compression").

- `CompressionMiddleware` gzips API answers whose type is listed (JSON; playlists only with
  `GZIP_PLAYLISTS`) when they are at least `MIN_BYTES` and the client accepts gzip. A plain ASGI
  middleware rather than Starlette's `GZipMiddleware`, which makes two objects per request and
  compresses every type: here an answer of another type (a playlist, a file) costs a look at its
  headers, and Accept-Encoding is read only for an answer that may be compressed.
- `accepted_encodings` reads `Accept-Encoding` (q-values included) for the web app's precompressed
  assets (app/routers/web_app.py), which are never compressed per request.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Smaller answers fit in a packet or two either way; compressing them only costs CPU.
MIN_BYTES = 1024
# zlib level 6 (gzip's default): a 385 KB guide day to 58 KB in ~4 ms; level 1 gives 66 KB in ~3 ms,
# level 9 saves 0.5 % more in twice the time.
LEVEL = 6
# Bodies this large are compressed in a worker thread (zlib lets go of the GIL), not on the loop.
THREAD_BYTES = 64 * 1024
JSON_TYPES = frozenset({b"application/json"})
PLAYLIST_TYPES = frozenset({b"application/vnd.apple.mpegurl"})


def accepted_encodings(header: str) -> frozenset[str]:
    """The content codings `header` (an Accept-Encoding value) accepts: listed without `q=0`."""
    accepted: set[str] = set()
    for item in header.split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            accepted.add(coding)
    return frozenset(accepted)


def _accepts_gzip(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            return b"gzip" in value and "gzip" in accepted_encodings(value.decode("latin-1"))
    return False


def gzip_body(body: bytes) -> bytes:
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # 16+: a gzip wrapper
    return compressor.compress(body) + compressor.flush()


class CompressionMiddleware:
    """Gzip for answers of `types` sent in one piece (streamed answers, such as files, pass as they
    are), at least `MIN_BYTES`, not already encoded, to a client that accepts gzip. Every answer
    of those types says `Vary: Accept-Encoding`, compressed or not, so a shared cache keeps both."""

    def __init__(self, app: ASGIApp, types: Collection[bytes]) -> None:
        self.app = app
        self.types = frozenset(types)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None

        async def compressing_send(message: Message) -> None:
            nonlocal start
            kind = message["type"]
            if kind == "http.response.start":
                # Only the answer's type is looked at here: a playlist passes after this loop.
                content_type = b""
                encoded = False
                for name, value in message.get("headers", ()):
                    if name == b"content-type":
                        content_type = value.partition(b";")[0].strip().lower()
                    elif name == b"content-encoding":
                        encoded = True
                if content_type not in self.types or encoded:
                    await send(message)
                    return
                start = message  # held until the body says whether it is compressed
                return
            if start is None or kind != "http.response.body":
                await send(message)
                return
            held, start = start, None
            body: bytes = message.get("body", b"")
            headers = [(n, v) for n, v in held.get("headers", []) if n != b"vary"]
            vary = [v for n, v in held.get("headers", []) if n == b"vary"]
            headers.append((b"vary", b", ".join([*vary, b"Accept-Encoding"])))
            if len(body) >= MIN_BYTES and not message.get("more_body", False) and _accepts_gzip(scope):
                if len(body) >= THREAD_BYTES:
                    body = await anyio.to_thread.run_sync(gzip_body, body)
                else:
                    body = gzip_body(body)
                headers = [(n, v) for n, v in headers if n != b"content-length"]
                headers += [(b"content-encoding", b"gzip"), (b"content-length", str(len(body)).encode())]
                message = {**message, "body": body}
            await send({**held, "headers": headers})
            await send(message)

        await self.app(scope, receive, compressing_send)
