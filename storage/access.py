"""Access: the people who log in (the review app) and the API tokens the upload API accepts.

- Passwords are hashed with argon2id (argon2-cffi's `PasswordHasher`, its RFC 9106 low-memory defaults). A login of
  an unknown or disabled user still verifies against a dummy hash, so its timing does not tell which names exist.
  A hash made with older parameters is replaced at the next successful login.
- A token's secret is "dv_" + 32 random bytes (url-safe base64) and is shown once; only its SHA-256 is stored.
- Every change (user added, password set, user disabled, token created or revoked, one-time codes set up or removed)
  is audited in the store's hash-chained audit log in the same transaction, by ids only (user names are account ids,
  like upload owners).

One-time codes (the second factor of the review app's login, docs/THREAT-MODEL.md "HIPAA technical safeguards"):
RFC 6238 TOTP (cryptography's implementation: HMAC-SHA1, 6 digits, 30-second steps, what every authenticator app
reads from an otpauth:// URI), a 160-bit secret per person made by `enroll_totp` and shown once. It is stored sealed
with the data keyring when one is configured (storage/sealed.py). A code of the current step or the one before or
after is accepted (clock drift, typing time), and each step's code only once: the last accepted step is stored and
a code of that step or an earlier one is refused (a code seen over a shoulder or in a proxy log cannot be replayed).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pipeline.errors import DocverifyError
from storage.models import ApiTokenRow, UserRow
from storage.sealed import SealError, column_context, open_column, seal_value
from storage.store import Store

TOKEN_PREFIX: Final = "dv_"  # noqa: S105 - a prefix that marks our tokens in logs and scanners, not a secret
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""1–64 letters, digits, `.`, `_` and `-`, starting with a letter or digit (a name is also an audit actor)."""
MIN_PASSWORD_CHARS: Final = 8  # NIST SP 800-63B's minimum for a chosen password
MAX_PASSWORD_CHARS: Final = 1024  # argon2 hashes any length; a cap keeps a hostile login from costing megabytes
_TOKEN_ID = re.compile(r"[0-9a-f]{32}")
TOTP_DIGITS: Final = 6
TOTP_STEP_S: Final = 30
TOTP_SKEW_STEPS: Final = 1  # the step before and the one after the current one are accepted too
TOTP_SECRET_BYTES: Final = 20  # 160 bits, RFC 4226's recommendation
TOTP_ISSUER: Final = "docverify"
_TOTP_CODE = re.compile(r"[0-9]{6}")


class AccessRole(StrEnum):
    """What an account may do: uploaders send uploads and see only their own; coordinators review every upload;
    admins also manage people."""

    UPLOADER = "uploader"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A person who can log in (no password hash: it never leaves this module)."""

    name: str
    role: AccessRole
    created_at: datetime
    disabled: bool
    totp: bool = False  # one-time codes set up: a login needs one


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An API token, without its secret."""

    token_id: str
    role: AccessRole
    user_name: str | None
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class TotpEnrollment:
    """A person's new one-time-code secret, to show once: base32 for typing, an otpauth:// URI for a QR reader."""

    secret: str = dataclasses.field(repr=False)
    uri: str = dataclasses.field(repr=False)


class UserExists(DocverifyError):
    """A user of this name exists already."""

    code = "user_exists"
    user_message = "A user of this name exists already. Choose another name."


class UnknownUser(DocverifyError):
    """No user has this name."""

    code = "unknown_user"
    user_message = "No user has this name."


def _check_name(name: str) -> None:
    if not USER_NAME.fullmatch(name):
        raise ValueError("user name must be 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit")


def _check_password(password: str) -> None:
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise ValueError(f"password must be {MIN_PASSWORD_CHARS}–{MAX_PASSWORD_CHARS} characters")


