"""Signed segment URLs: the CDN serves an archive file only through a URL a playlist signed.

A media playlist signs every file it lists (init segments and segments, of every rendition):

    {CDN_BASE_URL}/{channel}/{run}/{rendition}/{file}?e={expires}&s={signature}
    signature = base64url(md5("{expires}/{channel}/{run}/{rendition}/{file} {secret}"))

which is what nginx's `secure_link` / `secure_link_md5` checks (`nginx/cdn.conf`), and the backend's
development fallback (`app/routers/cdn_fallback.py`) checks the same way. A plain archive path, an
expired URL, or a signed URL edited to another channel, run, rendition or time is 403.

Why one signature per file rather than a signed path prefix (channel + time bucket): the playlist
already knows exactly which files the viewer's playback token covers, and signing each one binds the
URL to that set, not to a bucket around it. nginx cannot compare times (no arithmetic), so a prefix
would have to be a bucket of segment names (`20261120T12`: an hour); ch1's programmes last 10
minutes, and an hour bucket signed for programme A would open the five programmes around it,
whatever their catch-up rights. Exactness costs one MD5 per listed file (about 1.3 us) when a
playlist is rendered, and rendered playlists are kept and shared: the expiry is the playback
token's, rounded up to `EXPIRY_QUANTUM_S`, so every viewer of a programme whose token ends in the
same hour gets the same text. Per request only the playback token is put into the key URIs.

The secret is `CDN_SIGNING_SECRET`, or, when unset, derived from `JWT_SECRET` (HMAC-SHA256 with a
fixed label): nginx needs it in its rendered configuration, which `cdn_config.py` writes readable by
its owner only. Thumbnail sheets (`_thumbs/`) are not signed: they are public.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re

# A signed URL lives until its playback token expires, rounded up to this (so viewers share playlists).
EXPIRY_QUANTUM_S = 3600
# What nginx's secure_link_md5 can hold between double quotes, and what a URL carries unescaped.
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
_DERIVATION_LABEL = b"tstv cdn url signing v1"
_SIGNATURE_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")
_EXPIRES_RE = re.compile(r"^[0-9]{1,12}$")


def derive_secret(jwt_secret: str) -> str:
    """The signing secret when none is configured: a one-way function of the JWT secret, so the CDN
    never holds the secret that signs access tokens."""
    return hmac.new(jwt_secret.encode(), _DERIVATION_LABEL, hashlib.sha256).hexdigest()


def url_expiry(token_expires: float) -> int:
    """The `e` of the URLs a playlist signs for a playback token that expires at `token_expires`."""
    return math.ceil(token_expires / EXPIRY_QUANTUM_S) * EXPIRY_QUANTUM_S


def signature(secret: str, archive_path: str, expires: int) -> str:
    """nginx `secure_link_md5 "$secure_link_expires/$archive_path <secret>"`, base64url unpadded."""
    digest = hashlib.md5(f"{expires}/{archive_path} {secret}".encode(), usedforsecurity=False).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def signed_query(secret: str, archive_path: str, expires: int) -> str:
    return f"e={expires}&s={signature(secret, archive_path, expires)}"


def verify(secret: str, archive_path: str, expires: str | None, sig: str | None, now: float) -> bool:
    """Whether `?e=expires&s=sig` signs `archive_path` and has not expired (as nginx decides)."""
    if not (expires and sig and _EXPIRES_RE.match(expires) and _SIGNATURE_RE.match(sig)):
        return False
    if int(expires) < now:  # nginx: valid through the second it names
        return False
    return hmac.compare_digest(signature(secret, archive_path, int(expires)), sig)
