"""Cases: several uploads of one patient judged together (docs/POLICY.md "Cases").

Every case here is built from real reports: the generated screenshots and PDFs of `samples/generator/multi.py` are
run through the real pipeline (`flows.verify.check_case_upload`) once per module, then judged by
`pipeline.cases.judge_case`.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fakes import save_as_a_run
from fastapi.testclient import TestClient

from extractors.identifiers import find_identifiers
from flows.api import create_app
from flows.verify import check_case_upload
from pipeline.cases import CaseIntake, CaseUpload, judge_case
from pipeline.evaluate import Intake
from pipeline.policy import load_policy
from pipeline.settings import Settings
from pipeline.types import (
    CheckResult,
    Document,
    IdentifierKind,
    Identity,
    MediaType,
    Payer,
    Source,
    Status,
    page_from_lines,
)
from samples.generator.multi import case_samples
from storage.access import Access, AccessRole
from storage.store import Store, StoreSettings

SETTINGS = Settings()
SAMPLES = {c.case_id: c for c in case_samples()}


@pytest.fixture(scope="module")
def uploads() -> dict[str, list[CaseUpload]]:
    """Each sample case's uploads, checked by the real pipeline with the case's intake (upload id = file name)."""
    out: dict[str, list[CaseUpload]] = {}
    for c in SAMPLES.values():
        intake = Intake(patient_name=c.patient_name, payer=Payer(c.payer))
        out[c.case_id] = [check_case_upload(f.make(), f.name, f.name, intake, SETTINGS) for f in c.files]
    return out


@pytest.mark.parametrize("case_id", list(SAMPLES))
def test_when_a_sample_case_is_judged_then_its_status_is_the_labelled_one(
        uploads: dict[str, list[CaseUpload]], case_id: str) -> None:
    c = SAMPLES[case_id]
    report = judge_case(CaseIntake(c.patient_name, Payer(c.payer)), uploads[case_id], load_policy(), {})
    assert report.status.value == c.status, report.reasons
    if c.status == "complete":
        assert report.fields.physician_name.value == c.physician_name
        assert report.fields.pain_diagnosis.icd10 == c.pain_icd10


def test_when_facts_are_spread_over_three_screenshots_then_the_case_is_complete_and_each_field_names_its_screenshot(
        uploads: dict[str, list[CaseUpload]]) -> None:
    ups = uploads["portal_split"]
    assert all(u.report.status is Status.INCOMPLETE for u in ups)  # judged one by one, none is complete
    report = judge_case(CaseIntake("Dolores Whitcombe", Payer.COMMERCIAL), ups, load_policy(), {})
    assert report.status is Status.COMPLETE
    f = report.fields
    assert {e.file_name for e in f.physician_name.evidence} == {"portal_split_2_care_team.png"}
    assert {e.file_name for e in f.pain_diagnosis.evidence} == {"portal_split_3_problems.png"}
    assert "portal_split_1_profile.png" in {e.file_name for e in f.patient_name.evidence}
    cited = f.physician_name.evidence + f.pain_diagnosis.evidence
    assert all(e.upload_id == e.file_name and e.page == 1 for e in cited)
    assert [u.report for u in report.uploads] == [u.report for u in ups]  # each upload's own report is kept
    assert report.coverage.insurance_billable is True


def test_when_the_name_is_cropped_off_the_diagnosis_screenshot_then_the_case_needs_review_naming_it(
        uploads: dict[str, list[CaseUpload]]) -> None:
    report = judge_case(CaseIntake("Dolores Whitcombe", Payer.COMMERCIAL), uploads["portal_split_cropped"],
                        load_policy(), {})
    assert report.status is Status.NEEDS_REVIEW
    assert report.upload("portal_cropped_3_problems.png").identity is Identity.UNNAMED  # type: ignore[union-attr]
    assert any("portal_cropped_3_problems.png" in r and "ties it to the case's patient" in r for r in report.reasons)
    assert report.fields.pain_diagnosis.value is None  # the fact is not counted


@pytest.mark.parametrize("position", [0, 1, 3])
def test_when_a_case_holds_a_strangers_screenshot_then_it_is_never_complete(
        uploads: dict[str, list[CaseUpload]], position: int) -> None:
    ups = list(uploads["portal_stranger"])
    stranger = ups.pop(3)
    ups.insert(position, stranger)
    assert judge_case(CaseIntake("Harold Kettering", Payer.COMMERCIAL), ups[:3] if position == 3 else [
        u for u in ups if u is not stranger], load_policy(), {}).status is Status.COMPLETE  # complete without it
    report = judge_case(CaseIntake("Harold Kettering", Payer.COMMERCIAL), ups, load_policy(), {})
    assert report.status is Status.NEEDS_REVIEW
    assert report.upload("stranger_4_other_account.png").identity is Identity.OTHER_PATIENT  # type: ignore[union-attr]
    assert report.check("uploads_same_patient").result is CheckResult.FAIL  # type: ignore[union-attr]
    assert any("stranger_4_other_account.png" in r and "different patient" in r for r in report.reasons)


def test_when_a_stranger_is_the_only_other_upload_of_an_incomplete_case_then_it_still_needs_review(
        uploads: dict[str, list[CaseUpload]]) -> None:
    ups = [uploads["portal_stranger"][0], uploads["portal_stranger"][3]]
    report = judge_case(CaseIntake("Harold Kettering", Payer.COMMERCIAL), ups, load_policy(), {})
    assert report.status is Status.NEEDS_REVIEW
    assert "no upload of the patient shows the treating physician" in report.reasons


def test_when_two_uploads_name_different_treating_physicians_then_the_case_needs_review(
        uploads: dict[str, list[CaseUpload]]) -> None:
    report = judge_case(CaseIntake("Trevor Lindahl", Payer.COMMERCIAL), uploads["portal_two_physicians"],
                        load_policy(), {})
    assert report.status is Status.NEEDS_REVIEW
    assert report.check("single_treating_physician").result is CheckResult.FAIL  # type: ignore[union-attr]
    assert any(r.startswith("different treating physicians") for r in report.reasons)


def test_when_a_diagnosis_is_affirmed_on_one_upload_and_negated_on_another_then_the_case_needs_review(
        uploads: dict[str, list[CaseUpload]]) -> None:
    report = judge_case(CaseIntake("Leonard Baptiste", Payer.COMMERCIAL), uploads["diagnosis_negated"],
                        load_policy(), {})
    assert report.status is Status.NEEDS_REVIEW
    assert report.check("pain_diagnosis_consistent").result is CheckResult.FAIL  # type: ignore[union-attr]
    assert any("affirmed on" in r and "negated on" in r and "negated_1_note.pdf" in r for r in report.reasons)


def test_when_a_name_cannot_be_compared_but_its_dob_matches_an_upload_with_the_intake_name_then_it_counts(
        uploads: dict[str, list[CaseUpload]]) -> None:
    profile, note = uploads["note_initial_linked"]
    assert note.report.status is Status.NEEDS_REVIEW  # alone, "R. Calloway" cannot be compared with the intake
    report = judge_case(CaseIntake("Ruth Calloway", Payer.MEDICARE), [profile, note], load_policy(), {})
    assert report.upload("linked_2_note.pdf").identity is Identity.LINKED  # type: ignore[union-attr]
    assert report.status is Status.COMPLETE
    assert report.coverage.insurance_billable is False  # Medicare: superbill only
    # Without the shared date of birth nothing ties the note to the patient: its facts lead to review at most.
    unlinked = replace(note, identifiers=())
    report = judge_case(CaseIntake("Ruth Calloway", Payer.MEDICARE), [profile, unlinked], load_policy(), {})
    assert report.upload("linked_2_note.pdf").identity is Identity.UNCONFIRMED  # type: ignore[union-attr]
    assert report.status is Status.NEEDS_REVIEW


def test_when_a_case_has_one_upload_then_it_is_judged_like_that_upload(
        uploads: dict[str, list[CaseUpload]]) -> None:
    note = uploads["diagnosis_negated"][0]
    assert note.report.status is Status.COMPLETE
    report = judge_case(CaseIntake("Leonard Baptiste", Payer.COMMERCIAL), [note], load_policy(), {})
    assert report.status is Status.COMPLETE
    assert report.fields.physician_name.value == note.report.fields.physician_name.value
    assert report.coverage == note.report.coverage


def test_when_no_name_was_given_for_the_case_then_it_is_never_complete(
        uploads: dict[str, list[CaseUpload]]) -> None:
    report = judge_case(CaseIntake(None, Payer.COMMERCIAL), uploads["portal_split"], load_policy(), {})
    assert report.status is Status.NEEDS_REVIEW
    assert all(u.identity is Identity.UNCONFIRMED for u in report.uploads)


def test_when_every_upload_is_unreadable_then_the_case_is_rejected_and_one_unreadable_upload_needs_review(
        uploads: dict[str, list[CaseUpload]]) -> None:
    intake = Intake(patient_name="Dolores Whitcombe", payer=Payer.COMMERCIAL)
    bad = check_case_upload(b"not a document", "broken.png", "broken", intake, SETTINGS)
    assert bad.report.status is Status.REJECTED
    policy = load_policy()
    assert judge_case(CaseIntake("Dolores Whitcombe"), [bad], policy, {}).status is Status.REJECTED
    report = judge_case(CaseIntake("Dolores Whitcombe"), [*uploads["portal_split"], bad], policy, {})
    assert report.status is Status.NEEDS_REVIEW
    assert any("broken.png" in r and "could not be read" in r for r in report.reasons)
    assert judge_case(CaseIntake("Dolores Whitcombe"), [], policy, {}).status is Status.INCOMPLETE


@pytest.mark.parametrize(("lines", "expected"), [
    pytest.param(["Patient: Ann Lee   DOB: 03/14/1962"], [("date_of_birth", "1962-03-14")], id="dob-us"),
    pytest.param(["Date of Birth", "1962-03-14"], [("date_of_birth", "1962-03-14")], id="label-above-value"),
    pytest.param(["Born March 4, 1950"], [("date_of_birth", "1950-03-04")], id="dob-words"),
    pytest.param(["MRN: 00-482-913"], [("mrn", "00482913")], id="mrn-separators"),
    pytest.param(["Medical Record Number #A77120"], [("mrn", "A77120")], id="mrn-long-label"),
    pytest.param(["Visit date 03/14/2024", "Account 1234567"], [], id="unlabelled-values-ignored"),
    pytest.param(["DOB: 02/30/1962"], [], id="impossible-date"),
])
def test_when_identifiers_are_labelled_then_they_are_found_normalised(lines: list[str],
                                                                       expected: list[tuple[str, str]]) -> None:
    doc = Document("0" * 64, MediaType.PDF, 1, (page_from_lines(1, lines, source=Source.TEXT_LAYER, reason="t"),))
    found = find_identifiers(doc)
    assert [(x.kind.value, x.value) for x in found] == expected
    assert all(isinstance(x.kind, IdentifierKind) and x.page == 1 for x in found)


# --- the command line: `docverify check a.png b.png c.png` reports the case -------------------------------------


def test_when_check_is_given_several_files_then_it_prints_the_case_report(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from flows.cli import app

    c = SAMPLES["portal_split"]
    paths = []
    for f in c.files:
        (tmp_path / f.name).write_bytes(f.make())
        paths.append(str(tmp_path / f.name))
    runner = CliRunner()
    result = runner.invoke(app, ["check", *paths, "--patient-name", c.patient_name, "--payer", c.payer,
                                 "--external-id", "REQ-1"])
    assert result.exit_code == 0, result.output
    case = json.loads(result.stdout)
    assert case["kind"] == "case" and case["status"] == "complete"
    assert case["intake"]["external_id"] == "REQ-1"
    assert [u["file_name"] for u in case["uploads"]] == [f.name for f in c.files]
    assert [u["upload_id"] for u in case["uploads"]] == ["1", "2", "3"]
    assert {e["file_name"] for e in case["fields"]["physician_name"]["evidence"]} == {c.files[1].name}
    text = runner.invoke(app, ["check", *paths, "--patient-name", c.patient_name, "--format", "text"])
    assert text.exit_code == 0
    assert text.stdout.startswith("case: COMPLETE")
    assert f"(on {c.files[2].name} page 1)" in text.stdout


# --- the store and the API: cases stored, judged again on each upload, decisions kept -------------------------------


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, Store, dict[str, str]]]:
    """The upload API over a migrated SQLite store, with an uploader's and a coordinator's token; Prefect
    unreachable, so uploads stay pending until the test verifies them with the production step
    (`flows.tasks.verify_claimed`)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    store = Store(StoreSettings(f"sqlite:///{tmp_path}/docverify.db", tmp_path / "originals"))
    store.migrate()
    access = Access(store)
    _, uploader = access.create_token(AccessRole.UPLOADER)
    _, other = access.create_token(AccessRole.UPLOADER)
    _, coordinator = access.create_token(AccessRole.COORDINATOR)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{port}/api"}), \
            TestClient(create_app(Settings(_env_file=None), store)) as client:  # type: ignore[call-arg]
        yield client, store, {"uploader": uploader, "other": other, "coordinator": coordinator}
    store.close()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _verify(store: Store, upload_id: str) -> None:
    from flows.tasks import verify_claimed, worker_id

    claimed = store.claim(upload_id, worker_id())
    assert claimed is not None
    verify_claimed(store, upload_id, SETTINGS, claimed.fence)


