"""One-time codes, the review app's second factor (storage/access.py "One-time codes"): the store's TOTP secrets and
their checks against SQLite and the real PostgreSQL (skipped, saying why, when it cannot be reached), the login form
with and without `review_require_totp`, and `docverify user totp`. Codes are computed here with cryptography's RFC 6238
TOTP from the secret the store hands out, at the time of a settable clock."""

from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from fakes import SettableClock
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from stores import KINDS, store_settings
from typer.testing import CliRunner

from flows.cli import app
from flows.review import MOUNT_PATH
from flows.review.app import SESSION_COOKIE, create_review_app
from pipeline.settings import Settings
from storage.access import Access, AccessRole, UnknownUser
from storage.crypto import Keyring, new_key, sealed_with
from storage.models import UserRow
from storage.store import Store, StoreSettings

PASSWORD = "correct horse battery"
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


World = tuple[Access, Store, SettableClock]
# the review app with one-time codes not required (False) and required (True)
Site = tuple[Access, SettableClock, dict[bool, TestClient]]


def new_clock() -> SettableClock:
    """The store's clock, 10 s into a 30-second step: the time a code is checked at."""
    return SettableClock(datetime(2026, 3, 2, 9, 0, 10, tzinfo=UTC))


def code_at(secret: str, when: datetime) -> str:
    """What an authenticator app shows at `when` for the base32 `secret`."""
    totp = TOTP(base64.b32decode(secret), 6, SHA1(), 30)  # noqa: S303 - RFC 6238's HMAC-SHA1
    return totp.generate(int(when.timestamp())).decode()


