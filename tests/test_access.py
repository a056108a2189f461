"""storage.access (people, API tokens) and the `docverify user` / `docverify token` commands, against SQLite
(tmp_path) and the real PostgreSQL (one fresh schema per test, as tests/test_store.py does; skipped, saying why,
when $DOCVERIFY_TEST_PG_URL — default postgresql+psycopg://root@127.0.0.1:5432/test — cannot be reached)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session
from stores import KINDS, migrated_store
from typer.testing import CliRunner

from flows.cli import app
from storage.access import Access, AccessRole, UnknownUser, UserExists, secret_digest
from storage.models import ApiTokenRow, UserRow
from storage.store import Store, StoreSettings

PASSWORD = "correct horse battery"
# Cheap argon2id parameters for tests that hash many times (the defaults cost ~50 ms and 64 MiB per hash).
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated store: SQLite in tmp_path, or a fresh schema of the real PostgreSQL (tests/stores.py)."""
    with migrated_store(request.param, tmp_path) as s:
        yield s


@pytest.fixture
def access(store: Store) -> Access:
    return Access(store, hasher=CHEAP)


class CountingHasher(PasswordHasher):
    """argon2id with cheap parameters that counts verifications (the seam `Access(hasher=...)`)."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:  # noqa: A002 (the library's name)
        self.verified += 1
        return super().verify(hash, password)


# --- users --------------------------------------------------------------------------------------------------------

def test_when_a_user_is_added_then_only_the_right_password_authenticates(access: Access, store: Store) -> None:
    added = access.add_user("maria.lopez", AccessRole.COORDINATOR, PASSWORD)
    assert (added.name, added.role, added.disabled) == ("maria.lopez", AccessRole.COORDINATOR, False)
    assert access.authenticate("maria.lopez", PASSWORD) == added
    assert access.authenticate("maria.lopez", PASSWORD + "x") is None
    assert access.get_user("maria.lopez") == added
    with Session(store.engine) as s:
        stored = s.scalars(select(UserRow.password_hash)).one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_when_a_name_is_taken_then_adding_it_again_raises_user_exists(access: Access) -> None:
    access.add_user("ana", AccessRole.UPLOADER, PASSWORD)
    with pytest.raises(UserExists):
        access.add_user("ana", AccessRole.ADMIN, "another password")
    assert access.get_user("ana") is not None and access.get_user("ana").role is AccessRole.UPLOADER  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["", "a" * 65, "has space", "semi;colon", ".hidden", "-dash", "ünïcode", "a/b",
                                  "line\nbreak"],
                         ids=["empty", "too-long", "space", "semicolon", "leading-dot", "leading-dash", "non-ascii",
                              "slash", "newline"])
def test_when_a_name_is_malformed_then_add_user_raises_value_error(access: Access, name: str) -> None:
    with pytest.raises(ValueError, match="user name"):
        access.add_user(name, AccessRole.UPLOADER, PASSWORD)
    assert access.get_user(name) is None


def test_when_a_password_is_too_short_then_add_user_raises_value_error(access: Access) -> None:
    with pytest.raises(ValueError, match="password"):
        access.add_user("ana", AccessRole.UPLOADER, "short")
    assert access.get_user("ana") is None


def test_when_the_user_is_unknown_or_disabled_then_authentication_still_verifies_one_hash(store: Store) -> None:
    hasher = CountingHasher()
    access = Access(store, hasher=hasher)
    access.add_user("ana", AccessRole.UPLOADER, PASSWORD)
    access.disable_user("ana")
    assert access.authenticate("nobody", PASSWORD) is None
    assert hasher.verified == 1  # the dummy hash: an unknown name costs what a known one does
    assert access.authenticate("ana", PASSWORD) is None
    assert hasher.verified == 2
    assert access.get_user("ana").disabled  # type: ignore[union-attr]


def test_when_the_hash_parameters_changed_then_a_login_rehashes_the_password(store: Store) -> None:
    Access(store, hasher=CHEAP).add_user("ana", AccessRole.UPLOADER, PASSWORD)
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    assert Access(store, hasher=stronger).authenticate("ana", PASSWORD) is not None
    with Session(store.engine) as s:
        stored = s.scalars(select(UserRow.password_hash)).one()
    assert not stronger.check_needs_rehash(stored)
    assert "m=2048,t=2" in stored
    assert [a.action for a in store.audit_log()][-1] == "user.rehash"


def test_when_a_password_is_set_then_the_old_one_fails_and_the_new_one_works(access: Access) -> None:
    access.add_user("ana", AccessRole.UPLOADER, PASSWORD)
    access.set_password("ana", "a new password")
    assert access.authenticate("ana", PASSWORD) is None
    assert access.authenticate("ana", "a new password") is not None
    with pytest.raises(UnknownUser):
        access.set_password("nobody", "a new password")


# --- tokens -------------------------------------------------------------------------------------------------------

def test_when_a_token_is_created_then_its_secret_resolves_and_only_its_digest_is_stored(
        access: Access, store: Store) -> None:
    access.add_user("ana", AccessRole.UPLOADER, PASSWORD)
    record, secret = access.create_token(AccessRole.UPLOADER, "ana")
    assert secret.startswith("dv_") and len(secret) >= 40
    assert access.resolve_token(secret) == record
    assert (record.role, record.user_name, record.revoked_at) == (AccessRole.UPLOADER, "ana", None)
    with Session(store.engine) as s:
        row = s.get(ApiTokenRow, record.token_id)
        assert row is not None
        stored = [str(v) for v in (row.token_id, row.secret_sha256, row.role, row.user_name)]
    assert row.secret_sha256 == secret_digest(secret)
    assert not any(secret in v or secret[3:] in v for v in stored)
    assert access.resolve_token(secret + "x") is None
    assert access.resolve_token("not-a-token") is None


def test_when_a_token_is_revoked_then_it_no_longer_resolves(access: Access) -> None:
    record, secret = access.create_token(AccessRole.COORDINATOR)
    other, other_secret = access.create_token(AccessRole.UPLOADER)
    assert access.revoke_token(record.token_id) is True
    assert access.revoke_token(record.token_id) is False  # already revoked
    assert access.revoke_token(uuid.uuid4().hex) is False  # unknown
    assert access.resolve_token(secret) is None
    assert access.resolve_token(other_secret) == other
    listed = {t.token_id: t for t in access.list_tokens()}
    assert listed[record.token_id].revoked_at is not None and listed[other.token_id].revoked_at is None


def test_when_the_tokens_user_is_disabled_then_the_token_no_longer_resolves(access: Access) -> None:
    access.add_user("ana", AccessRole.UPLOADER, PASSWORD)
    _, secret = access.create_token(AccessRole.UPLOADER, "ana")
    access.disable_user("ana")
    assert access.resolve_token(secret) is None


@pytest.mark.parametrize(("role", "user", "error"), [
    (AccessRole.ADMIN, None, ValueError),
    (AccessRole.UPLOADER, "nobody", UnknownUser),
], ids=["admin-role", "unknown-user"])
def test_when_a_token_is_asked_for_wrongly_then_none_is_created(access: Access, role: AccessRole, user: str | None,
                                                                 error: type[Exception]) -> None:
    with pytest.raises(error):
        access.create_token(role, user)
    assert access.list_tokens() == []


def test_when_access_changes_then_each_change_is_in_the_audit_chain(access: Access, store: Store) -> None:
    access.add_user("ana", AccessRole.UPLOADER, PASSWORD)
    record, _ = access.create_token(AccessRole.UPLOADER, "ana")
    access.revoke_token(record.token_id)
    access.set_password("ana", "a new password")
    access.disable_user("ana")
    rows = [(a.action, a.outcome) for a in store.audit_log()]
    assert rows == [("user.add", "ana"), ("token.create", record.token_id), ("token.revoke", record.token_id),
                    ("user.password", "ana"), ("user.disable", "ana")]
    assert store.verify_audit_chain()


# --- the commands -------------------------------------------------------------------------------------------------

def test_when_the_commands_add_a_user_and_a_token_then_the_printed_token_resolves(data_dir: Path) -> None:
    runner = CliRunner()
    added = runner.invoke(app, ["user", "add", "ana", "--role", "uploader", "--password-stdin"],
                          input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    created = runner.invoke(app, ["token", "create", "--role", "uploader", "--user", "ana"])
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("dv_") and " " not in secret

    store = Store(StoreSettings(f"sqlite:///{data_dir}/docverify.db", data_dir / "originals"))
    access = Access(store)
    token = access.resolve_token(secret)
    assert token is not None and token.user_name == "ana"
    assert access.authenticate("ana", PASSWORD) is not None

    listed = runner.invoke(app, ["token", "list"])
    assert listed.exit_code == 0 and token.token_id in listed.stdout and secret not in listed.stdout
    assert runner.invoke(app, ["token", "revoke", token.token_id]).exit_code == 0
    assert access.resolve_token(secret) is None
    assert runner.invoke(app, ["token", "revoke", token.token_id]).exit_code == 1
    store.close()


def test_when_the_user_exists_or_the_role_is_unknown_then_the_commands_refuse(data_dir: Path) -> None:
    runner = CliRunner()
    args = ["user", "add", "ana", "--role", "coordinator", "--password-stdin"]
    assert runner.invoke(app, args, input=PASSWORD + "\n").exit_code == 0
    assert runner.invoke(app, args, input=PASSWORD + "\n").exit_code == 2
    assert runner.invoke(app, ["token", "create", "--role", "admin"]).exit_code == 2  # tokens: uploader|coordinator
    assert runner.invoke(app, ["token", "create", "--role", "uploader", "--user", "nobody"]).exit_code == 2
