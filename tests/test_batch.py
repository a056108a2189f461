"""`docverify batch` and the batch flow (flows/batch.py, flows/flows.py): reports equal to `check`, safe summaries,
a counts-only artifact, and no PHI in Prefect (docs/THREAT-MODEL.md items 31, 32, 49)."""

from __future__ import annotations

import csv
import os
import re
import shutil
from pathlib import Path

import pytest
from fpdf import FPDF
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_HOME, PREFECT_SERVER_DATABASE_CONNECTION_URL
from typer.testing import CliRunner

from flows.batch import ManifestError, csv_safe, ingest_folder, load_manifest, read_capped
from flows.cli import app
from flows.flows import batch_verify
from flows.tasks import open_store
from flows.verify import check_file
from pipeline.evaluate import Intake
from pipeline.limits import Limits
from pipeline.settings import Settings
from pipeline.types import Payer
from storage.store import UploadState

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "inputs"
CANARY = "Zzcanary Qxj"


@pytest.fixture
def inbox(tmp_path: Path) -> tuple[Path, Path]:
    """Two text PDFs, one rejected file and a hostile file name; and a manifest."""
    indir = tmp_path / "in"
    indir.mkdir()
    shutil.copy(SAMPLES / "visit_note_crps.pdf", indir / "visit_note_crps.pdf")
    shutil.copy(SAMPLES / "visit_note_no_diagnosis.pdf", indir / "=HYPERLINK(1)<img src=x onerror=alert(1)>.pdf")
    shutil.copy(SAMPLES / "html_disguised.pdf", indir / "html_disguised.pdf")
    manifest = tmp_path / "intake.csv"
    manifest.write_text("file,patient_name,payer\nvisit_note_crps.pdf,Mary-Kate O'Neil,commercial\n")
    return indir, manifest


def test_when_batch_runs_then_reports_equal_check_and_summaries_are_safe(prefect_api, data_dir, inbox,
                                                                          tmp_path) -> None:
    indir, manifest = inbox
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["batch", str(indir), "--out", str(out), "--manifest", str(manifest)])
    assert result.exit_code == 0, result.output
    intakes = load_manifest(manifest)
    for path in sorted(indir.iterdir()):
        expected = check_file(path, intakes.get(path.name, Intake()), Settings())
        got = (out / f"{path.name}.json").read_text()
        assert got == expected.model_dump_json(indent=2) + "\n", path.name
    rows = list(csv.DictReader((out / "summary.csv").open()))
    by_status = {r["status"] for r in rows}
    assert by_status == {"complete", "incomplete", "rejected"}
    assert any(r["file"].startswith("'=HYPERLINK") for r in rows)
    html = (out / "summary.html").read_text()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert (out.stat().st_mode & 0o777) == 0o700
    assert {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()} == {p.name: 0o600 for p in out.iterdir()}
    # every exported report is audited with who exported it
    store = open_store(Settings())
    exports = [a for a in store.audit_log() if a.action == "report.export"]
    reported = {r.id for r in store.list_uploads() if store.latest_report(r.id) is not None}
    assert {a.upload_id for a in exports} == reported and all(a.actor.startswith("cli:") for a in exports)


def test_when_batch_ran_then_the_artifact_holds_counts_by_status_only(prefect_api, data_dir, inbox) -> None:
    indir, manifest = inbox
    counts = batch_verify(inbox=str(indir), manifest=str(manifest))
    assert counts == {"complete": 1, "incomplete": 1}  # the rejected file got its report at intake
    assert {r.state for r in open_store(Settings()).list_uploads()} == {UploadState.DONE}
    with get_client(sync_client=True) as client:
        artifact = client.read_latest_artifacts()
    tables = [a for a in artifact if a.key == "batch-summary"]
    assert tables and '"complete"' in str(tables[0].data) and "visit_note" not in str(tables[0].data)


def test_when_batch_runs_twice_then_the_same_bytes_are_processed_once(prefect_api, data_dir, inbox) -> None:
    indir, _ = inbox
    batch_verify(inbox=str(indir))
    audit_rows = len(open_store(Settings()).audit_log(limit=10_000))
    assert batch_verify(inbox=str(indir)) == {}
    assert all(len(open_store(Settings()).reports(r.id)) == 1 for r in open_store(Settings()).list_uploads())
    # unchanged inbox files are recognised without reading them: not even an "upload.duplicate" row is written
    assert [a.action for a in open_store(Settings()).audit_log(limit=10_000)[audit_rows:]] == []


