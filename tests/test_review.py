"""The coordinators' review app (flows/review/) against a real SQLite store in tmp_path, with reports made by the real
pipeline from bundled samples: login, sessions and their expiry, CSRF, the security headers, escaping of hostile file
names and OCR text, the queue's filters, each decision's version and audit row, and who may log in."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fakes import SettableClock as Clock
from fakes import save_as_a_run
from fastapi import FastAPI
from fastapi.testclient import TestClient
from stores import store_settings

from flows.review import MOUNT_PATH
from flows.review.app import CSP, SESSION_COOKIE, create_review_app
from flows.review.messages import draft_patient_message
from flows.review.views import reason_key
from flows.verify import check_file
from pipeline.evaluate import Intake
from pipeline.report import Report
from pipeline.settings import Settings
from pipeline.types import Payer, Status
from storage.access import Access, AccessRole
from storage.review import FieldValue, ReviewAction, ReviewStore
from storage.store import Store, StoreSettings

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "inputs"
PASSWORD = "correct horse battery"
HOSTILE_NAME = '<script>alert("name")</script><img src=x onerror=alert(1)>.pdf'
HOSTILE_TEXT = "<img src=x onerror=alert(2)>{{7*7}}javascript:alert(3)"

# (sample, intake name, payer, the status the pipeline gives it: samples/labels.jsonl)
SAMPLE_CASES = [
    ("visit_note_name_mismatch.pdf", "Karen Walsh", Payer.COMMERCIAL, Status.NEEDS_REVIEW),
    ("visit_note_no_patient.pdf", "Naomi Okafor", Payer.MEDICARE, Status.INCOMPLETE),
    ("visit_note_crps.pdf", "Mary-Kate O'Neil", Payer.COMMERCIAL, Status.COMPLETE),
]


@pytest.fixture(scope="module")
def sample_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Report]:
    """The real pipeline's reports of three bundled samples (run once for the module)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("var"), ner_model="off")
    return {name: check_file(SAMPLES / name, Intake(patient_name=intake, payer=payer), settings)
            for name, intake, payer, _status in SAMPLE_CASES}


@dataclass
class World:
    store: Store
    access: Access
    review: ReviewStore
    clock: Clock
    client: TestClient
    ids: dict[str, str]


@contextmanager
def _world(store_settings: StoreSettings, tmp_path: Path, sample_reports: dict[str, Report]) -> Iterator[World]:
    """Users, the three sample uploads with their reports, and the review app mounted at /review of a site."""
    clock = Clock()
    settings = Settings(data_dir=tmp_path / "var", ner_model="off")
    store = Store(store_settings, clock=clock)
    store.migrate()
    access = Access(store, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    access.add_user("coord", AccessRole.COORDINATOR, PASSWORD)
    access.add_user("boss", AccessRole.ADMIN, PASSWORD)
    access.add_user("sender", AccessRole.UPLOADER, PASSWORD)
    ids: dict[str, str] = {}
    for name, intake, payer, _status in SAMPLE_CASES:
        clock.advance(minutes=1)
        upload, _ = store.add_upload((SAMPLES / name).read_bytes(), owner="clinic", display_name=name,
                                     media_type="application/pdf", intake=Intake(patient_name=intake, payer=payer))
        save_as_a_run(store, upload.id, sample_reports[name])
        ids[name] = upload.id
    site = FastAPI()
    site.mount(MOUNT_PATH, create_review_app(settings, store, access=access))
    try:
        with TestClient(site, base_url="https://testserver", follow_redirects=False) as client:
            yield World(store, access, ReviewStore(store), clock, client, ids)
    finally:
        store.close()


@pytest.fixture
def world(tmp_path: Path, sample_reports: dict[str, Report]) -> Iterator[World]:
    settings = Settings(data_dir=tmp_path / "var", ner_model="off")
    with _world(StoreSettings.of(settings), tmp_path, sample_reports) as w:
        yield w


@pytest.fixture
def pg_world(tmp_path: Path, sample_reports: dict[str, Report]) -> Iterator[World]:
    """The same world over PostgreSQL (a fresh schema of $DOCVERIFY_TEST_PG_URL: tests/stores.py)."""
    with store_settings("postgresql", tmp_path) as pg, _world(pg, tmp_path, sample_reports) as w:
        yield w


def login(client: TestClient, name: str = "coord", password: str = PASSWORD) -> object:
    page = client.get("/review/login")
    csrf = _hidden(page.text, "csrf")
    return client.post("/review/login", data={"username": name, "password": password, "csrf": csrf})


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name} field"
    return match.group(1)


def session_csrf(client: TestClient) -> str:
    return _hidden(client.get("/review/").text, "csrf")


# --- login, sessions, roles -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/review/", "/review/dashboard", "/review/uploads/{id}",
                                  "/review/uploads/{id}/pages/1.png"])
def test_when_not_logged_in_then_every_page_redirects_to_login(world: World, path: str) -> None:
    response = world.client.get(path.format(id=world.ids["visit_note_crps.pdf"]))
    assert response.status_code == 303
    assert response.headers["location"].endswith("/review/login")


def test_when_a_coordinator_logs_in_then_the_cookie_is_httponly_strict_secure_and_scoped_to_review(
        world: World) -> None:
    response = login(world.client)
    assert response.status_code == 303 and response.headers["location"].endswith("/review/")
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    attrs = {a.strip().split("=")[0].lower() for a in cookie.split(";")}
    assert {"httponly", "secure", "samesite", "path"} <= attrs
    assert "samesite=strict" in cookie.lower() and "path=/review" in cookie.lower()
    assert world.client.get("/review/").status_code == 200
    assert any(a.action == "review.login" and a.outcome == "ok" and a.actor == "user:coord"
               for a in world.store.audit_log())


def test_when_served_over_plain_http_then_the_session_cookie_is_not_marked_secure(world: World) -> None:
    client = TestClient(world.client.app, base_url="http://testserver", follow_redirects=False)
    cookie = next(c for c in login(client).headers.get_list("set-cookie")  # type: ignore[attr-defined]
                  if c.startswith(SESSION_COOKIE))
    assert "secure" not in cookie.lower()