@pytest.fixture(params=KINDS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    clock = new_clock()
    with store_settings(request.param, tmp_path) as settings:
        store = Store(settings, clock=clock)
        store.migrate()
        try:
            access = Access(store, hasher=CHEAP)
            access.add_user("coord", AccessRole.COORDINATOR, PASSWORD)
            yield access, store, clock
        finally:
            store.close()


# --- the store ----------------------------------------------------------------------------------------------------

def test_when_codes_are_set_up_then_the_current_code_is_accepted_once_and_a_wrong_one_never(
        world: World) -> None:
    access, _store, clock = world
    assert access.get_user("coord").totp is False  # type: ignore[union-attr]
    enrollment = access.enroll_totp("coord")
    assert access.get_user("coord").totp is True  # type: ignore[union-attr]
    code = code_at(enrollment.secret, clock.now)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert access.verify_totp("coord", wrong) is False
    assert access.verify_totp("coord", code) is True
    assert access.verify_totp("coord", code) is False  # replayed within its step
    clock.advance(seconds=30)
    assert access.verify_totp("coord", code) is False  # replayed a step later, though within the skew
    assert access.verify_totp("coord", code_at(enrollment.secret, clock.now)) is True


def test_when_a_code_is_one_step_old_it_is_accepted_and_two_steps_old_it_is_refused(
        world: World) -> None:
    access, _store, clock = world
    secret = access.enroll_totp("coord").secret
    late = code_at(secret, clock.now)
    clock.advance(seconds=30)
    assert access.verify_totp("coord", late) is True  # typed as the step turned: clock drift, typing time
    stale = code_at(secret, clock.now)
    clock.advance(seconds=60)
    assert access.verify_totp("coord", stale) is False


def test_when_an_earlier_steps_code_follows_a_later_one_then_it_is_refused(world: World) -> None:
    access, _store, clock = world
    secret = access.enroll_totp("coord").secret
    earlier = code_at(secret, clock.now)
    clock.advance(seconds=30)
    assert access.verify_totp("coord", code_at(secret, clock.now)) is True
    assert access.verify_totp("coord", earlier) is False  # an older code, seen over a shoulder, is no way in


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x", "１２３４５６"])
def test_when_the_code_is_malformed_then_it_is_refused(world: World, code: str) -> None:
    access, _store, _clock = world
    access.enroll_totp("coord")
    assert access.verify_totp("coord", code) is False


def test_when_codes_are_removed_or_the_user_is_unknown_then_nothing_verifies(
        world: World) -> None:
    access, store, clock = world
    secret = access.enroll_totp("coord").secret
    access.remove_totp("coord")
    assert access.get_user("coord").totp is False  # type: ignore[union-attr]
    assert access.verify_totp("coord", code_at(secret, clock.now)) is False
    assert access.verify_totp("nobody", "123456") is False
    with pytest.raises(UnknownUser):
        access.enroll_totp("nobody")
    rows = [(a.action, a.outcome) for a in store.audit_log()]
    assert rows[-2:] == [("user.totp_enroll", "coord"), ("user.totp_remove", "coord")]
    assert not any(secret in (a.outcome or "") for a in store.audit_log())
    assert store.verify_audit_chain()


def test_when_codes_are_set_up_again_then_the_old_secret_stops_working(world: World) -> None:
    access, _store, clock = world
    old = access.enroll_totp("coord").secret
    new = access.enroll_totp("coord").secret
    assert old != new and len(base64.b32decode(new)) == 20  # 160 bits
    assert access.verify_totp("coord", code_at(old, clock.now)) is False
    assert access.verify_totp("coord", code_at(new, clock.now)) is True


def test_when_the_secret_is_shown_then_the_uri_is_one_an_authenticator_app_reads() -> None:
    store = Store(StoreSettings("sqlite://", Path("unused")), clock=new_clock())
    store.migrate()
    access = Access(store, hasher=CHEAP)
    access.add_user("coord", AccessRole.COORDINATOR, PASSWORD)
    enrollment = access.enroll_totp("coord")
    uri = urlparse(enrollment.uri)
    query = parse_qs(uri.query)
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert query["secret"] == [enrollment.secret] and query["issuer"] == ["docverify"]
    assert enrollment.secret not in repr(enrollment)  # never in a log line by accident
    store.close()


def test_when_a_data_key_is_configured_then_the_secret_is_sealed_and_still_verifies_after_rotation(
        tmp_path: Path) -> None:
    clock = new_clock()
    keys = Keyring((new_key(),))
    settings = StoreSettings(f"sqlite:///{tmp_path}/docverify.db", tmp_path / "originals", data_keys=keys)
    store = Store(settings, clock=clock)
    store.migrate()
    access = Access(store, hasher=CHEAP)
    access.add_user("coord", AccessRole.COORDINATOR, PASSWORD)
    secret = access.enroll_totp("coord").secret
    with store._read() as s:
        stored = s.scalars(select(UserRow.totp_secret)).one()
    assert stored is not None and secret not in stored and sealed_with(stored) == keys.current[0]
    assert secret.encode() not in (tmp_path / "docverify.db").read_bytes()
    store.close()

    rotated = Store(dataclasses.replace(settings, data_keys=keys.with_new_key()), clock=clock)
    rotated.reseal_all()
    access = Access(rotated, hasher=CHEAP)
    assert access.verify_totp("coord", code_at(secret, clock.now)) is True
    rotated.close()


# --- the login form -----------------------------------------------------------------------------------------------

@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The review app twice over one store: with `review_require_totp` off (False) and on (True)."""
    clock = new_clock()
    store = Store(StoreSettings(f"sqlite:///{tmp_path}/docverify.db", tmp_path / "originals"), clock=clock)
    store.migrate()
    access = Access(store, hasher=CHEAP)
    access.add_user("coord", AccessRole.COORDINATOR, PASSWORD)
    access.add_user("other", AccessRole.COORDINATOR, PASSWORD)
    clients = {}
    for required in (False, True):
        web = FastAPI()
        settings = Settings(data_dir=tmp_path / "var", ner_model="off", review_require_totp=required)
        web.mount(MOUNT_PATH, create_review_app(settings, store, access=access))
        clients[required] = TestClient(web, base_url="https://testserver", follow_redirects=False)
    try:
        yield access, clock, clients
    finally:
        for c in clients.values():
            c.close()
        store.close()


def login(client: TestClient, name: str, code: str | None = None) -> object:
    page = client.get("/review/login")
    csrf = re.search(r'name="csrf" value="([^"]*)"', page.text)
    assert csrf is not None
    data = {"username": name, "password": PASSWORD, "csrf": csrf.group(1)}
    if code is not None:
        data["code"] = code
    return client.post("/review/login", data=data)


def test_when_a_coordinator_has_codes_then_the_login_needs_the_current_one(
        site: Site) -> None:
    access, clock, clients = site
    client = clients[False]
    secret = access.enroll_totp("coord").secret
    for code in (None, "", "000000" if code_at(secret, clock.now) != "000000" else "111111"):
        refused = login(client, "coord", code)
        assert refused.status_code == 401, code  # type: ignore[attr-defined]
        assert "one-time code" in refused.text and SESSION_COOKIE not in client.cookies  # type: ignore[attr-defined]
    code = code_at(secret, clock.now)
    accepted = login(client, "coord", code)
    assert accepted.status_code == 303 and client.cookies.get(SESSION_COOKIE)  # type: ignore[attr-defined]
    client.cookies.clear()
    assert login(client, "coord", code).status_code == 401  # type: ignore[attr-defined]  # used up


def test_when_the_password_is_wrong_then_a_right_code_is_not_used_up(
        site: Site) -> None:
    access, clock, clients = site
    client = clients[False]
    code = code_at(access.enroll_totp("coord").secret, clock.now)
    page = client.get("/review/login")
    csrf = re.search(r'name="csrf" value="([^"]*)"', page.text)
    assert csrf is not None
    wrong = client.post("/review/login", data={"username": "coord", "password": PASSWORD + "x", "code": code,
                                               "csrf": csrf.group(1)})
    assert wrong.status_code == 401
    assert login(client, "coord", code).status_code == 303  # type: ignore[attr-defined]


def test_when_wrong_codes_repeat_then_the_name_is_locked_like_after_wrong_passwords(
        site: Site) -> None:
    access, clock, clients = site
    client = clients[False]
    secret = access.enroll_totp("coord").secret
    wrong = f"{(int(code_at(secret, clock.now)) + 500_000) % 1_000_000:06d}"
    statuses = [login(client, "coord", wrong).status_code for _ in range(6)]  # type: ignore[attr-defined]
    assert statuses[-1] == 429
    assert login(client, "coord", code_at(secret, clock.now)).status_code == 429  # type: ignore[attr-defined]


def test_when_codes_are_required_then_a_coordinator_without_them_is_refused_and_one_with_them_logs_in(
        site: Site) -> None:
    access, clock, clients = site
    client = clients[True]
    refused = login(client, "other")
    assert refused.status_code == 403 and "docverify user totp" in refused.text  # type: ignore[attr-defined]
    assert SESSION_COOKIE not in client.cookies
    code = code_at(access.enroll_totp("coord").secret, clock.now)
    assert login(client, "coord", code).status_code == 303  # type: ignore[attr-defined]
    # the same person without codes logs in where they are not required
    assert login(clients[False], "other").status_code == 303  # type: ignore[attr-defined]


def test_when_the_login_page_is_shown_then_it_asks_for_a_one_time_code(
        site: Site) -> None:
    _access, _clock, clients = site
    page = clients[False].get("/review/login")
    assert 'name="code"' in page.text and 'autocomplete="one-time-code"' in page.text


# --- the command --------------------------------------------------------------------------------------------------

def test_when_the_command_sets_up_codes_then_the_printed_secret_logs_the_person_in(data_dir: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["user", "add", "ana", "--role", "coordinator", "--password-stdin"],
                         input=PASSWORD + "\n").exit_code == 0
    made = runner.invoke(app, ["user", "totp", "ana"])
    assert made.exit_code == 0, made.output
    uri, secret = made.stdout.strip().splitlines()[-2:]
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri

    store = Store(StoreSettings(f"sqlite:///{data_dir}/docverify.db", data_dir / "originals"))
    access = Access(store)
    assert access.verify_totp("ana", code_at(secret, datetime.now(UTC))) is True
    assert runner.invoke(app, ["user", "totp", "ana", "--remove"]).exit_code == 0
    assert access.get_user("ana").totp is False  # type: ignore[union-attr]
    assert runner.invoke(app, ["user", "totp", "nobody"]).exit_code == 2
    store.close()
