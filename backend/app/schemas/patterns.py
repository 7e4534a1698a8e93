"""Patterns of the strings the API accepts, shared by request models and parameters, so the OpenAPI
says exactly what the server validates."""

from __future__ import annotations

from app.services.archive.archive_layout import CHANNEL_KEY_RE

# Text that reaches PostgreSQL, which refuses NUL bytes (otherwise a 500).
NO_NUL = r"^[^\x00]*$"
CHANNEL_KEY = CHANNEL_KEY_RE.pattern
_UUID = r"[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}"
_UUID_DASHED = r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}"
_KID_BASE64URL = r"[A-Za-z0-9_-]{22}(?:==)?"  # 16 bytes, padding optional
# A channel by its id (UUID) or its CDN key.
CHANNEL_REF = rf"^(?:{CHANNEL_KEY[1:-1]}|{_UUID})$"
# A ClearKey KID in a licence request.
KID_BASE64URL = rf"^{_KID_BASE64URL}$"
# A KID in a URL: 32 hex digits, a UUID, or base64url.
KID_TEXT = rf"^(?:[0-9A-Fa-f]{{32}}|{_UUID_DASHED}|{_KID_BASE64URL})$"