@pytest.mark.parametrize(("name", "password"), [
    pytest.param("sender", PASSWORD, id="uploader-role"),
    pytest.param("coord", "wrong password!", id="wrong-password"),
    pytest.param("nobody", PASSWORD, id="unknown-user"),
])
def test_when_the_login_is_not_a_coordinators_then_it_is_refused(world: World, name: str, password: str) -> None:
    response = login(world.client, name, password)
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert SESSION_COOKIE not in world.client.cookies
    assert world.client.get("/review/").status_code == 303


def test_when_a_name_fails_five_times_then_even_the_right_password_is_refused_until_the_lockout_ends(
        world: World) -> None:
    for _ in range(5):
        login(world.client, "coord", "wrong password!")
    locked = login(world.client, "coord", PASSWORD)
    assert locked.status_code == 429 and locked.headers["retry-after"] == "900"  # type: ignore[attr-defined]
    assert world.client.get("/review/").status_code == 303
    world.clock.advance(minutes=10)
    assert login(world.client, "coord", "wrong password!").status_code == 429  # type: ignore[attr-defined]
    world.clock.advance(minutes=6)  # 16 min after the lock: attempts while locked did not extend it
    assert login(world.client, "coord", PASSWORD).status_code == 303  # type: ignore[attr-defined]
    assert world.client.get("/review/").status_code == 200


@pytest.mark.parametrize(("steps", "alive"), [
    pytest.param([14, 14, 14], True, id="active-every-14-min"),
    pytest.param([16], False, id="idle-16-min"),
    pytest.param([14] * 52, False, id="active-but-past-12-h"),
])
def test_when_time_passes_then_sessions_end_by_idle_and_absolute_limits(world: World, steps: list[int],
                                                                         alive: bool) -> None:
    login(world.client)
    for minutes in steps[:-1]:
        world.clock.advance(minutes=minutes)
        assert world.client.get("/review/").status_code == 200
    world.clock.advance(minutes=steps[-1])
    assert (world.client.get("/review/").status_code == 200) is alive


def test_when_a_session_is_abandoned_then_its_row_is_removed_at_the_next_login(world: World) -> None:
    login(world.client)
    abandoned = TestClient(world.client.app, base_url="https://testserver", follow_redirects=False)
    login(abandoned, "boss")
    assert world.review.live_sessions() == 2
    world.clock.advance(minutes=16)
    login(world.client)
    assert world.review.live_sessions() == 1


def test_when_logged_out_then_the_old_session_token_no_longer_works(world: World) -> None:
    login(world.client)
    token = world.client.cookies[SESSION_COOKIE]
    assert world.client.post("/review/logout", data={"csrf": session_csrf(world.client)}).status_code == 303
    world.client.cookies.set(SESSION_COOKIE, token, domain="testserver.local", path="/review")
    assert world.client.get("/review/").status_code == 303
    assert any(a.action == "review.logout" for a in world.store.audit_log())


def test_when_a_user_is_disabled_then_their_live_session_ends(world: World) -> None:
    login(world.client)
    world.access.disable_user("coord")
    assert world.client.get("/review/").status_code == 303


# --- CSRF and headers -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("csrf", [None, "", "forged-token"], ids=["missing", "empty", "forged"])
def test_when_a_decision_has_no_matching_csrf_token_then_it_is_refused_and_nothing_is_stored(
        world: World, csrf: str | None) -> None:
    login(world.client)
    upload_id = world.ids["visit_note_name_mismatch.pdf"]
    data = {"note": "looks fine"} | ({"csrf": csrf} if csrf is not None else {})
    response = world.client.post(f"/review/uploads/{upload_id}/override", data=data)
    assert response.status_code in (403, 422)
    assert world.review.decisions(upload_id) == []


@pytest.mark.parametrize("action", ["confirm", "correct", "incomplete", "override"])
def test_when_a_decision_url_is_fetched_with_get_then_nothing_changes(world: World, action: str) -> None:
    login(world.client)
    upload_id = world.ids["visit_note_name_mismatch.pdf"]
    assert world.client.get(f"/review/uploads/{upload_id}/{action}").status_code == 405
    assert world.review.decisions(upload_id) == []


@pytest.mark.parametrize(("header", "value", "allowed"), [
    pytest.param("origin", "https://evil.example", False, id="other-origin"),
    pytest.param("origin", "null", False, id="opaque-origin"),
    pytest.param("referer", "https://evil.example/page", False, id="other-referer"),
    pytest.param("origin", "https://testserver", True, id="same-origin"),
])
def test_when_a_post_comes_from_another_site_then_it_is_refused_even_with_the_token(
        world: World, header: str, value: str, allowed: bool) -> None:
    login(world.client)
    upload_id = world.ids["visit_note_name_mismatch.pdf"]
    response = world.client.post(f"/review/uploads/{upload_id}/override", headers={header: value},
                                 data={"csrf": session_csrf(world.client), "note": "fine"})
    assert (response.status_code == 303) is allowed
    assert len(world.review.decisions(upload_id)) == (1 if allowed else 0)


def test_when_a_form_field_is_too_long_then_the_answer_is_a_page_that_does_not_echo_it(world: World) -> None:
    login(world.client)
    upload_id = world.ids["visit_note_name_mismatch.pdf"]
    secret = "Zq" + "x" * 5000
    response = world.client.post(f"/review/uploads/{upload_id}/override",
                                 data={"csrf": session_csrf(world.client), "note": secret})
    assert response.status_code == 422 and response.headers["content-type"].startswith("text/html")
    assert "Zqxxx" not in response.text and world.review.decisions(upload_id) == []


def test_when_the_login_form_token_does_not_match_its_cookie_then_login_is_refused(world: World) -> None:
    world.client.get("/review/login")
    response = world.client.post("/review/login", data={"username": "coord", "password": PASSWORD,
                                                        "csrf": "not-the-cookie"})
    assert response.status_code == 403 and SESSION_COOKIE not in world.client.cookies


