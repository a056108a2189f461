"""Encryption at rest of what the store keeps: originals on disk and report JSON in the database, with AES-256-GCM
(the `cryptography` package). docs/THREAT-MODEL.md "HIPAA technical safeguards" (encryption at rest).

The keys live in a keyring file kept apart from the data (`Settings.data_key_file`, 0600): one key per line,
`<key id> <64 hex digits>`, the last line the current key. Every sealed value names the key it was sealed with, so
`docverify keys rotate` can add a key, re-seal everything with it and only then drop the old ones.

Formats (the associated data binds a value to where it belongs, so a sealed value copied elsewhere fails to open):
- an original file: MAGIC, the 8-character key id, a 12-byte nonce, ciphertext and tag; associated data: its sha256;
- a report: "dve1:<key id>:<base64 of nonce + ciphertext + tag>"; associated data: "<upload id>:<version>".
Values without the marker are plaintext written before a key was configured, and are read as such.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FILE_MAGIC = b"DVE1"
REPORT_PREFIX = "dve1:"
KEY_ID_LEN = 8
NONCE_LEN = 12
TAG_LEN = 16
FILE_OVERHEAD = len(FILE_MAGIC) + KEY_ID_LEN + NONCE_LEN + TAG_LEN


class SealError(ValueError):
    """A sealed value could not be opened: unknown key, or altered data (the GCM tag does not match)."""


@dataclass(frozen=True)
class Keyring:
    """AES-256 keys by id; `current` seals, every key opens. Hashable (a StoreSettings field)."""

    keys: tuple[tuple[str, bytes], ...] = field(repr=False)

    @property
    def current(self) -> tuple[str, bytes]:
        return self.keys[-1]

    def key(self, key_id: str) -> bytes:
        for kid, key in self.keys:
            if kid == key_id:
                return key
        raise SealError(f"unknown data key {key_id!r}")

    @classmethod
    def load(cls, path: Path) -> Keyring:
        """The keyring in `path`. Raises OSError, ValueError on a malformed line."""
        keys = []
        for line in path.read_text(encoding="ascii").splitlines():
            if not line.strip():
                continue
            kid, _, hexkey = line.strip().partition(" ")
            key = bytes.fromhex(hexkey)
            if len(kid) != KEY_ID_LEN or not kid.isalnum() or len(key) != 32:
                raise ValueError("keyring lines are '<8-character id> <64 hex digits>'")
            keys.append((kid, key))
        if not keys:
            raise ValueError("the keyring holds no key")
        return cls(tuple(keys))

    def with_new_key(self) -> Keyring:
        """This keyring plus a fresh random key, which becomes current."""
        return Keyring((*self.keys, new_key()))

    def only_current(self) -> Keyring:
        return Keyring((self.current,))

    def dump(self) -> str:
        return "".join(f"{kid} {key.hex()}\n" for kid, key in self.keys)


def new_key() -> tuple[str, bytes]:
    """A fresh (id, 32-byte key)."""
    return secrets.token_hex(KEY_ID_LEN // 2), secrets.token_bytes(32)


def _aead(key: bytes) -> AESGCM:
    return AESGCM(key)


def seal_file(keyring: Keyring, data: bytes, sha256: str) -> bytes:
    """An original's bytes sealed with the current key, bound to its sha256."""
    kid, key = keyring.current
    nonce = os.urandom(NONCE_LEN)
    return FILE_MAGIC + kid.encode("ascii") + nonce + _aead(key).encrypt(nonce, data, sha256.encode("ascii"))


def open_file(keyring: Keyring | None, stored: bytes, sha256: str) -> bytes:
    """The plaintext of a stored original (plaintext files are returned as they are). Raises SealError."""
    if not stored.startswith(FILE_MAGIC):
        return stored
    if keyring is None:
        raise SealError("an encrypted original, but no data key is configured")
    kid = stored[len(FILE_MAGIC):len(FILE_MAGIC) + KEY_ID_LEN].decode("ascii", "replace")
    start = len(FILE_MAGIC) + KEY_ID_LEN
    nonce, body = stored[start:start + NONCE_LEN], stored[start + NONCE_LEN:]
    return _open(keyring.key(kid), nonce, body, sha256.encode("ascii"))


def is_sealed_file(stored_head: bytes) -> bool:
    return stored_head.startswith(FILE_MAGIC)


def seal_text(keyring: Keyring, text: str, context: str) -> str:
    """A report's JSON sealed with the current key, bound to `context` (upload id and version)."""
    kid, key = keyring.current
    nonce = os.urandom(NONCE_LEN)
    body = _aead(key).encrypt(nonce, text.encode("utf-8"), context.encode("ascii"))
    return f"{REPORT_PREFIX}{kid}:{base64.b64encode(nonce + body).decode('ascii')}"


def open_text(keyring: Keyring | None, stored: str, context: str) -> str:
    """The plaintext of a stored report (plaintext reports are returned as they are). Raises SealError."""
    if not stored.startswith(REPORT_PREFIX):
        return stored
    if keyring is None:
        raise SealError("an encrypted report, but no data key is configured")
    kid, _, payload = stored[len(REPORT_PREFIX):].partition(":")
    raw = base64.b64decode(payload)
    return _open(keyring.key(kid), raw[:NONCE_LEN], raw[NONCE_LEN:], context.encode("ascii")).decode("utf-8")


def sealed_with(stored: str | bytes) -> str | None:
    """The key id a stored value was sealed with; None for plaintext."""
    if isinstance(stored, bytes):
        return stored[len(FILE_MAGIC):len(FILE_MAGIC) + KEY_ID_LEN].decode("ascii") \
            if stored.startswith(FILE_MAGIC) else None
    return stored[len(REPORT_PREFIX):].partition(":")[0] if stored.startswith(REPORT_PREFIX) else None


def _open(key: bytes, nonce: bytes, body: bytes, aad: bytes) -> bytes:
    try:
        return _aead(key).decrypt(nonce, body, aad)
    except (InvalidTag, ValueError) as e:
        raise SealError("sealed data does not open (altered, or another key)") from e