def test_when_uploads_are_added_to_a_case_then_each_one_judges_it_again_and_a_decision_is_kept_beside_the_verdict(
        api: tuple[TestClient, Store, dict[str, str]], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client, store, tokens = api
    c = SAMPLES["portal_split"]
    created = client.post("/api/cases", json={"patient_name": c.patient_name, "payer": c.payer,
                                              "external_id": "REQ-7"}, headers=_bearer(tokens["uploader"]))
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    assert c.patient_name not in created.text  # ids only in the answer

    ids = []
    for f in c.files[:2]:
        r = client.post(f"/api/cases/{case_id}/uploads", files={"file": (f.name, f.make(), "image/png")},
                        headers=_bearer(tokens["uploader"]))
        assert r.status_code == 202, r.text
        ids.append(r.json()["upload_id"])
        view = client.get(f"/api/cases/{case_id}/report", headers=_bearer(tokens["uploader"])).json()
        assert view["state"] == "processing" and r.json()["upload_id"] in view["pending_uploads"]
        _verify(store, ids[-1])
    view = client.get(f"/api/cases/{case_id}/report", headers=_bearer(tokens["uploader"])).json()
    assert view["state"] == "done" and view["version"] == 4  # judged when each upload was added and read
    assert view["status"] == "incomplete"  # no diagnosis yet
    assert [u["upload_id"] for u in view["report"]["uploads"]] == ids

    decided = client.post(f"/api/cases/{case_id}/decision", json={"status": "incomplete", "note": "asked for the "
                                                                  "problem list"},
                          headers=_bearer(tokens["coordinator"]))
    assert decided.status_code == 200, decided.text
    assert client.post(f"/api/cases/{case_id}/decision", json={"status": "complete"},
                       headers=_bearer(tokens["uploader"])).status_code == 403

    f = c.files[2]
    r = client.post(f"/api/cases/{case_id}/uploads", files={"file": (f.name, f.make(), "image/png")},
                    headers=_bearer(tokens["uploader"]))
    assert r.status_code == 202 and r.json()["position"] == 3
    _verify(store, r.json()["upload_id"])
    view = client.get(f"/api/cases/{case_id}/report", headers=_bearer(tokens["uploader"])).json()
    assert view["status"] == "complete" and view["version"] == 6
    evidence = view["report"]["fields"]["pain_diagnosis"]["evidence"]
    assert {e["upload_id"] for e in evidence} == {r.json()["upload_id"]}
    # The coordinator's decision was made on version 4: it is kept and shown beside the new verdict.
    assert view["decision"]["status"] == "incomplete"
    assert view["decision"]["report_version"] == 4 and view["decision"]["on_earlier_version"] is True

    audit = [a for a in store.audit_log() if a.action.startswith("case.")]
    assert [a.action for a in audit].count("case.evaluate") == 6
    assert all(c.patient_name not in a.outcome for a in audit)
    # Another uploader's token does not see the case (the same answer as an unknown id).
    assert client.get(f"/api/cases/{case_id}/report", headers=_bearer(tokens["other"])).status_code == 404
    assert client.get("/api/cases/0123/report", headers=_bearer(tokens["uploader"])).status_code == 404
    # PHI: the intake name and the file names reach the store and the report, never a log line (docs/CONVENTIONS.md
    # "PHI").
    assert c.patient_name not in caplog.text and "Whitcombe" not in caplog.text
    assert all(f.name not in caplog.text for f in c.files)


def test_when_an_upload_of_a_case_is_sent_again_to_another_case_then_it_is_refused(
        api: tuple[TestClient, Store, dict[str, str]]) -> None:
    client, _, tokens = api
    f = SAMPLES["portal_split"].files[0]
    first, second = (client.post("/api/cases", json={"patient_name": "Dolores Whitcombe", "payer": "commercial"},
                                 headers=_bearer(tokens["uploader"])).json()["case_id"] for _ in range(2))
    data = f.make()
    assert client.post(f"/api/cases/{first}/uploads", files={"file": (f.name, data, "image/png")},
                       headers=_bearer(tokens["uploader"])).status_code == 202
    again = client.post(f"/api/cases/{first}/uploads", files={"file": (f.name, data, "image/png")},
                        headers=_bearer(tokens["uploader"]))
    assert again.status_code == 200 and again.json()["position"] == 1
    refused = client.post(f"/api/cases/{second}/uploads", files={"file": (f.name, data, "image/png")},
                          headers=_bearer(tokens["uploader"]))
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "case_upload_refused"


# --- batch: the manifest's optional `case` column ------------------------------------------------------------------


def test_when_manifest_rows_share_a_case_then_batch_outputs_judge_them_together(tmp_path: Path) -> None:
    from flows.batch import case_results, ingest_folder, load_manifest, load_manifest_cases, results_for, write_outputs

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rows = ["file,patient_name,payer,case"]
    for case_id in ("portal_split", "portal_split_cropped"):
        c = SAMPLES[case_id]
        for f in c.files:
            (inbox / f.name).write_bytes(f.make())
            rows.append(f"{f.name},{c.patient_name},{c.payer},=req-{case_id}")  # a formula-like id: escaped in CSV
    lone = SAMPLES["diagnosis_negated"].files[0]
    (inbox / lone.name).write_bytes(lone.make())
    rows.append(f"{lone.name},Leonard Baptiste,commercial,")
    manifest = tmp_path / "intake.csv"
    manifest.write_text("\n".join(rows) + "\n")

    store = Store(StoreSettings(f"sqlite:///{tmp_path}/docverify.db", tmp_path / "originals"))
    store.migrate()
    intakes, cases = load_manifest(manifest), load_manifest_cases(manifest)
    assert lone.name not in cases and len(set(cases.values())) == 2
    ingest_folder(store, SETTINGS, inbox, intakes, "inbox")
    for record in store.list_uploads():
        _verify(store, record.id)
    files = sorted(inbox.iterdir())
    results = results_for(store, files, owner="inbox")
    judged = {c.case_id: c for c in case_results(store, results, cases, intakes, SETTINGS)}
    assert judged["=req-portal_split"].status == "complete"
    assert judged["=req-portal_split_cropped"].status == "needs_review"
    out = tmp_path / "out"
    write_outputs(results, out, list(judged.values()))
    lines = (out / "cases.csv").read_text().splitlines()
    assert lines[0] == "case,status,files,reasons"
    assert any(line.startswith("'=req-portal_split,complete,") for line in lines)
    saved = json.loads((out / "cases" / "_req-portal_split.case.json").read_text())
    assert saved["kind"] == "case" and saved["status"] == "complete"
    assert "<h2>Cases</h2>" in (out / "summary.html").read_text()
    assert (out / f"{lone.name}.json").is_file()  # the file outside any case keeps its own report
    store.close()


def test_when_rows_of_one_case_name_different_patients_then_the_manifest_is_refused(tmp_path: Path) -> None:
    from flows.batch import ManifestError, load_manifest_cases

    manifest = tmp_path / "m.csv"
    manifest.write_text("file,patient_name,payer,case\na.png,Ann Lee,commercial,c1\nb.png,Bob Roe,commercial,c1\n")
    with pytest.raises(ManifestError) as e:
        load_manifest_cases(manifest)
    assert "row 3" in e.value.detail and "Bob" not in e.value.detail
    plain = tmp_path / "plain.csv"
    plain.write_text("file,patient_name,payer\na.png,Ann Lee,commercial\n")
    assert load_manifest_cases(plain) == {}


# --- samples and evaluation: the bundled cases, scored by `docverify eval` -----------------------------------------


def test_when_the_bundled_cases_are_regenerated_then_they_are_identical_and_labelled(tmp_path: Path) -> None:
    from evaluation.cases import load_case_labels
    from samples.generator.multi import write_cases

    bundled = Path(__file__).resolve().parents[1] / "samples" / "cases"
    write_cases(tmp_path)
    assert sorted(p.name for p in (tmp_path / "inputs").iterdir()) == sorted(
        p.name for p in (bundled / "inputs").iterdir())
    for p in (tmp_path / "inputs").iterdir():
        assert p.read_bytes() == (bundled / "inputs" / p.name).read_bytes(), p.name
    labels = load_case_labels(bundled / "labels.jsonl")
    assert [lb.case for lb in labels] == list(SAMPLES)
    assert {lb.expected.status.value for lb in labels} == {"complete", "needs_review", "incomplete"}


def test_when_eval_scores_saved_case_reports_then_a_wrongly_complete_case_fails_it(
        uploads: dict[str, list[CaseUpload]], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from evaluation.cases import load_case_labels, score_cases
    from flows.cli import app

    bundled = Path(__file__).resolve().parents[1] / "samples" / "cases"
    labels = load_case_labels(bundled / "labels.jsonl")
    pairs = [(lb, judge_case(CaseIntake(lb.intake.patient_name, lb.intake.payer), uploads[lb.case], load_policy(),
                             {})) for lb in labels]
    scores = score_cases(pairs)
    assert scores.status_accuracy == 1.0 and scores.wrongly_complete == ()
    assert scores.physician_correct == scores.physician_expected > 0
    assert scores.pain_correct == scores.pain_expected > 0

    # A folder in eval's shape whose only case is labelled needs_review but whose saved report says complete.
    (tmp_path / "labels.jsonl").write_text("")
    (tmp_path / "cases").mkdir()
    wrong = labels[1].model_copy(update={"case": "portal_split"})  # the cropped case's label on the complete case
    (tmp_path / "cases" / "labels.jsonl").write_text(wrong.model_dump_json() + "\n")
    saved = tmp_path / "reports" / "cases"
    saved.mkdir(parents=True)
    (saved / "portal_split.case.json").write_text(pairs[0][1].model_dump_json())
    result = CliRunner().invoke(app, ["eval", str(tmp_path), "--reports", str(tmp_path / "reports")])
    assert result.exit_code == 1
    assert "1 cases wrongly complete > 0" in result.output


def test_when_an_unnamed_upload_shows_only_the_patients_surname_then_the_case_is_not_complete(
        uploads: dict[str, list[CaseUpload]]) -> None:
    ups = uploads["portal_surname_only"]
    assert judge_case(CaseIntake("Dolores Whitcombe", Payer.COMMERCIAL), ups[:3], load_policy(),
                      {}).status is Status.COMPLETE
    report = judge_case(CaseIntake("Dolores Whitcombe", Payer.COMMERCIAL), ups, load_policy(), {})
    assert report.status is Status.NEEDS_REVIEW
    assert any(r.startswith('upload "surname_4_problems.png"') and "surname" in r for r in report.reasons)


def test_when_saved_reports_hold_no_case_reports_then_eval_says_cases_are_not_scored(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from flows.cli import app

    # Regression: `make demo` scores the batch's saved reports, which hold no case reports; eval must not crash.
    (tmp_path / "labels.jsonl").write_text("")
    (tmp_path / "cases").mkdir()
    bundled = Path(__file__).resolve().parents[1] / "samples" / "cases" / "labels.jsonl"
    (tmp_path / "cases" / "labels.jsonl").write_text(bundled.read_text())
    (tmp_path / "reports").mkdir()
    result = CliRunner().invoke(app, ["eval", str(tmp_path), "--reports", str(tmp_path / "reports")])
    assert isinstance(result.exception, SystemExit | None), result.exception  # no crash (no single labels: exit 1)
    assert f"{len(SAMPLES)} cases not scored" in result.output


@pytest.mark.parametrize(("case_id", "message"), [
    ("portal_split_cropped", "We have your name and your doctor's name, but the page that shows your diagnosis does "
                             "not show your name."),
    ("portal_no_diagnosis", "We have your name and your doctor's name, but no page shows your diagnosis."),
    ("portal_split", None),
])
def test_when_a_case_is_not_complete_then_the_patient_message_says_which_piece_is_missing(
        uploads: dict[str, list[CaseUpload]], case_id: str, message: str | None) -> None:
    c = SAMPLES[case_id]
    report = judge_case(CaseIntake(c.patient_name, Payer(c.payer)), uploads[case_id], load_policy(), {})
    assert report.patient_message == message


# --- the review app: a case is one item of the queue, its uploads side by side with the evidence boxes -------------


def test_when_a_case_waits_then_the_review_app_shows_it_as_one_item_with_its_uploads_side_by_side(
        uploads: dict[str, list[CaseUpload]], tmp_path: Path) -> None:
    import re

    from argon2 import PasswordHasher
    from fastapi import FastAPI

    from flows.cases import rejudge
    from flows.review import MOUNT_PATH
    from flows.review.app import create_review_app
    from storage.cases import CaseStore

    store = Store(StoreSettings(f"sqlite:///{tmp_path}/docverify.db", tmp_path / "originals"))
    store.migrate()
    access = Access(store, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    access.add_user("coord", AccessRole.COORDINATOR, "correct horse battery")
    c = SAMPLES["portal_split_cropped"]
    cases = CaseStore(store)
    case = cases.create("clinic", CaseIntake(c.patient_name, Payer(c.payer), external_id="REQ-9"), actor="test")
    hostile = "<script>alert(1)</script>.png"  # a file name is the uploader's text: shown escaped
    ids = []
    for i, (f, checked) in enumerate(zip(c.files, uploads[c.case_id], strict=True)):
        record, _ = store.add_upload(f.make(), owner="clinic", display_name=hostile if i == 0 else f.name,
                                     media_type="image/png", intake=Intake(c.patient_name, Payer(c.payer)))
        save_as_a_run(store, record.id, checked.report)
        cases.save_identifiers(record.id, checked.identifiers)
        cases.add_upload(case.id, record.id, actor="test")
        ids.append(record.id)
    rejudge(store, case.id, SETTINGS, actor="test", upload_id=ids[-1])

    site = FastAPI()
    site.mount(MOUNT_PATH, create_review_app(SETTINGS, store, access=access))
    with TestClient(site, base_url="https://testserver", follow_redirects=False) as client:
        page = client.get("/review/login")
        csrf = re.search(r'name="csrf" value="([^"]*)"', page.text)
        assert csrf is not None
        assert client.post("/review/login", data={"username": "coord", "password": "correct horse battery",
                                                  "csrf": csrf.group(1)}).status_code == 303
        queue = client.get("/review/").text
        assert all(f"/review/uploads/{i}" not in queue for i in ids)  # not one item per upload
        case_queue = client.get("/review/cases").text
        assert f"/review/cases/{case.id}" in case_queue and "REQ-9" in case_queue
        html = client.get(f"/review/cases/{case.id}").text
        form_csrf = re.search(r'name="csrf" value="([^"]*)"', html)
        assert form_csrf is not None
        assert client.post(f"/review/cases/{case.id}/decide",
                           data={"csrf": "forged", "status": "complete"}).status_code == 403
        decided = client.post(f"/review/cases/{case.id}/decide",
                              data={"csrf": form_csrf.group(1), "status": "incomplete", "note": "asked again"})
        assert decided.status_code == 303
        assert f"/review/cases/{case.id}" not in client.get("/review/cases").text  # decided: leaves the queue
        assert 'id="case-decision">incomplete' in client.get(f"/review/cases/{case.id}").text
    assert html.count('class="case-upload"') == 3
    assert all(f"/review/uploads/{i}/pages/1.png" in html for i in ids)
    assert 'data-field="physician_name"' in html and 'data-field="patient_name"' in html
    assert "the page that shows your diagnosis does not show your name" in html
    assert hostile not in html and "&lt;script&gt;alert(1)&lt;/script&gt;.png" in html
    assert any(a.action == "review.case_view" for a in store.audit_log())
    assert any(a.action == "case.decide" and a.actor == "user:coord" for a in store.audit_log())
    store.close()


def test_when_an_upload_of_a_case_fails_on_our_side_then_the_case_is_judged_again_and_not_complete(
        uploads: dict[str, list[CaseUpload]], tmp_path: Path) -> None:
    from flows.cases import case_uploads
    from flows.tasks import rejudge_case_of, worker_id
    from storage.cases import CaseStore

    store = Store(StoreSettings(f"sqlite:///{tmp_path}/docverify.db", tmp_path / "originals"))
    store.migrate()
    cases = CaseStore(store)
    c = SAMPLES["portal_split"]
    case = cases.create("clinic", CaseIntake(c.patient_name, Payer(c.payer)), actor="test")
    ids = []
    for f, checked in zip(c.files, uploads[c.case_id], strict=True):
        record, _ = store.add_upload(f.make(), owner="clinic", display_name=f.name, media_type="image/png",
                                     intake=Intake(c.patient_name, Payer(c.payer)))
        cases.add_upload(case.id, record.id, actor="test")
        ids.append(record.id)
    for upload_id, checked in zip(ids[:2], uploads[c.case_id][:2], strict=True):
        save_as_a_run(store, upload_id, checked.report)
    claimed = store.claim(ids[2], worker_id())
    assert claimed is not None
    store.mark_failed(ids[2], "processing_timeout", fence=claimed.fence)
    rejudge_case_of(store, ids[2], SETTINGS)
    judged, waiting, failed = case_uploads(store, case.id)
    assert len(judged) == 2 and waiting == [] and [f.upload_id for f in failed] == [ids[2]]
    latest = cases.latest_report(case.id)
    assert latest is not None and latest.status is Status.NEEDS_REVIEW
    assert any("could not be processed (processing_timeout)" in r for r in latest.report().reasons)
    store.close()


# Regression: intake names, file names, the identifiers that link a case's uploads, case reports and notes were
# stored in clear even with a data key configured (docs/THREAT-MODEL.md item 50; found by tests/test_phi_canary.py).
def test_when_a_data_key_is_configured_then_a_case_links_by_its_dob_with_nothing_in_clear_before_and_after_rotation(
        uploads: dict[str, list[CaseUpload]], tmp_path: Path) -> None:
    from sqlalchemy import text

    from flows.cases import rejudge
    from storage.cases import CaseStore
    from storage.crypto import Keyring, new_key
    from storage.review import FieldValue, ReviewAction, ReviewStore

    c = SAMPLES["note_initial_linked"]
    database = tmp_path / "docverify.db"
    settings = StoreSettings(f"sqlite:///{database}", tmp_path / "originals", data_keys=Keyring((new_key(),)))
    store = Store(settings)
    store.migrate()
    cases = CaseStore(store)
    case = cases.create("clinic", CaseIntake(c.patient_name, Payer(c.payer)), actor="test")
    ids = []
    for f, checked in zip(c.files, uploads[c.case_id], strict=True):
        record, _ = store.add_upload(f.make(), owner="clinic", display_name=f"{c.patient_name} {f.name}",
                                     media_type=None, intake=Intake(c.patient_name, Payer(c.payer)))
        save_as_a_run(store, record.id, checked.report)
        cases.save_identifiers(record.id, checked.identifiers)
        cases.add_upload(case.id, record.id, actor="test")
        ids.append(record.id)
    dob = next(x.value for x in uploads[c.case_id][1].identifiers if x.kind is IdentifierKind.DATE_OF_BIRTH)
    report = rejudge(store, case.id, SETTINGS, actor="test", upload_id=ids[-1]).report()
    assert report.status is Status.COMPLETE
    assert report.upload(ids[1]).identity is Identity.LINKED  # type: ignore[union-attr]  # by the DOB
    cases.decide(case.id, Status.COMPLETE, actor="coord", note=f"{c.patient_name} confirmed by phone")
    ReviewStore(store).decide(ids[1], actor="coord", action=ReviewAction.MARK_INCOMPLETE, report_version=1,
                              before=FieldValue(status=Status.NEEDS_REVIEW),
                              after=FieldValue(status=Status.INCOMPLETE), note=f"{c.patient_name}, DOB {dob}")

    def digests() -> list[str]:
        with store.engine.connect() as conn:
            return sorted(conn.execute(text("SELECT value_hmac FROM upload_identifiers")).scalars())

    def in_clear() -> list[str]:
        store.close()
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("docverify.db*"))
        return [n for n in (c.patient_name, c.patient_name.split()[-1], dob, dob.replace("-", "/"), "linked_2_note")
                if n.lower().encode() in raw.lower()]

    assert in_clear() == []
    before = digests()
    rotated = settings.data_keys.with_new_key()  # type: ignore[union-attr]
    store = Store(StoreSettings(settings.database_url, settings.originals_dir, data_keys=rotated))
    store.reseal_all()
    store = Store(StoreSettings(settings.database_url, settings.originals_dir, data_keys=rotated.only_current()))
    cases = CaseStore(store)
    assert digests() != before and len(digests()) == len(before)  # re-keyed with the new data key
    assert set(cases.identifiers(ids[1])) == set(uploads[c.case_id][1].identifiers)
    again = rejudge(store, case.id, SETTINGS, actor="test", upload_id=None).report()
    assert again.status is Status.COMPLETE and again.upload(ids[1]).identity is Identity.LINKED  # type: ignore[union-attr]
    assert cases.get(case.id).intake.patient_name == c.patient_name  # type: ignore[union-attr]
    assert store.get(ids[0]).display_name == f"{c.patient_name} linked_1_profile.png"  # type: ignore[union-attr]
    assert cases.latest_decision(case.id).note == f"{c.patient_name} confirmed by phone"  # type: ignore[union-attr]
    assert ReviewStore(store).decisions(ids[1])[0].note == f"{c.patient_name}, DOB {dob}"
    assert in_clear() == []