@pytest.mark.parametrize("path", ["/review/login", "/review/", "/review/dashboard", "/review/uploads/{id}"])
def test_when_any_page_is_served_then_it_has_the_csp_and_anti_framing_headers_and_no_inline_script_or_style(
        world: World, path: str) -> None:
    login(world.client)
    response = world.client.get(path.format(id=world.ids["visit_note_name_mismatch.pdf"]))
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CSP
    assert "'unsafe-inline'" not in CSP and "script-src 'self'" in CSP and "frame-ancestors 'none'" in CSP
    assert response.headers["x-frame-options"] == "DENY"
    # Regression: with Referrer-Policy no-referrer Chromium sends "Origin: null" on form POSTs, so the Origin check
    # refused every login in the browser.
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["cache-control"] == "no-store"
    assert re.search(r"<script(?![^>]*\bsrc=)", response.text) is None
    assert re.search(r"\sstyle=", response.text) is None and re.search(r"\son[a-z]+=", response.text) is None


def test_when_a_page_image_is_requested_then_it_is_a_png_never_cached(world: World) -> None:
    login(world.client)
    response = world.client.get(f"/review/uploads/{world.ids['visit_note_crps.pdf']}/pages/1.png")
    assert response.status_code == 200 and response.content.startswith(b"\x89PNG")
    assert response.headers["cache-control"] == "no-store"
    missing = world.client.get(f"/review/uploads/{world.ids['visit_note_crps.pdf']}/pages/9.png")
    assert missing.status_code == 404
    assert world.client.get("/review/uploads/" + "0" * 32).status_code == 404


# Regression: reads of PHI in the review app (page images of the original) were not audited; only the document
# page was (docs/THREAT-MODEL.md item 48: every view and download audited with the person).
def test_when_a_coordinator_reads_a_document_its_pages_and_the_exports_then_each_read_is_audited_with_their_login(
        world: World) -> None:
    upload_id = world.ids["visit_note_crps.pdf"]
    login(world.client)
    start = len(world.store.audit_log(limit=100_000))
    assert world.client.get(f"/review/uploads/{upload_id}").status_code == 200
    assert world.client.get(f"/review/uploads/{upload_id}/pages/1.png").status_code == 200
    assert world.client.get(f"/review/uploads/{upload_id}/pages/9.png").status_code == 404  # nothing read
    assert world.client.get("/review/export/queue.csv").status_code == 200
    assert world.client.get("/review/export/decisions.csv").status_code == 200
    reads = [(a.actor, a.action, a.upload_id, a.outcome) for a in world.store.audit_log(limit=100_000)[start:]]
    assert reads == [("user:coord", "review.view", upload_id, "ok"),
                     ("user:coord", "review.page_view", upload_id, "page1"),
                     ("user:coord", "review.export.queue", None, reads[2][3]),
                     ("user:coord", "review.export.decisions", None, "rows0")]
    assert world.store.verify_audit_chain()


# --- escaping -------------------------------------------------------------------------------------------------------

def test_when_file_name_intake_name_and_ocr_text_are_hostile_then_they_render_as_text(
        world: World, sample_reports: dict[str, Report]) -> None:
    # docs/THREAT-MODEL.md "Test plan": untrusted text stays inert where it is shown.
    base = sample_reports["visit_note_name_mismatch.pdf"]
    fields = base.fields.model_copy(update={
        "patient_name": base.fields.patient_name.model_copy(update={"value": HOSTILE_TEXT})})
    hostile = base.model_copy(update={"fields": fields, "reasons": [HOSTILE_TEXT, *base.reasons]})
    data = (SAMPLES / "visit_note_name_mismatch.pdf").read_bytes()
    upload, _ = world.store.add_upload(data, owner="other", display_name=HOSTILE_NAME, media_type=None,
                                       intake=Intake(patient_name=HOSTILE_TEXT, payer=Payer.COMMERCIAL))
    save_as_a_run(world.store, upload.id, hostile)
    login(world.client)
    for page in (world.client.get("/review/").text, world.client.get(f"/review/uploads/{upload.id}").text):
        assert HOSTILE_NAME not in page and "<img src=x" not in page and "<script>alert" not in page
        assert "&lt;img src=x onerror=alert(2)&gt;{{7*7}}javascript:alert(3)" in page
    assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;" in world.client.get("/review/").text


# --- the queue ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "expected"), [
    pytest.param("", ["visit_note_name_mismatch.pdf", "visit_note_no_patient.pdf"], id="all-flagged-oldest-first"),
    pytest.param("?status=incomplete", ["visit_note_no_patient.pdf"], id="status"),
    pytest.param("?payer=medicare", ["visit_note_no_patient.pdf"], id="payer"),
    pytest.param("?payer=self_pay", [], id="payer-none"),
    pytest.param("?reason=" + reason_key("no patient name found"), ["visit_note_no_patient.pdf"], id="reason"),
    pytest.param("?reason=no+patient+name+found", ["visit_note_name_mismatch.pdf", "visit_note_no_patient.pdf"],
                 id="reason-text-is-not-a-key"),
])
def test_when_the_queue_is_filtered_then_only_matching_flagged_uploads_show_oldest_first(
        world: World, query: str, expected: list[str]) -> None:
    login(world.client)
    page = world.client.get("/review/" + query).text
    shown = re.findall(r'class="doc-link">([^<]+)</a>', page)
    assert shown == expected


def test_when_an_upload_is_decided_then_it_leaves_the_queue_and_its_reasons_were_listed(world: World) -> None:
    login(world.client)
    page = world.client.get("/review/").text
    assert "no patient name found" in page
    upload_id = world.ids["visit_note_no_patient.pdf"]
    world.client.post(f"/review/uploads/{upload_id}/incomplete",
                      data={"csrf": session_csrf(world.client), "message": "Please send the first page."})
    assert "visit_note_no_patient.pdf" not in world.client.get("/review/").text