class CountingReader:
    """The inbox reader seam (flows.batch.FileReader) around the production reader, counting what it reads."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.bytes = 0

    def __call__(self, path: Path, limits: Limits) -> bytes:
        data = read_capped(path, limits)
        self.names.append(path.name)
        self.bytes += len(data)
        return data


def _rewrite_same_size_and_mtime(path: Path) -> None:
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # size and mtime as before: only ctime tells


def _replace_by_rename(path: Path) -> None:
    copy = path.with_name(".incoming")
    shutil.copy(path, copy)
    os.replace(copy, path)  # the same bytes under a new inode


@pytest.mark.parametrize(("change", "created"), [
    (lambda p: p.write_bytes((SAMPLES / "avs_fibromyalgia_nocodes.pdf").read_bytes()), 1),
    (_rewrite_same_size_and_mtime, 1),
    (_replace_by_rename, 0),
    (lambda p: os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns + 10**9)), 0),
], ids=["rewritten", "same-size-and-mtime", "replaced-by-rename", "touched"])
def test_when_the_inbox_is_ingested_again_then_only_new_or_changed_files_are_read(data_dir, inbox, change,
                                                                                   created) -> None:
    indir, _ = inbox
    store = open_store(Settings())
    first = CountingReader()
    assert ingest_folder(store, Settings(), indir, {}, "inbox", read=first).created == 3
    assert sorted(first.names) == sorted(p.name for p in indir.iterdir()) and first.bytes > 0

    again = CountingReader()
    counts = ingest_folder(store, Settings(), indir, {}, "inbox", read=again)
    assert (again.names, again.bytes, counts.read, counts.created, counts.existing) == ([], 0, 0, 0, 3)

    change(indir / "visit_note_crps.pdf")
    after = CountingReader()
    counts = ingest_folder(store, Settings(), indir, {}, "inbox", read=after)
    assert after.names == ["visit_note_crps.pdf"]  # the changed file, and only it, is read and hashed again
    assert (counts.read, counts.created) == (1, created)
    last = CountingReader()
    assert ingest_folder(store, Settings(), indir, {}, "inbox", read=last).read == 0 and last.names == []


@pytest.mark.parametrize(("cell", "safe"), [
    ("=1+1", "'=1+1"), ("+cmd", "'+cmd"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("note.pdf", "note.pdf"), ("", ""),
])
def test_when_a_csv_cell_starts_like_a_formula_then_it_is_neutralised(cell: str, safe: str) -> None:
    assert csv_safe(cell) == safe


@pytest.mark.parametrize("text", ["name,payer\nx,commercial\n", "file,patient_name,payer\nx,y,martian\n"])
def test_when_the_manifest_is_malformed_then_batch_exits_2_without_echoing_values(tmp_path, text) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(text)
    with pytest.raises(ManifestError):
        load_manifest(manifest)
    result = CliRunner().invoke(app, ["batch", str(tmp_path), "--out", str(tmp_path / "o"), "--manifest",
                                      str(manifest)])
    assert result.exit_code == 2 and "martian" not in result.output


def _canary_pdf(path: Path) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    for line in ["Riverside Pain Clinic - Visit Note", f"Patient: {CANARY}   DOB: 01/02/1970",
                 "Attending: Priya Raman, MD", "Assessment:", "1. Fibromyalgia (M79.7)",
                 "Signed: Priya Raman, MD"]:
        pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def test_when_a_canary_document_is_batched_then_prefect_holds_no_trace_of_it(prefect_api, data_dir, tmp_path,
                                                                             caplog, capfd) -> None:
    indir = tmp_path / "canary"
    indir.mkdir()
    _canary_pdf(indir / "canary.pdf")
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"file,patient_name,payer\ncanary.pdf,{CANARY},commercial\n")
    caplog.set_level("DEBUG")
    counts = batch_verify(inbox=str(indir), manifest=str(manifest))
    assert sum(counts.values()) == 1
    report = open_store(Settings()).latest_report(open_store(Settings()).list_uploads()[0].id)
    assert report is not None and CANARY in report.report_json  # it is in our store, where it belongs
    needle = re.compile(rb"zzcanary|qxj", re.IGNORECASE)
    db_file = Path(PREFECT_SERVER_DATABASE_CONNECTION_URL.value().split("///", 1)[1])
    prefect_files = [p for p in db_file.parent.glob("*") if p.is_file()]
    home = Path(PREFECT_HOME.value())
    prefect_files += [p for p in home.rglob("*") if p.is_file()] if home.exists() else []
    assert db_file in prefect_files
    hits = [p for p in prefect_files if needle.search(p.read_bytes())]
    assert hits == []
    out, err = capfd.readouterr()
    assert not needle.search((caplog.text + out + err).encode())


def test_when_no_prefect_api_is_configured_then_batch_starts_and_stops_a_local_server_cleanly(tmp_path) -> None:
    import os
    import subprocess
    import sys

    from flows.deploy import HOST, healthy

    url = f"http://{HOST}:{Settings().prefect_port}/api"
    already_running = healthy(url)
    indir = tmp_path / "in"
    indir.mkdir()
    shutil.copy(SAMPLES / "problem_list_migraine.pdf", indir / "p.pdf")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["DOCVERIFY_DATA_DIR"] = str(tmp_path / "var")
    result = subprocess.run([sys.executable, "-m", "flows.cli", "batch", str(indir), "--out", str(tmp_path / "out")],
                            env=env, cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True,
                            timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "Error" not in result.stderr
    assert (tmp_path / "out" / "p.pdf.json").exists()
    if not already_running:
        assert (tmp_path / "var" / "prefect" / "prefect.db").exists()
        assert not healthy(url)


# Regression: exported reports and summaries were written 0644 (readable by every local user) although they hold PHI.
def test_when_outputs_are_written_into_an_open_folder_then_files_are_0600_and_the_folder_0700(tmp_path) -> None:
    from flows.batch import FileResult, write_outputs
    from pipeline.errors import EmptyFile
    from pipeline.evaluate import rejected_report

    out = tmp_path / "out"
    out.mkdir(mode=0o755)
    out.chmod(0o755)
    stale = out / "summary.csv"
    stale.write_text("old")
    stale.chmod(0o644)
    report = rejected_report(EmptyFile("0 bytes"), sha256="0" * 64, media_type=None, size_bytes=0, payer=Payer.UNKNOWN,
                             versions={})
    write_outputs([FileResult("x.pdf", None, "rejected", ("empty",), report)], out)
    assert (out.stat().st_mode & 0o777) == 0o700
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()}
    assert modes == {"x.pdf.json": 0o600, "summary.csv": 0o600, "summary.html": 0o600}
    assert stale.read_text().startswith("file,status,reasons")
