"""The pseudonymisation key: read from the environment, installed in the warehouse as HMAC pads.

Pseudonyms are computed in SQL by ``aiguillage_meta.pseudonym(text)`` (HMAC-SHA256), the same
function :func:`pseudonym` mirrors here for tests and checks.
"""

from __future__ import annotations

import hashlib
import hmac
import os

KEY_VAR = "AIGUILLAGE_PSEUDONYMISATION_KEY"
# Development key: used only when the variable is unset AND the embedded warehouse serves, so that
# a fresh clone runs; a configured warehouse without a key is refused.
_DEVELOPMENT_KEY = "aiguillage-development-key-not-for-production"
_BLOCK = 64


class MissingKeyError(RuntimeError):
    pass


def current_key() -> str:
    from aiguillage import config

    key = os.environ.get(KEY_VAR)
    if key:
        if len(key) < 16:
            raise MissingKeyError(f"{KEY_VAR} must be at least 16 characters long")
        return key
    if config.embedded_warehouse_serves():
        return _DEVELOPMENT_KEY
    raise MissingKeyError(f"{KEY_VAR} is not set: it is required with a configured warehouse")


def pads(key: str) -> tuple[bytes, bytes]:
    """HMAC's inner and outer pads of ``key`` (RFC 2104)."""
    raw = key.encode("utf-8")
    if len(raw) > _BLOCK:
        raw = hashlib.sha256(raw).digest()
    raw = raw.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in raw), bytes(b ^ 0x5C for b in raw)


def fingerprint(key: str) -> str:
    return hashlib.sha256(b"aiguillage-key-fingerprint:" + key.encode("utf-8")).hexdigest()[:12]


def install_key(conn, key: str | None = None) -> str:
    """Write the current key's pads into the warehouse (idempotent); returns its fingerprint."""
    key = key or current_key()
    inner, outer = pads(key)
    mark = fingerprint(key)
    with conn.transaction():
        conn.execute(
            "INSERT INTO aiguillage_meta.pseudonymisation_key (id, inner_pad, outer_pad, fingerprint)"
            " VALUES (true, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET inner_pad = EXCLUDED.inner_pad,"
            " outer_pad = EXCLUDED.outer_pad, fingerprint = EXCLUDED.fingerprint,"
            " set_at = CASE WHEN aiguillage_meta.pseudonymisation_key.fingerprint = EXCLUDED.fingerprint"
            " THEN aiguillage_meta.pseudonymisation_key.set_at ELSE now() END",
            (inner, outer, mark),
        )
    return mark


def pseudonym(identifier: str, key: str) -> str:
    """The pseudonym SQL computes for ``identifier`` under ``key``."""
    return hmac.new(key.encode("utf-8"), identifier.encode("utf-8"), hashlib.sha256).hexdigest()