# --- decisions ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "form", "action", "status_after"), [
    pytest.param("confirm", {}, ReviewAction.CONFIRM, Status.COMPLETE, id="confirm"),
    pytest.param("correct", {"field": "patient_name", "value": "Karen  Walsh", "box": "typed"},
                 ReviewAction.CORRECT, None, id="correct-typed"),
    pytest.param("incomplete", {"message": "Your screenshot cut off your name: include the top of the page."},
                 ReviewAction.MARK_INCOMPLETE, Status.INCOMPLETE, id="mark-incomplete"),
    pytest.param("override", {"note": "Name confirmed by phone with the patient."},
                 ReviewAction.OVERRIDE_COMPLETE, Status.COMPLETE, id="override"),
])
def test_when_a_coordinator_decides_then_a_new_decision_version_and_an_audit_row_are_stored_and_the_report_is_kept(
        world: World, path: str, form: dict[str, str], action: ReviewAction, status_after: Status | None) -> None:
    login(world.client)
    upload_id = world.ids["visit_note_name_mismatch.pdf"]
    before_reports = world.store.reports(upload_id)
    response = world.client.post(f"/review/uploads/{upload_id}/{path}", data={"csrf": session_csrf(world.client)}
                                 | form)
    assert response.status_code == 303
    (decision,) = world.review.decisions(upload_id)
    assert (decision.seq, decision.action, decision.actor, decision.status_after) == (1, action, "coord",
                                                                                    status_after)
    assert decision.report_version == before_reports[-1].version
    if action is ReviewAction.CORRECT:
        assert decision.before.value == before_reports[-1].report().fields.patient_name.value
        assert decision.after.value == "Karen Walsh" and decision.after.evidence and decision.after.evidence.typed
    else:
        assert decision.before.status is Status.NEEDS_REVIEW and decision.after.status is status_after
    audit = [a for a in world.store.audit_log(upload_id)
             if a.action.startswith("review.") and a.action != "review.view"]
    assert [(a.actor, a.action, a.outcome) for a in audit] == [
        ("user:coord", f"review.{action.value}" + (".patient_name" if action is ReviewAction.CORRECT else ""),
         "decision1")]
    assert world.store.verify_audit_chain()
    assert world.store.reports(upload_id) == before_reports  # the report's own verdict is never overwritten
    page = world.client.get(f"/review/uploads/{upload_id}").text
    assert 'id="report-status">needs_review' in page and "decision v1" in page


def test_when_a_field_is_corrected_with_an_evidence_box_then_the_box_is_stored_and_drawn(world: World) -> None:
    login(world.client)
    upload_id = world.ids["visit_note_no_patient.pdf"]
    page = world.client.get(f"/review/uploads/{upload_id}").text
    box = re.findall(r'<option value="(\d+:[0-9.,]+)">', page)[0]
    world.client.post(f"/review/uploads/{upload_id}/correct",
                      data={"csrf": session_csrf(world.client), "field": "patient_name", "value": "Naomi Okafor",
                            "box": box})
    (decision,) = world.review.decisions(upload_id)
    assert decision.after.evidence is not None and decision.after.evidence.page == int(box.split(":")[0])
    assert decision.before.value is None
    page = world.client.get(f"/review/uploads/{upload_id}").text
    assert page.count(f'data-field="patient_name" data-box="{box}"') == 1
    assert 'corrected-value">Naomi Okafor' in page
    forged = world.client.post(f"/review/uploads/{upload_id}/correct",
                               data={"csrf": session_csrf(world.client), "field": "patient_name", "value": "X",
                                     "box": "1:0,0,612,792"})
    assert forged.status_code == 400 and len(world.review.decisions(upload_id)) == 1


@pytest.mark.parametrize(("path", "form"), [
    pytest.param("override", {"note": "   "}, id="override-without-note"),
    pytest.param("confirm", {}, id="confirm-with-a-field-missing"),
    pytest.param("correct", {"field": "not_a_field", "value": "x"}, id="correct-unknown-field"),
])
def test_when_a_decision_is_incomplete_then_it_is_refused_with_400(world: World, path: str,
                                                                   form: dict[str, str]) -> None:
    login(world.client)
    upload_id = world.ids["visit_note_no_patient.pdf"]  # its patient name is missing
    response = world.client.post(f"/review/uploads/{upload_id}/{path}",
                                 data={"csrf": session_csrf(world.client)} | form)
    assert response.status_code == 400 and world.review.decisions(upload_id) == []


def test_when_decisions_follow_each_other_then_each_is_the_next_version_with_before_and_after(world: World) -> None:
    login(world.client)
    upload_id = world.ids["visit_note_no_patient.pdf"]
    csrf = session_csrf(world.client)
    for value in ("Naomi Okafor", "Naomi A. Okafor"):
        world.clock.advance(minutes=3)
        world.client.post(f"/review/uploads/{upload_id}/correct",
                          data={"csrf": csrf, "field": "patient_name", "value": value})
    world.client.post(f"/review/uploads/{upload_id}/confirm", data={"csrf": csrf})
    first, second, third = world.review.decisions(upload_id)
    assert [d.seq for d in (first, second, third)] == [1, 2, 3]
    assert second.before.value == "Naomi Okafor" and second.after.value == "Naomi A. Okafor"
    assert third.action is ReviewAction.CONFIRM and third.before.status is Status.INCOMPLETE
    page = world.client.get(f"/review/uploads/{upload_id}").text
    assert 'id="report-status">incomplete' in page and 'id="decided-status">complete' in page


def test_when_an_incomplete_document_is_opened_then_the_drafted_message_says_what_is_missing(
        world: World, sample_reports: dict[str, Report]) -> None:
    login(world.client)
    page = world.client.get(f"/review/uploads/{world.ids['visit_note_no_patient.pdf']}").text
    assert "We could not find your name on the document" in page
    screenshot = sample_reports["visit_note_no_patient.pdf"].model_copy(update={
        "upload": sample_reports["visit_note_no_patient.pdf"].upload.model_copy(update={"media_type": "image/png"})})
    assert "Your screenshot cut off your name: please include the top of the page" in draft_patient_message(
        screenshot)


