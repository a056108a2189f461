"""The review app in a real browser: headless Chromium (Debian's package, /usr/bin/chromium) driven by Playwright
against the app served by uvicorn on a free local port, over a real SQLite store with reports the pipeline made from
bundled samples. A coordinator logs in, opens the queue and a flagged document, clicks a field and sees its evidence
box highlighted, corrects the field and sees the correction in the history, confirms and sees both verdicts and the
audit entries; hostile file names and read text render as text; the pages raise no CSP violation.

The screenshots in docs/screenshots/ (README "Review app") are written by this test when
DOCVERIFY_SCREENSHOTS names that folder (`make screenshots`); otherwise they go to the test's temporary folder, so an
ordinary run leaves the tracked files alone."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fakes import save_as_a_run
from fastapi import FastAPI

from flows.review import MOUNT_PATH
from flows.review.app import create_review_app
from flows.verify import check_file
from pipeline.evaluate import Intake
from pipeline.settings import Settings
from pipeline.types import Payer, Status
from storage.access import Access, AccessRole
from storage.review import FieldValue, ReviewAction, ReviewStore
from storage.store import Store, StoreSettings

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package (scripts/setup.sh); Playwright cannot download browsers here
ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "inputs"
SCREENSHOTS_ENV = "DOCVERIFY_SCREENSHOTS"
PASSWORD = "correct horse battery"
HOSTILE_NAME = "<img src=x onerror=alert(1)>visit.pdf"
HOSTILE_TEXT = "<script>alert(2)</script><img src=x onerror=alert(3)>{{7*7}}"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing: run `make setup` "
                                                               "(installs Debian's chromium package)")

UPLOADS = [
    ("visit_note_name_mismatch.pdf", "Karen Walsh", Payer.COMMERCIAL),
    ("visit_note_no_patient.pdf", "Naomi Okafor", Payer.MEDICARE),
    ("visit_note_uncertain.pdf", "Tomas Ortega", Payer.COMMERCIAL),
    ("visit_note_crps.pdf", "Mary-Kate O'Neil", Payer.COMMERCIAL),
    ("visit_note_negated.pdf", "Francois Dubois", Payer.COMMERCIAL),
]


def _save_small(png: bytes, path: Path) -> None:
    """A screenshot as a 64-colour palette PNG (a fraction of the size; the UI has few colours)."""
    import io

    from PIL import Image

    Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=64).save(path, optimize=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Store, dict[str, str]]]:
    """The review app under uvicorn on 127.0.0.1 (base URL, store, upload ids by sample name)."""
    import uvicorn

    settings = Settings(data_dir=tmp_path_factory.mktemp("var"), ner_model="off")
    store = Store(StoreSettings.of(settings))
    store.migrate()
    Access(store, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)).add_user(
        "coord", AccessRole.COORDINATOR, PASSWORD)
    ids: dict[str, str] = {}
    for name, intake, payer in UPLOADS:
        report = check_file(SAMPLES / name, Intake(patient_name=intake, payer=payer), settings)
        display = HOSTILE_NAME if name == "visit_note_negated.pdf" else name
        upload, _ = store.add_upload((SAMPLES / name).read_bytes(), owner="clinic", display_name=display,
                                     media_type="application/pdf", intake=Intake(patient_name=intake, payer=payer))
        save_as_a_run(store, upload.id, report)
        ids[name] = upload.id
    # The same bytes from another owner, with a report whose read text is an XSS payload (docs/THREAT-MODEL.md item 31).
    base_report = check_file(SAMPLES / "visit_note_name_mismatch.pdf", Intake(patient_name=None), settings)
    name_field = base_report.fields.patient_name
    evidence = [e.model_copy(update={"text": HOSTILE_TEXT}) for e in name_field.evidence]
    hostile = base_report.model_copy(update={
        "fields": base_report.fields.model_copy(update={"patient_name": name_field.model_copy(
            update={"value": HOSTILE_TEXT, "evidence": evidence})}),
        "status": Status.NEEDS_REVIEW, "reasons": [HOSTILE_TEXT]})
    upload, _ = store.add_upload((SAMPLES / "visit_note_name_mismatch.pdf").read_bytes(), owner="portal",
                                 display_name="scan.pdf", media_type=None,
                                 intake=Intake(patient_name=HOSTILE_TEXT, payer=Payer.UNKNOWN))
    save_as_a_run(store, upload.id, hostile)
    ids["hostile"] = upload.id
    site = FastAPI()
    site.mount(MOUNT_PATH, create_review_app(settings, store))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(site, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", store, ids
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


def test_when_a_coordinator_works_a_flagged_document_in_the_browser_then_the_box_highlights_and_the_correction_shows(
        served: tuple[str, Store, dict[str, str]], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path)

    base, store, ids = served
    review = ReviewStore(store)
    # One earlier decision, so the dashboard has something to chart.
    review.decide(ids["visit_note_uncertain.pdf"], actor="coord", action=ReviewAction.OVERRIDE_COMPLETE,
                  report_version=1, before=FieldValue(), after=FieldValue(), note="confirmed with the clinic")
    shots.mkdir(parents=True, exist_ok=True)
    csp_errors: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

            page.goto(f"{base}/review/")
            assert page.url.endswith("/review/login")
            page.fill("input[name=username]", "coord")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/review/")
            rows = page.locator("a.doc-link")
            assert rows.count() == 4  # flagged and undecided (two, the hostile-named, the hostile-text); not the rest
            assert page.get_by_text(HOSTILE_NAME).count() == 1  # shown as text, not as an element
            _save_small(page.screenshot(), shots / "queue.png")

            page.click("text=visit_note_name_mismatch.pdf")
            page.wait_for_selector("svg.overlay rect.box")
            page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
            box = page.locator('rect.box[data-field="patient_name"]').first
            assert "highlight" not in (box.get_attribute("class") or "")
            page.click('button.field-button[data-field="patient_name"]')
            assert "highlight" in (box.get_attribute("class") or "")
            assert page.locator("rect.box.highlight").count() == page.locator(
                'rect.box[data-field="patient_name"]').count()
            assert page.locator('tr.field.selected[data-field="patient_name"]').count() == 1
            _save_small(page.screenshot(), shots / "document.png")

            box.click()  # picks the box as the correction's evidence
            assert page.locator("#correct-box").input_value() == box.get_attribute("data-box")
            assert page.locator("#correct-field").input_value() == "patient_name"
            page.fill("#correct-value", "Karen Walsh")
            page.click("#correct-form button[type=submit]")
            page.wait_for_selector(".history .h-decision")
            history = page.locator(".history").inner_text()
            assert "decision v1: correct patient_name" in history and "Karen Walsh · page 1 box" in history
            assert page.locator(".corrected-value").inner_text() == "Karen Walsh"

            page.click("#confirm-form button[type=submit]")
            page.wait_for_selector("#decided-status.st-complete")
            assert "decision v2: confirm" in page.locator(".history").inner_text()
            assert page.locator("#report-status").inner_text() == "needs_review"  # the report's verdict is kept
            actions = page.locator(".audit .audit-action").all_inner_texts()
            decisions = [a for a in actions if a != "review.page_view"]  # page images are audited reads too
            assert decisions[-2:] == ["review.correct.patient_name", "review.confirm"]
            assert "review.page_view" in actions

            page.goto(f"{base}/review/uploads/{ids['hostile']}")
            page.click('button.field-button[data-field="patient_name"]')
            assert page.locator("tr.field.selected .value").inner_text() == HOSTILE_TEXT  # text, not markup
            assert page.locator("main img").count() == page.locator("figure.page").count()  # no injected <img>
            assert page.locator("main script").count() == 0

            page.goto(f"{base}/review/dashboard")
            assert page.locator("svg.chart-svg").count() == 5
            _save_small(page.screenshot(full_page=True), shots / "dashboard.png")
        finally:
            browser.close()
    assert csp_errors == [] and dialogs == []
    assert store.verify_audit_chain()


def test_when_a_coordinator_with_one_time_codes_logs_in_in_the_browser_then_the_code_is_needed(
        served: tuple[str, Store, dict[str, str]]) -> None:
    import base64
    from datetime import UTC, datetime

    from cryptography.hazmat.primitives.hashes import SHA1
    from cryptography.hazmat.primitives.twofactor.totp import TOTP
    from playwright.sync_api import sync_playwright

    base, store, _ids = served
    access = Access(store, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    access.add_user("coord2", AccessRole.COORDINATOR, PASSWORD)
    secret = access.enroll_totp("coord2").secret
    totp = TOTP(base64.b32decode(secret), 6, SHA1(), 30)  # noqa: S303 - RFC 6238's HMAC-SHA1, as the apps compute it
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page()
            page.goto(f"{base}/review/login")
            page.fill("input[name=username]", "coord2")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")  # no code
            assert page.locator("p.error").inner_text().startswith("Wrong name, password or one-time code")
            page.fill("input[name=username]", "coord2")
            page.fill("input[name=password]", PASSWORD)
            page.fill("input[name=code]", totp.generate(int(datetime.now(UTC).timestamp())).decode())
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/review/")
            assert page.locator("a.doc-link").count() >= 1
        finally:
            browser.close()
