"""`docverify check` and `docverify eval`: the contract a script or a coordinator at a terminal relies on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
runner = CliRunner()


def test_when_a_readable_upload_is_checked_then_json_follows_the_contract_and_exit_is_0() -> None:
    result = runner.invoke(app, ["check", str(SAMPLES / "inputs" / "visit_note_crps.pdf"),
                                 "--patient-name", "Mary-Kate O'Neil", "--payer", "commercial"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["status"] == "complete"
    for key in ("patient_name", "physician_name", "pain_diagnosis"):
        field = report["fields"][key]
        assert {"value", "confidence", "evidence"} <= field.keys()
        ev = field["evidence"][0]
        assert {"page", "text", "bbox", "source"} <= ev.keys() and ev["source"] == "text_layer"
    assert report["fields"]["pain_diagnosis"]["category"] == "crps"
    assert report["fields"]["pain_diagnosis"]["icd10"].startswith("G90.5")
    assert report["coverage"]["insurance_billable"] is True
    assert any(c["id"] == "patient_name_matches_intake" and c["result"] == "pass" for c in report["checks"])
    assert all({"text", "icd10", "category", "assertion"} <= d.keys() for d in report["diagnoses"])
    assert report["error"] is None
    assert any(k.startswith("rules/") for k in report["versions"])


@pytest.mark.parametrize(("name", "code"), [("empty.pdf", "empty_file"), ("html_disguised.pdf", "unsupported_type"),
                                            ("truncated.pdf", "unreadable_file"), ("encrypted.pdf", "pdf_encrypted")])
def test_when_an_upload_is_unreadable_then_a_rejected_report_is_printed_and_exit_is_3(name: str, code: str) -> None:
    result = runner.invoke(app, ["check", str(SAMPLES / "inputs" / name)])
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    assert report["status"] == "rejected"
    assert report["error"]["code"] == code
    assert report["error"]["message"].endswith(".")


USAGE_ERRORS = [
    ["check"],
    ["check", "/nonexistent/upload.pdf"],
    ["check", str(SAMPLES / "inputs" / "visit_note_crps.pdf"), "--payer", "bitcoin"],
    ["check", str(SAMPLES / "inputs" / "visit_note_crps.pdf"), "--format", "xml"],
]


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=["no_path", "missing_file", "bad_payer", "bad_format"])
def test_when_the_command_is_misused_then_exit_is_2(args: list[str]) -> None:
    assert runner.invoke(app, args).exit_code == 2


def test_when_text_format_is_asked_then_a_person_readable_summary_is_printed() -> None:
    result = runner.invoke(app, ["check", str(SAMPLES / "inputs" / "visit_note_medicare_rsd.pdf"), "--payer",
                                 "medicare", "--format", "text"])
    assert result.exit_code == 0
    assert "COMPLETE" in result.stdout
    assert "Insurance billable: no (superbill only: Medicare)" in result.stdout
    assert not result.stdout.lstrip().startswith("{")


def test_when_saved_reports_are_scored_below_threshold_then_eval_exits_1(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    line = {"file": "empty.pdf", "kind": "corrupt", "purpose": "p", "intake": {"payer": "commercial"},
            "expected": {"status": "complete", "patient_name": "A B"}}
    labels.write_text(json.dumps(line) + "\n")
    reports = tmp_path / "reports"
    reports.mkdir()
    rejected = runner.invoke(app, ["check", str(SAMPLES / "inputs" / "empty.pdf")])
    (reports / "empty.pdf.json").write_text(rejected.stdout)
    result = runner.invoke(app, ["eval", str(tmp_path), "--reports", str(reports)])
    assert result.exit_code == 1
    assert "below threshold" in result.output


def test_when_audit_verify_runs_then_it_exits_0_on_a_sound_chain_and_1_after_tampering(data_dir, tmp_path,
                                                                                      monkeypatch) -> None:
    from sqlalchemy import text

    from flows.tasks import open_store
    from pipeline.evaluate import Intake
    from pipeline.settings import Settings

    key = tmp_path / "keys" / "audit.key"
    assert runner.invoke(app, ["audit", "init-key", str(key)]).exit_code == 0
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_text().strip()) == 64
    assert runner.invoke(app, ["audit", "init-key", str(key)]).exit_code == 2  # never overwritten
    monkeypatch.setenv("DOCVERIFY_AUDIT_KEY_FILE", str(key))
    store = open_store(Settings())
    store.add_upload(b"%PDF-cli", owner="t", display_name="x.pdf", media_type=None, intake=Intake())
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "1 rows, 1 keyed: ok" in ok.stdout
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'someone-else'"))
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1 and "hash_mismatch at row 1" in bad.stdout


def test_when_purge_runs_then_old_finished_uploads_go_and_the_run_is_audited(data_dir, tmp_path,
                                                                             monkeypatch) -> None:
    import subprocess
    import tempfile

    from flows.isolation import read_folder_prefix
    from flows.tasks import open_store
    from pipeline.evaluate import Intake
    from pipeline.settings import Settings

    temp = tmp_path / "tmp"  # the reader temp folder of a killed worker, in a temp folder of this test's own
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    gone = subprocess.Popen(["true"])
    abandoned = temp / f"{read_folder_prefix(gone.pid)}abcd1234"
    gone.wait()
    abandoned.mkdir(parents=True)
    store = open_store(Settings())
    record, _ = store.add_upload(b"%PDF-cli-purge", owner="t", display_name="x.pdf", media_type=None,
                                 intake=Intake())
    result = runner.invoke(app, ["purge", "--older-than", "30"])
    assert result.exit_code == 0 and "purged 0 uploads" in result.stdout  # pending and young: kept
    assert "1 reader temp folders" in result.stdout and not abandoned.exists()
    assert store.get(record.id) is not None
    assert store.audit_log()[-1].action == "purge.run"
    assert runner.invoke(app, ["purge", "--older-than", "0"]).exit_code == 2  # at least one day


def test_when_keys_rotate_runs_twice_then_the_keyring_holds_one_new_key_and_data_still_reads(data_dir, tmp_path,
                                                                                            monkeypatch) -> None:
    from flows.tasks import open_store
    from pipeline.evaluate import Intake
    from pipeline.settings import Settings
    from storage.crypto import Keyring, sealed_with
    from storage.store import Store, StoreSettings, original_path

    record, _ = open_store(Settings()).add_upload(b"%PDF-rotate Zzcanary", owner="t", display_name="x.pdf",
                                                  media_type=None, intake=Intake())
    keyring = tmp_path / "keys" / "data.keys"
    monkeypatch.setenv("DOCVERIFY_DATA_KEY_FILE", str(keyring))
    ids = []
    for _ in range(2):
        result = runner.invoke(app, ["keys", "rotate"])
        assert result.exit_code == 0, result.output
        keys = Keyring.load(keyring)
        assert len(keys.keys) == 1 and keyring.stat().st_mode & 0o777 == 0o600
        ids.append(keys.current[0])
    assert ids[0] != ids[1]
    settings = Settings()
    raw = original_path(settings.originals_dir, record.sha256).read_bytes()
    assert sealed_with(raw) == ids[1] and b"Zzcanary" not in raw
    assert Store(StoreSettings.of(settings)).read_original(record.id) == b"%PDF-rotate Zzcanary"


def test_when_an_unkeyed_chain_is_rewritten_from_the_start_then_the_anchor_outside_the_database_catches_it(
        data_dir, tmp_path) -> None:
    from sqlalchemy import text

    from flows.tasks import open_store
    from pipeline.evaluate import Intake
    from pipeline.settings import Settings
    from storage.models import GENESIS_HASH
    from storage.store import audit_hash

    store = open_store(Settings())
    store.add_upload(b"%PDF-anchor", owner="t", display_name="x.pdf", media_type=None, intake=Intake())
    anchor = tmp_path / "elsewhere" / "audit.head"
    anchor.parent.mkdir()
    assert runner.invoke(app, ["audit", "verify", "--anchor", str(anchor)]).exit_code == 0
    assert anchor.read_text().startswith("1 ") and anchor.stat().st_mode & 0o777 == 0o600
    # a forger with database access (no key configured) rewrites the actor and recomputes the whole chain
    row = store.audit_log()[0]
    forged = audit_hash(GENESIS_HASH, seq=row.seq, at=row.at, actor="someone-else", action=row.action,
                        upload_id=row.upload_id, outcome=row.outcome)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'someone-else', row_hash = :h WHERE seq = 1"), {"h": forged})
        conn.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": forged})
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0  # the chain alone cannot tell
    caught = runner.invoke(app, ["audit", "verify", "--anchor", str(anchor)])
    assert caught.exit_code == 1 and "no longer in the chain" in caught.stdout


def test_when_audit_verify_runs_without_anchor_then_it_uses_the_default_anchor_outside_the_data_dir(
        data_dir, tmp_path, monkeypatch) -> None:
    from sqlalchemy import text

    from flows.tasks import open_store
    from pipeline.evaluate import Intake
    from pipeline.settings import Settings
    from storage.models import GENESIS_HASH
    from storage.store import audit_hash

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    store = open_store(Settings())
    store.add_upload(b"%PDF-anchor", owner="t", display_name="x.pdf", media_type=None, intake=Intake())
    first = runner.invoke(app, ["audit", "verify"])
    assert first.exit_code == 0 and "anchor: first_anchor" in first.stdout
    anchor = Settings().audit_anchor_path
    assert anchor.parent == tmp_path / "state" / "docverify" / "audit-anchors"
    assert anchor.stat().st_mode & 0o777 == 0o600 and anchor.parent.stat().st_mode & 0o777 == 0o700
    assert anchor.read_text().startswith("1 ")
    row = store.audit_log()[0]
    forged = audit_hash(GENESIS_HASH, seq=row.seq, at=row.at, actor="someone-else", action=row.action,
                        upload_id=row.upload_id, outcome=row.outcome)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'someone-else', row_hash = :h WHERE seq = 1"), {"h": forged})
        conn.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": forged})
    caught = runner.invoke(app, ["audit", "verify"])
    assert caught.exit_code == 1 and "no longer in the chain" in caught.stdout


def test_when_the_anchor_folder_is_inside_the_data_dir_then_the_settings_are_refused(data_dir, monkeypatch) -> None:
    import pydantic

    from pipeline.settings import Settings

    monkeypatch.setenv("DOCVERIFY_AUDIT_ANCHOR_DIR", str(data_dir / "anchors"))
    with pytest.raises(pydantic.ValidationError, match="outside"):
        Settings()