def test_when_the_document_page_is_shown_then_fields_diagnoses_people_coverage_and_boxes_are_there(
        world: World, sample_reports: dict[str, Report]) -> None:
    login(world.client)
    report = sample_reports["visit_note_name_mismatch.pdf"]
    page = world.client.get(f"/review/uploads/{world.ids['visit_note_name_mismatch.pdf']}").text
    assert '<img src="https://testserver/review/uploads/' in page
    assert 'class="box" data-field="patient_name"' in page
    for person in report.people:
        assert person.role.value in page
    for d in report.diagnoses:
        assert d.assertion.value in page
    for reason in report.coverage.reasons:
        assert reason in page
    assert "report v1" in page


# --- the dashboard --------------------------------------------------------------------------------------------------

def test_when_uploads_are_decided_then_the_dashboard_counts_straight_through_and_agreement(world: World) -> None:
    login(world.client)
    csrf = session_csrf(world.client)
    world.clock.advance(minutes=10)
    world.client.post(f"/review/uploads/{world.ids['visit_note_no_patient.pdf']}/incomplete",
                      data={"csrf": csrf, "message": "Please send the first page."})
    world.client.post(f"/review/uploads/{world.ids['visit_note_name_mismatch.pdf']}/correct",
                      data={"csrf": csrf, "field": "patient_name", "value": "Karen Walsh"})
    world.client.post(f"/review/uploads/{world.ids['visit_note_name_mismatch.pdf']}/confirm", data={"csrf": csrf})
    page = world.client.get("/review/dashboard").text
    assert 'id="straight-through">1 of 3' in page
    assert "Patient: 50% of 2" in page  # corrected on one of the two decided documents
    assert "Verdict: 100% of 1" in page  # the incomplete verdict was upheld; needs_review is not a verdict
    assert page.count("<svg") == 5 and "<rect" in page
    assert re.search(r"min</text>", page)  # a median time-to-decision was drawn


def test_when_the_store_is_postgresql_then_sessions_lockout_and_decision_versions_work_the_same(
        pg_world: World) -> None:
    w = pg_world
    for _ in range(5):
        login(w.client, "boss", "wrong password!")
    assert login(w.client, "boss", PASSWORD).status_code == 429  # type: ignore[attr-defined]
    assert login(w.client).status_code == 303  # type: ignore[attr-defined]
    upload_id = w.ids["visit_note_no_patient.pdf"]
    csrf = session_csrf(w.client)
    w.client.post(f"/review/uploads/{upload_id}/correct", data={"csrf": csrf, "field": "patient_name",
                                                                "value": "Naomi Okafor"})
    w.client.post(f"/review/uploads/{upload_id}/confirm", data={"csrf": csrf})
    assert [(d.seq, d.action) for d in w.review.decisions(upload_id)] == [(1, ReviewAction.CORRECT),
                                                                          (2, ReviewAction.CONFIRM)]
    assert w.store.verify_audit_chain()
    assert "visit_note_no_patient.pdf" not in w.client.get("/review/").text
    w.clock.advance(minutes=16)
    assert w.client.get("/review/").status_code == 303


# --- page images ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("sample", "pages"), [
    pytest.param("visit_note_crps.pdf", 1, id="text-pdf"),
    pytest.param("scanned_note_negated.pdf", 1, id="scanned-pdf"),
    pytest.param("mychart_phone_crps.png", 1, id="screenshot-png"),
    pytest.param("fax_referral_neuropathy.tif", None, id="multi-frame-tiff"),
    pytest.param("photo_visit_note_migraine.heic", 1, id="heic-photo"),
])
def test_when_an_original_is_rendered_then_each_page_is_a_png_in_the_readers_points_frame(
        sample: str, pages: int | None) -> None:
    from extractors import imaging, pdf_text
    from flows.review.pages import MAX_VIEW_SIDE_PX, render_pages
    from pipeline.intake import sniff

    data = (SAMPLES / sample).read_bytes()
    images = render_pages(data, hashlib.sha256(data).hexdigest())
    media = sniff(data)
    assert media is not None
    if media.value == "application/pdf":
        rendered = [pdf_text.render_page(data, i) for i in range(pdf_text.count_pages(data))]
        expected = [(r.width_pt, r.height_pt) for r in rendered]
    else:
        expected = [(f.image.width * 72 / f.dpi_x, f.image.height * 72 / f.dpi_y)
                    for f in imaging.iter_frames(data, media)]
    assert pages is None or len(images) == pages
    assert [(round(i.width_pt, 1), round(i.height_pt, 1)) for i in images] == \
        [(round(w, 1), round(h, 1)) for w, h in expected]
    for image in images:
        assert image.png.startswith(b"\x89PNG") and max(image.width_px, image.height_px) <= MAX_VIEW_SIDE_PX
        assert abs(image.scale_x - image.scale_y) / image.scale_x < 0.01


def test_when_the_original_is_not_a_page_format_then_it_is_unrenderable() -> None:
    from flows.review.pages import Unrenderable, render_pages

    with pytest.raises(Unrenderable):
        render_pages(b"<?xml version='1.0'?><ClinicalDocument xmlns='urn:hl7-org:v3'/>", "f" * 64)


# --- exports -------------------------------------------------------------------------------------------------------