def secret_digest(secret: str) -> str:
    """SHA-256 (hex) of a token secret. A fast hash is right here, unlike for passwords: the secret holds 256 random
    bits, so no guessing attack can use the speed, and every API request must resolve its token cheaply."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class Access:
    """Users and API tokens in the store's database. Writes go through the store's write transactions (SQLite:
    BEGIN IMMEDIATE; busy retries) and audit chain. Thread-safe like the store."""

    def __init__(self, store: Store, *, hasher: PasswordHasher | None = None) -> None:
        """Use `store` (already migrated). `hasher`: argon2id with the library's defaults unless given (tests pass
        cheaper parameters to check rehashing)."""
        self._store = store
        self._hasher = hasher or PasswordHasher()
        # Verified against when the user is unknown or disabled: the same argon2 work as a real login.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    # -- users --

    def add_user(self, name: str, role: AccessRole, password: str, *, actor: str = "admin") -> UserRecord:
        """Add a person. Raises ValueError (bad name, password length), UserExists, StoreBusy / StoreUnavailable."""
        _check_name(name)
        _check_password(password)
        role = AccessRole(role)
        password_hash = self._hasher.hash(password)

        def add(s: Session) -> UserRecord:
            if s.get(UserRow, name) is not None:
                raise UserExists(f"user {name}")
            row = UserRow(name=name, role=role.value, password_hash=password_hash, created_at=self._store._clock(),
                          disabled=False)
            s.add(row)
            s.flush()
            self._store._audit(s, actor=actor, action="user.add", upload_id=None, outcome=name)
            return _user(row)

        try:
            return self._store._write(add)
        except IntegrityError as e:  # PostgreSQL: a concurrent add of the same name committed first
            raise UserExists(f"user {name}") from e

    def get_user(self, name: str) -> UserRecord | None:
        """The user, or None (also for a malformed name)."""
        if not USER_NAME.fullmatch(name):
            return None
        with self._store._read() as s:
            row = s.get(UserRow, name)
            return _user(row) if row else None

    def authenticate(self, name: str, password: str) -> UserRecord | None:
        """The user when `password` is theirs and they are not disabled, else None. The same argon2 work is done
        whether or not the user exists. A hash made with outdated parameters is rehashed and stored."""
        row_hash: str | None = None
        record: UserRecord | None = None
        if USER_NAME.fullmatch(name) and len(password) <= MAX_PASSWORD_CHARS:
            with self._store._read() as s:
                row = s.get(UserRow, name)
                if row is not None:
                    row_hash, record = row.password_hash, _user(row)
        try:
            self._hasher.verify(row_hash or self._dummy_hash, password[:MAX_PASSWORD_CHARS])
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if record is None or row_hash is None or record.disabled:
            return None
        if self._hasher.check_needs_rehash(row_hash):
            self._replace_hash(name, self._hasher.hash(password), action="user.rehash")
        return record

    def set_password(self, name: str, password: str, *, actor: str = "admin") -> None:
        """Replace the user's password. Raises ValueError, UnknownUser."""
        _check_password(password)
        if not USER_NAME.fullmatch(name):
            raise UnknownUser("malformed name")
        self._replace_hash(name, self._hasher.hash(password), action="user.password", actor=actor)

    def disable_user(self, name: str, *, actor: str = "admin") -> None:
        """Disable the user: logins fail and the user's tokens stop resolving. Raises UnknownUser."""
        def disable(s: Session) -> None:
            row = self._locked_user(s, name)
            row.disabled = True
            self._store._audit(s, actor=actor, action="user.disable", upload_id=None, outcome=name)

        self._store._write(disable)

    # -- one-time codes --

    def enroll_totp(self, name: str, *, actor: str = "admin") -> TotpEnrollment:
        """Give the user a new one-time-code secret (replacing any earlier one) and return it, to be shown once.
        From now on a login of this user needs a code. Raises UnknownUser."""
        key = secrets.token_bytes(TOTP_SECRET_BYTES)
        secret = base64.b32encode(key).decode("ascii")

        def enroll(s: Session) -> None:
            row = self._locked_user(s, name)
            row.totp_secret = seal_value(self._store.settings.data_keys, secret, column_context(row, "totp_secret"))
            row.totp_last_step = None
            self._store._audit(s, actor=actor, action="user.totp_enroll", upload_id=None, outcome=name)

        self._store._write(enroll)
        uri = _totp(key).get_provisioning_uri(name, TOTP_ISSUER)
        return TotpEnrollment(secret=secret, uri=uri)

    def remove_totp(self, name: str, *, actor: str = "admin") -> None:
        """Remove the user's one-time codes (a lost phone; set them up again with `enroll_totp`). Raises UnknownUser."""
        def remove(s: Session) -> None:
            row = self._locked_user(s, name)
            row.totp_secret, row.totp_last_step = None, None
            self._store._audit(s, actor=actor, action="user.totp_remove", upload_id=None, outcome=name)

        self._store._write(remove)

    def verify_totp(self, name: str, code: str) -> bool:
        """True when `code` is the user's one-time code of the current 30-second step or the one before or after,
        and no code of that step or a later one was accepted before (the step is then recorded). False for anything
        else: no such user, no codes set up, a malformed, wrong or replayed code, a secret that does not open."""
        code = code.strip().replace(" ", "")
        if not USER_NAME.fullmatch(name) or not _TOTP_CODE.fullmatch(code):
            return False
        now = self._store._clock().timestamp()

        def verify(s: Session) -> bool:
            row = s.scalars(select(UserRow).where(UserRow.name == name).with_for_update()).first()
            if row is None or row.totp_secret is None:
                return False
            try:
                key = base64.b32decode(open_column(self._store.settings.data_keys, row, "totp_secret") or "")
            except (SealError, ValueError):
                return False
            totp, current = _totp(key), int(now // TOTP_STEP_S)
            # every candidate step is computed and compared in constant time, whichever matches
            matched = [step for step in range(current - TOTP_SKEW_STEPS, current + TOTP_SKEW_STEPS + 1)
                       if hmac.compare_digest(totp.generate(step * TOTP_STEP_S), code.encode("ascii"))]
            if not matched or (row.totp_last_step is not None and matched[-1] <= row.totp_last_step):
                return False
            row.totp_last_step = matched[-1]
            return True

        return self._store._write(verify)

    # -- tokens --

    def create_token(self, role: AccessRole, user_name: str | None = None, *,
                     actor: str = "admin") -> tuple[TokenRecord, str]:
        """A new API token: (its record, its secret). The secret is shown once and stored only as its SHA-256.
        Raises ValueError for the admin role (people administer; tokens upload or read), UnknownUser."""
        role = AccessRole(role)
        if role is AccessRole.ADMIN:
            raise ValueError("API tokens are for uploaders and coordinators")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = uuid.uuid4().hex

        def create(s: Session) -> TokenRecord:
            if user_name is not None:
                self._locked_user(s, user_name)
            row = ApiTokenRow(token_id=token_id, secret_sha256=secret_digest(secret), role=role.value,
                              user_name=user_name, created_at=self._store._clock(), revoked_at=None)
            s.add(row)
            s.flush()
            self._store._audit(s, actor=actor, action="token.create", upload_id=None, outcome=token_id)
            return _token(row)

        return self._store._write(create), secret

    def resolve_token(self, secret: str) -> TokenRecord | None:
        """The token whose secret this is, or None when unknown, revoked or of a disabled user. The lookup is by
        digest, so its timing says nothing about the secret."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 128:
            return None
        with self._store._read() as s:
            row = s.scalars(select(ApiTokenRow).where(ApiTokenRow.secret_sha256 == secret_digest(secret))).first()
            if row is None or row.revoked_at is not None:
                return None
            if row.user_name is not None:
                user = s.get(UserRow, row.user_name)
                if user is None or user.disabled:
                    return None
            return _token(row)

    def revoke_token(self, token_id: str, *, actor: str = "admin") -> bool:
        """Revoke the token; True when this call revoked it, False when it was unknown or revoked already."""
        if not _TOKEN_ID.fullmatch(token_id):
            return False

        def revoke(s: Session) -> bool:
            row = s.scalars(select(ApiTokenRow).where(ApiTokenRow.token_id == token_id).with_for_update()).first()
            if row is None or row.revoked_at is not None:
                return False
            row.revoked_at = self._store._clock()
            self._store._audit(s, actor=actor, action="token.revoke", upload_id=None, outcome=token_id)
            return True

        return self._store._write(revoke)

    def list_tokens(self) -> list[TokenRecord]:
        """Every token (revoked ones too), oldest first."""
        with self._store._read() as s:
            rows = s.scalars(select(ApiTokenRow).order_by(ApiTokenRow.created_at, ApiTokenRow.token_id))
            return [_token(r) for r in rows]

    # -- internals --

    def _locked_user(self, s: Session, name: str) -> UserRow:
        row = None
        if USER_NAME.fullmatch(name):
            row = s.scalars(select(UserRow).where(UserRow.name == name).with_for_update()).first()
        if row is None:
            raise UnknownUser("no such user")
        return row

    def _replace_hash(self, name: str, password_hash: str, *, action: str, actor: str | None = None) -> None:
        def replace(s: Session) -> None:
            row = self._locked_user(s, name)
            row.password_hash = password_hash
            self._store._audit(s, actor=actor or name, action=action, upload_id=None, outcome=name)

        self._store._write(replace)


def _user(row: UserRow) -> UserRecord:
    return UserRecord(name=row.name, role=AccessRole(row.role), created_at=row.created_at, disabled=row.disabled,
                      totp=row.totp_secret is not None)


def _totp(key: bytes) -> TOTP:
    return TOTP(key, TOTP_DIGITS, SHA1(), TOTP_STEP_S)  # noqa: S303 - RFC 6238's HMAC-SHA1, what authenticator apps use


def _token(row: ApiTokenRow) -> TokenRecord:
    return TokenRecord(token_id=row.token_id, role=AccessRole(row.role), user_name=row.user_name,
                       created_at=row.created_at, revoked_at=row.revoked_at)