def test_when_the_queue_and_decisions_are_exported_then_formula_cells_are_neutralised_and_downloads_are_attachments(
        world: World, sample_reports: dict[str, Report]) -> None:
    # docs/THREAT-MODEL.md "Test plan" item 32: CSV cells a spreadsheet would run as formulas.
    data = (SAMPLES / "visit_note_name_mismatch.pdf").read_bytes()
    upload, _ = world.store.add_upload(data, owner="other", display_name='=HYPERLINK("http://x","y").pdf',
                                       media_type=None, intake=Intake(patient_name=None, payer=Payer.UNKNOWN))
    save_as_a_run(world.store, upload.id, sample_reports["visit_note_name_mismatch.pdf"])
    login(world.client)
    queue = world.client.get("/review/export/queue.csv")
    assert queue.status_code == 200 and queue.headers["content-disposition"].startswith("attachment")
    assert queue.headers["cache-control"] == "no-store"
    assert "\'=HYPERLINK(" in queue.text and ',=HYPERLINK(' not in queue.text and ',"=HYPERLINK(' not in queue.text
    assert queue.text.count(upload.id) == 1 and world.ids["visit_note_crps.pdf"] not in queue.text
    world.client.post(f"/review/uploads/{upload.id}/override",
                      data={"csrf": session_csrf(world.client), "note": "-1+1 checked\r\nby phone"})
    decisions = world.client.get("/review/export/decisions.csv").text.splitlines()
    assert len(decisions) == 2 and "'-1+1 checked by phone" in decisions[1]
    assert [a.action for a in world.store.audit_log() if a.action.startswith("review.export")] == [
        "review.export.queue", "review.export.decisions"]


def test_when_decisions_are_exported_as_labels_then_eval_scores_the_pipeline_against_the_coordinators(
        world: World, tmp_path: Path) -> None:
    from collections import defaultdict

    from evaluation.samples import read_reports
    from evaluation.scoring import load_labels, score
    from flows.review.export import export_labels

    login(world.client)
    csrf = session_csrf(world.client)
    no_patient = world.ids["visit_note_no_patient.pdf"]
    world.client.post(f"/review/uploads/{no_patient}/correct",
                      data={"csrf": csrf, "field": "patient_name", "value": "Naomi Okafor"})
    world.client.post(f"/review/uploads/{no_patient}/confirm", data={"csrf": csrf})
    world.client.post(f"/review/uploads/{world.ids['visit_note_name_mismatch.pdf']}/incomplete",
                      data={"csrf": csrf, "message": "Please send your own document."})
    by_upload = defaultdict(list)
    for d in world.review.all_decisions():
        by_upload[d.upload_id].append(d)
    done = export_labels(world.store, world.review.latest_reports(), by_upload, tmp_path / "decided")
    labels = load_labels(tmp_path / "decided" / "labels.jsonl")
    assert done.labels == 2 and {lb.file for lb in labels} == {f"{no_patient}.pdf",
                                                             f"{world.ids['visit_note_name_mismatch.pdf']}.pdf"}
    assert all((tmp_path / "decided" / "inputs" / lb.file).read_bytes().startswith(b"%PDF") for lb in labels)
    corrected = next(lb for lb in labels if lb.file.startswith(no_patient))
    assert corrected.expected.status is Status.COMPLETE and corrected.expected.patient_name == "Naomi Okafor"
    scores = score(read_reports(labels, tmp_path / "decided" / "reports"))
    assert scores.documents == 2 and scores.status_accuracy == 0.0  # docverify said incomplete / needs_review


# --- metadata of uploaded images (docs/THREAT-MODEL.md "Assets": EXIF, GPS, device, names) ----------------------

META_CANARY = "Zzcanary Qxj"
# PNG chunks that carry pixels and their geometry; anything else (tEXt, zTXt, iTXt, eXIf, iCCP, tIME, ...) is metadata.
PIXEL_CHUNKS = {b"IHDR", b"PLTE", b"tRNS", b"pHYs", b"IDAT", b"IEND"}
# TIFF tags of pixels, their layout and resolution (baseline TIFF 6.0); ImageDescription, Make, Model, Software,
# DateTime, Artist, XMP, IPTC, EXIF and GPS IFDs, ICC profiles and the rest are metadata.
TIFF_PIXEL_TAGS = {254, 256, 257, 258, 259, 262, 266, 273, 274, 277, 278, 279, 282, 283, 284, 292, 293, 296, 297, 317,
                   320, 322, 323, 324, 325, 338, 339}


def _exif() -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010E] = f"{META_CANARY} description"  # ImageDescription
    exif[0x013B] = f"{META_CANARY} artist"  # Artist
    exif[0x0110] = f"{META_CANARY} phone"  # Model
    return exif.tobytes()


def _canary_images() -> dict[str, bytes]:
    """A page (a black bar on white) as PNG with tEXt, XMP (iTXt), eXIf and an ICC profile; as JPEG with EXIF, a
    comment and XMP; and as a two-frame TIFF with ImageDescription and Artist tags. Every one holds META_CANARY."""
    import io

    from PIL import Image, PngImagePlugin

    page = Image.new("RGB", (320, 240), "white")
    page.paste((0, 0, 0), (40, 100, 280, 120))
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", META_CANARY)
    text.add_itxt("XML:com.adobe.xmp", f"<x:xmpmeta>{META_CANARY}</x:xmpmeta>")
    out = {}
    for name, kwargs in [
        ("png", {"format": "PNG", "pnginfo": text, "exif": _exif(), "icc_profile": f"icc {META_CANARY}".encode()}),
        ("jpg", {"format": "JPEG", "exif": _exif(), "comment": META_CANARY.encode(), "quality": 95,
                 "xmp": f"<x:xmpmeta>{META_CANARY}</x:xmpmeta>".encode()}),
        ("tif", {"format": "TIFF", "tiffinfo": {270: f"{META_CANARY} description", 315: META_CANARY},
                 "save_all": True, "append_images": [page.rotate(180)], "dpi": (200, 200)}),
    ]:
        buf = io.BytesIO()
        page.save(buf, **kwargs)
        out[name] = buf.getvalue()
        assert META_CANARY.encode() in out[name], name  # the probe: the canary is there in clear
    return out


def _metadata_of(data: bytes) -> list[str]:
    """What an exported or served image carries besides its pixels: canary hits in its bytes, in its decoded
    metadata, and for PNG its non-pixel chunks (iCCP and zTXt are compressed: the raw bytes would not show them)."""
    import io
    import struct

    from PIL import Image

    found = [f"bytes:{META_CANARY}"] if META_CANARY.encode() in data else []
    with Image.open(io.BytesIO(data)) as im:
        for frame in range(getattr(im, "n_frames", 1)):
            im.seek(frame)
            found += [f"info:{k}" for k in im.info if k not in ("dpi", "compression")]
            if hasattr(im, "tag_v2"):  # TIFF (its getexif() is the frame's tags): any tag pixels do not need
                found += [f"tiff:{tag}" for tag in im.tag_v2 if tag not in TIFF_PIXEL_TAGS]
            else:
                found += [f"exif:{tag}" for tag in im.getexif()]
    if data.startswith(b"\x89PNG"):
        at = 8
        while at < len(data):
            length, kind = struct.unpack(">I4s", data[at:at + 8])
            if kind not in PIXEL_CHUNKS:
                found.append(f"png:{kind.decode('latin-1')}")
            at += 12 + length
    return found


# Regression: a page image the review app served kept the upload's ICC profile (an iCCP chunk), and the originals
# `review-labels` exported were the uploaded bytes, EXIF (GPS, device, names), XMP, PNG text and TIFF tags included.
def test_when_an_image_with_metadata_is_shown_or_exported_then_only_its_pixels_leave_the_store(
        world: World, tmp_path: Path) -> None:
    import io

    from PIL import Image, ImageChops

    from flows.review.export import export_labels

    report = world.review.latest_reports()[0][1].report()
    ids = {}
    for name, data in _canary_images().items():
        upload, _ = world.store.add_upload(data, owner="clinic", display_name=f"scan.{name}", media_type=None,
                                           intake=Intake(patient_name="Ana Garcia", payer=Payer.COMMERCIAL))
        of_these_bytes = report.model_copy(update={"upload": report.upload.model_copy(  # type: ignore[union-attr]
            update={"sha256": upload.sha256})})
        save_as_a_run(world.store, upload.id, of_these_bytes)
        world.review.decide(upload.id, actor="coord", action=ReviewAction.MARK_INCOMPLETE, report_version=1,
                            before=FieldValue(status=Status.COMPLETE), after=FieldValue(status=Status.INCOMPLETE),
                            status_after=Status.INCOMPLETE, note="Please send the first page.")
        ids[name] = upload.id
    login(world.client)
    for name, upload_id in ids.items():
        for number in (1, 2) if name == "tif" else (1,):
            served = world.client.get(f"/review/uploads/{upload_id}/pages/{number}.png")
            assert served.status_code == 200
            assert _metadata_of(served.content) == [], (name, number)

    by_upload = {upload_id: world.review.decisions(upload_id) for upload_id in ids.values()}
    done = export_labels(world.store, world.review.latest_reports(), by_upload, tmp_path / "decided")
    assert set(done.upload_ids) == set(ids.values())
    for name, upload_id in ids.items():
        (exported,) = (tmp_path / "decided" / "inputs").glob(f"{upload_id}.*")
        assert _metadata_of(exported.read_bytes()) == [], name
        # ...and the pixels are the upload's, every frame (JPEG: decoded once, then kept losslessly)
        with Image.open(io.BytesIO(_canary_images()[name])) as original, Image.open(exported) as copy:
            assert getattr(copy, "n_frames", 1) == getattr(original, "n_frames", 1)
            for frame in range(getattr(original, "n_frames", 1)):
                original.seek(frame)
                copy.seek(frame)
                diff = ImageChops.difference(original.convert("RGB"), copy.convert("RGB"))
                assert diff.getbbox() is None, (name, frame)
            if name == "tif":
                assert copy.info["dpi"] == (200, 200)  # the resolution the reader's page size depends on stays


def _add_decided(world: World, data: bytes, name: str) -> str:
    """`data` stored as an upload with a copy of a sample's report (its sha256 swapped in), marked incomplete by a
    coordinator (so `review-labels` exports it)."""
    report = world.review.latest_reports()[0][1].report()
    upload, _ = world.store.add_upload(data, owner="clinic", display_name=name, media_type=None,
                                       intake=Intake(patient_name="Ana Garcia", payer=Payer.COMMERCIAL))
    of_these_bytes = report.model_copy(update={"upload": report.upload.model_copy(  # type: ignore[union-attr]
        update={"sha256": upload.sha256})})
    save_as_a_run(world.store, upload.id, of_these_bytes)
    world.review.decide(upload.id, actor="coord", action=ReviewAction.MARK_INCOMPLETE, report_version=1,
                        before=FieldValue(status=Status.COMPLETE), after=FieldValue(status=Status.INCOMPLETE),
                        status_after=Status.INCOMPLETE, note="Please send the first page.")
    return upload.id


def _pdf_strings(data: bytes) -> str:
    """Every string, name and decoded stream of a PDF's objects (pdfminer), as text: what a reader of the file
    could find in it, compressed or not."""
    import io

    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfparser import PDFParser
    from pdfminer.pdftypes import PDFStream, resolve1

    doc = PDFDocument(PDFParser(io.BytesIO(data)))
    seen: list[str] = []

    def walk(obj: object, depth: int = 0) -> None:
        obj = resolve1(obj)
        if depth > 20:
            return
        if isinstance(obj, PDFStream):
            seen.append(obj.get_data().decode("latin-1"))
            walk(obj.attrs, depth + 1)
        elif isinstance(obj, dict):
            for v in obj.values():
                walk(v, depth + 1)
        elif isinstance(obj, list):
            for v in obj:
                walk(v, depth + 1)
        elif isinstance(obj, bytes):
            seen.append(obj.decode("latin-1"))

    for xref in doc.xrefs:
        for objid in xref.get_objids():
            try:
                walk(doc.getobj(objid))
            except Exception:  # noqa: BLE001, S112 - a free or broken object: nothing in it to find
                continue
    walk(doc.info)
    return "\n".join(seen)


# Regression: `review-labels` exported a decided PDF as the uploaded bytes: its Info dictionary (/Author, /Title,
# /Subject), XMP, outlines and annotations, PHI none of the pages show, went out with it.
def test_when_a_pdf_with_metadata_is_exported_then_only_its_pages_leave_the_store(world: World,
                                                                                 tmp_path: Path) -> None:
    from hostile.generate import CANARY, SSN, pdf_with_metadata_payload

    from extractors.routing import read_document
    from flows.review.export import export_labels
    from pipeline.intake import accept

    data = pdf_with_metadata_payload()
    assert CANARY in _pdf_strings(data) and SSN in _pdf_strings(data)  # the probe finds the planted metadata
    upload_id = _add_decided(world, data, "record.pdf")
    done = export_labels(world.store, world.review.latest_reports(), {upload_id: world.review.decisions(upload_id)},
                         tmp_path / "decided")
    assert done.upload_ids == (upload_id,)
    exported = (tmp_path / "decided" / "inputs" / f"{upload_id}.pdf").read_bytes()
    found = _pdf_strings(exported)
    assert CANARY not in found and SSN not in found and b"Zzcanary" not in exported
    # ...and the pages read exactly as the upload's (text, positions, sizes)
    assert read_document(exported, accept(exported, "x.pdf")).pages == read_document(data, accept(data, "x.pdf")).pages
    login(world.client)
    served = world.client.get(f"/review/uploads/{upload_id}/pages/1.png")
    assert served.status_code == 200 and _metadata_of(served.content) == [] and b"Zzcanary" not in served.content


def _rss() -> int:
    """This process's resident memory now, in bytes (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


# Regression: the review app decoded originals in its own process: a 2 KB PDF whose content stream inflates to 1 GiB
# (or a page with a 30,000 x 30,000 px image) took the API process past 1 GB while rendering its page images.
def test_when_an_original_is_a_decompression_bomb_then_the_review_app_answers_with_its_code_and_stays_small(
        world: World) -> None:
    import threading

    from hostile.generate import pdf_flate_bomb

    upload_id = _add_decided(world, pdf_flate_bomb(1024**3), "bomb.pdf")
    login(world.client)
    world.client.get("/review/")  # warm: the queue page's own memory is not the bomb's
    baseline = peak = _rss()
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss())
            done.wait(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        page = world.client.get(f"/review/uploads/{upload_id}")
        image = world.client.get(f"/review/uploads/{upload_id}/pages/1.png")
        queue = world.client.get("/review/")
    finally:
        done.set()
        sampler.join()
    assert peak - baseline < 200 * 1024**2, f"the review app grew by {(peak - baseline) / 1024**2:.0f} MiB"
    assert page.status_code == 200 and "cannot be shown as images (resource_limit)" in page.text
    assert image.status_code == 404  # no page image, and not rendered again: the failure is cached
    assert queue.status_code == 200  # the app goes on serving


# --- docverify serve ------------------------------------------------------------------------------------------------

def test_when_serve_builds_its_app_then_review_is_mounted_beside_the_api_and_redirects_to_login(
        tmp_path: Path) -> None:
    from flows.api import create_app
    from flows.cli import _with_review_app

    settings = Settings(data_dir=tmp_path / "var", ner_model="off")
    site = _with_review_app(create_app(settings), settings)
    with TestClient(site, base_url="https://testserver", follow_redirects=False) as client:
        response = client.get("/review/")
        assert response.status_code == 303 and response.headers["location"].endswith("/review/login")
        assert client.get("/review/login").status_code == 200
        assert client.get("/healthz").status_code == 200


def test_when_an_asgi_server_runs_the_review_app_alone_then_it_uses_the_environments_store(data_dir: Path) -> None:
    from flows.review import app_from_environment

    with TestClient(app_from_environment(), base_url="https://testserver", follow_redirects=False) as client:
        assert client.get("/review/").headers["location"].endswith("/review/login")
        assert client.get("/review/login").status_code == 200
    assert (data_dir / "docverify.db").is_file()


def test_when_review_labels_runs_then_decided_uploads_become_labels_eval_can_read(
        data_dir: Path, tmp_path: Path, sample_reports: dict[str, Report]) -> None:
    from typer.testing import CliRunner

    from evaluation.scoring import load_labels
    from flows.cli import app
    from flows.tasks import open_store

    store = open_store(Settings(data_dir=data_dir, ner_model="off"))
    name = "visit_note_no_patient.pdf"
    upload, _ = store.add_upload((SAMPLES / name).read_bytes(), owner="clinic", display_name=name,
                                 media_type=None, intake=Intake(patient_name="Naomi Okafor", payer=Payer.MEDICARE))
    save_as_a_run(store, upload.id, sample_reports[name])
    ReviewStore(store).decide(upload.id, actor="coord", action=ReviewAction.MARK_INCOMPLETE, report_version=1,
                              before=FieldValue(status=Status.INCOMPLETE), after=FieldValue(status=Status.INCOMPLETE),
                              status_after=Status.INCOMPLETE, note="Please send the first page.")
    result = CliRunner().invoke(app, ["review-labels", str(tmp_path / "decided")])
    assert result.exit_code == 0, result.output
    (label,) = load_labels(tmp_path / "decided" / "labels.jsonl")
    assert label.file == f"{upload.id}.pdf" and label.expected.status is Status.INCOMPLETE
    assert label.intake.payer is Payer.MEDICARE and "1 labels" in result.output
    # Regression: the originals and reports written out were neither audited nor private.
    exported = [a for a in store.audit_log() if a.action == "review.export.label"]
    assert [(a.upload_id, a.actor.startswith("cli:")) for a in exported] == [(upload.id, True)]
    written = [p for p in (tmp_path / "decided").rglob("*")]
    assert {p.stat().st_mode & 0o777 for p in written if p.is_file()} == {0o600}
    assert {p.stat().st_mode & 0o777 for p in written if p.is_dir()} == {0o700}
