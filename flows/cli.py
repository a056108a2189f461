"""The `docverify` command line: check one upload, evaluate against labeled samples, run and serve the flows.

The entry point: the settings (`pipeline.settings.Settings`, from DOCVERIFY_* variables) are built once here, in the
app's callback, and passed down to everything a command calls."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from evaluation.scoring import load_labels, score
from pipeline.case_report import render_case_text
from pipeline.cases import CaseIntake
from pipeline.errors import DocverifyError
from pipeline.evaluate import Intake
from pipeline.limits import NO_LIMIT
from pipeline.report import Report, render_text
from pipeline.settings import Settings
from pipeline.types import Payer, Status

if TYPE_CHECKING:
    from fastapi import FastAPI

    from storage.access import Access
    from storage.store import Store

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
err = Console(stderr=True)

EXIT_REJECTED = 3
EXIT_FAILED = 4


class Format(StrEnum):
    json = "json"
    text = "text"


@app.callback()
def main(ctx: typer.Context) -> None:
    """Checks that a patient's uploaded document shows their name, the treating physician and a pain diagnosis."""
    ctx.obj = Settings()


def _settings(ctx: typer.Context, *, ner: bool = True) -> Settings:
    """The settings the callback built; with `ner` False, the NER recall layer off (`--no-ner`)."""
    settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings()
    return settings if ner else settings.without_ner()


@app.command()
def check(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True,
                                                help="The uploaded file; several files are one patient's case.")],
    patient_name: Annotated[str | None, typer.Option(help="Patient name given at upload, to cross-check.")] = None,
    payer: Annotated[Payer, typer.Option(help="Payer class given at upload.")] = Payer.UNKNOWN,
    fmt: Annotated[Format, typer.Option("--format", help="json (the contract) or text (for people).")] = Format.json,
    external_id: Annotated[str | None, typer.Option(help="The case's id in another system (several files).")]
    = None,
) -> None:
    """Print the completeness report of one upload, or of a case when several files are given (judged together:
    docs/POLICY.md "Cases"). Exit 0: a report; 2: usage error; 3: input rejected (every file, for a case)."""
    from flows.verify import check_case, check_file

    try:
        if len(paths) > 1:
            case = check_case(paths, CaseIntake(patient_name=patient_name, payer=payer, external_id=external_id),
                              _settings(ctx))
        else:
            report = check_file(paths[0], Intake(patient_name=patient_name, payer=payer), _settings(ctx))
    except DocverifyError as e:
        err.print(f"[red]failed ({e.code}):[/red] {e.user_message}", markup=True, highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    if len(paths) > 1:
        sys.stdout.write((case.model_dump_json(indent=2) if fmt is Format.json else render_case_text(case)) + "\n")
        if case.status is Status.REJECTED:
            raise typer.Exit(EXIT_REJECTED)
        return
    if fmt is Format.json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(render_text(report, paths[0].name) + "\n")
    if report.status is Status.REJECTED:
        raise typer.Exit(EXIT_REJECTED)


@app.command("eval")
def eval_(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Holds labels.jsonl and inputs/.")],
    out: Annotated[Path | None, typer.Option(help="Write each report to OUT/<file>.json.")] = None,
    reports: Annotated[Path | None, typer.Option(help="Score reports already in this folder; do not run.")] = None,
    min_f1: Annotated[float, typer.Option(help="Fail below this F1 on any field.")] = 0.95,
    min_status_accuracy: Annotated[float, typer.Option(help="Fail below this status accuracy.")] = 0.95,
    max_wrongly_complete: Annotated[int, typer.Option(help="Fail above this many wrongly complete.")] = 0,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: one per core).")] = None,
    ner: Annotated[bool, typer.Option(help="Use the NER recall layer (--no-ner: lexicon, codes and linker only).")]
    = True,
) -> None:
    """Check every labeled sample and score the reports; exit 1 when a figure is below its threshold."""
    _evaluate_folder(directory, out, reports, workers, _settings(ctx, ner=ner), min_f1=min_f1,
                     min_status_accuracy=min_status_accuracy, max_wrongly_complete=max_wrongly_complete)


def _evaluate_folder(directory: Path, out: Path | None, reports: Path | None, workers: int | None,
                     settings: Settings, *, min_f1: float, min_status_accuracy: float,
                     max_wrongly_complete: int, summary_only: bool = False) -> None:
    from evaluation.samples import below_thresholds, print_scores, read_reports, run_labeled
    from flows.runner import check_many

    labels = load_labels(directory / "labels.jsonl")
    inputs = directory / "inputs" if (directory / "inputs").is_dir() else directory
    if reports is not None:
        pairs = read_reports(labels, reports)
    else:
        pairs = run_labeled(labels, inputs, out, functools.partial(check_many, settings=settings, workers=workers),
                            err)
    scores = score(pairs)
    print_scores(scores, {lb.file: r for lb, r in pairs}, Console(), summary_only=summary_only)
    failed = below_thresholds(scores, min_f1=min_f1, min_status_accuracy=min_status_accuracy,
                              max_wrongly_complete=max_wrongly_complete)
    if (directory / "cases" / "labels.jsonl").is_file():
        failed += _evaluate_cases(directory / "cases", out, reports, settings, min_status_accuracy=min_status_accuracy,
                                  max_wrongly_complete=max_wrongly_complete)
    if failed:
        err.print("[red]below threshold:[/red] " + "; ".join(failed), highlight=False)
        raise typer.Exit(1)


def _evaluate_cases(directory: Path, out: Path | None, reports: Path | None, settings: Settings, *,
                    min_status_accuracy: float, max_wrongly_complete: int) -> list[str]:
    """Judge and score the multi-upload cases of DIRECTORY (labels.jsonl, inputs/): what is below threshold."""
    from evaluation.cases import (
        case_below_thresholds,
        load_case_labels,
        print_case_scores,
        read_case_reports,
        run_cases,
        score_cases,
    )
    from flows.verify import check_case

    labels = load_case_labels(directory / "labels.jsonl")
    if reports is not None and not (reports / "cases").is_dir():
        # Saved reports of single uploads (`docverify batch`, `make demo`) hold no case reports: nothing to score.
        err.print(f"{len(labels)} cases not scored: no case reports saved in REPORTS/cases (`eval --out` saves "
                  "them)", highlight=False, markup=False)
        return []
    if reports is not None:
        pairs = read_case_reports(labels, reports)
    else:
        pairs = run_cases(labels, directory / "inputs", out,
                          lambda files, intake: check_case(files, intake, settings))
    scores = score_cases(pairs)
    print_case_scores(scores, pairs, Console())
    return case_below_thresholds(scores, min_status_accuracy=min_status_accuracy,
                                 max_wrongly_complete=max_wrongly_complete)


class Split(StrEnum):
    dev = "dev"
    test = "test"


@app.command("eval-varied")
def eval_varied(
    ctx: typer.Context,
    split: Annotated[Split, typer.Option(help="dev: tune on it; test: score once per change, never read.")]
    = Split.dev,
    count: Annotated[int, typer.Option(min=1, help="Documents of the split (the first COUNT of its seeds).")] = 120,
    data: Annotated[Path, typer.Option(help="Generate the documents into DATA/<split> (reused when present).")]
    = Path("out/varied"),
    out: Annotated[Path | None, typer.Option(help="Write each report to OUT/<file>.json.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: one per core).")] = None,
    ner: Annotated[bool, typer.Option(help="Use the NER recall layer (--no-ner: lexicon, codes and linker only).")]
    = True,
    max_wrongly_complete: Annotated[int, typer.Option(help="Fail above this many wrongly complete.")] = 0,
    details: Annotated[bool | None, typer.Option(
        help="Print each document's status and mistakes (default: on for dev, off for test, which nobody reads).")]
    = None,
) -> None:
    """Score the pipeline on documents written independently of the finders (evaluation/varied/README.md): generated
    by seed, then checked and scored like `eval`. Exit 1 only when a document is wrongly complete. On the test split
    only the figures are printed (no file names, reasons or names), so scoring it does not show its documents."""
    from evaluation.varied.generate import generate

    folder = data / split.value
    if not (folder / "labels.jsonl").is_file() or len(load_labels(folder / "labels.jsonl")) != count:
        generate(split.value, folder, count, jobs=workers or os.cpu_count() or 1)
    show = details if details is not None else split is Split.dev
    _evaluate_folder(folder, out, None, workers, _settings(ctx, ner=ner), min_f1=0.0, min_status_accuracy=0.0,
                     max_wrongly_complete=max_wrongly_complete, summary_only=not show)


@app.command()
def report(path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Render a saved JSON report as text."""
    r = Report.model_validate(json.loads(path.read_text()))
    sys.stdout.write(render_text(r, path.name.removesuffix(".json")) + "\n")


@app.command()
def models(ctx: typer.Context) -> None:
    """List every bundled NER model: name, version, labels, size and directory (load one with spacy.load(dir))."""
    from extractors import ner_model

    found = ner_model.bundled_models()
    if not found:
        err.print(f"no models under {ner_model.MODELS_DIR} (build them with: make model)", highlight=False)
        raise typer.Exit(1)
    selected = _settings(ctx).ner_model_name
    table = Table(title="bundled models")
    for column in ("name", "version", "labels", "size", "recall layer", "directory"):
        table.add_column(column)
    for m in found:
        table.add_row(m.name, m.version, ",".join(m.labels), f"{m.size_bytes / 1e6:.1f} MB",
                      "yes" if m.name == selected else "", str(m.directory))
    Console().print(table)


@app.command("eval-corpus")
def eval_corpus(
    ctx: typer.Context,
    corpora: Annotated[list[Path], typer.Argument(exists=True, file_okay=False,
                                                  help="C-CDA corpus folders (ground_truth.jsonl, pdf/).")],
    limit: Annotated[int | None, typer.Option(help="At most N documents per corpus.")] = None,
    degrade: Annotated[bool, typer.Option(help="Rasterise and degrade each PDF like a scan (OCR path).")] = False,
    out: Annotated[Path | None, typer.Option(help="Write the JSON summary, reports and degraded PDFs here.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: one per core).")] = None,
    ner: Annotated[bool, typer.Option(help="Use the NER recall layer (--no-ner: lexicon, codes and linker only).")]
    = True,
) -> None:
    """Score the pipeline on rendered C-CDA corpora (held out: figures only, no tuning). See docs/CORPUS-EVAL.md."""
    from evaluation.corpus import RunOptions, evaluate_corpora
    from flows.runner import check_many

    check = functools.partial(check_many, settings=_settings(ctx, ner=ner), workers=workers)
    evaluate_corpora(corpora, RunOptions(limit=limit, degrade=degrade, out=out), check, Console(), err)


@app.command("dask-certs")
def dask_certs(
    directory: Annotated[Path, typer.Argument(file_okay=False, help="Folder for ca.pem, node.pem and their keys.")],
    host: Annotated[list[str] | None, typer.Option(help="Host name or IP address the certificate is valid for "
                                                         "(repeat; default: localhost and 127.0.0.1).")] = None,
) -> None:
    """Make a private CA and a node certificate for Dask over mutual TLS (scheduler, workers and the batch client);
    then set DOCVERIFY_DASK_TLS_DIR=DIRECTORY. See README "Running the batch on a Dask cluster"."""
    from flows.dask_tls import DEFAULT_HOSTS, generate

    generate(directory, tuple(host) if host else DEFAULT_HOSTS)
    err.print(f"wrote ca.pem, ca-key.pem, node.pem and node-key.pem (keys 0600) to {directory}", highlight=False,
              markup=False)


@app.command()
def batch(
    ctx: typer.Context,
    indir: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Folder of uploads (the inbox).")],
    out: Annotated[Path, typer.Option(help="Write OUT/<file>.json, OUT/summary.csv and OUT/summary.html.")],
    manifest: Annotated[Path | None, typer.Option(exists=True, dir_okay=False,
                                                  help="Intake CSV: file,patient_name,payer[,case] (files "
                                                       "sharing a case are judged together).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many pending uploads in this run.")] = 500,
    dask: Annotated[str | None, typer.Option(help="Dask scheduler address, tls:// (default: DOCVERIFY_DASK_ADDRESS; "
                                                  "unset: a thread pool on this machine).")] = None,
) -> None:
    """Verify every file of INDIR through the Prefect batch flow and write the reports and summaries.
    Exit 0: every file has a report; 4: some failed on our side (see summary.csv)."""
    from flows.batch import (
        ManifestError,
        audit_exports,
        case_results,
        inbox_files,
        load_manifest,
        load_manifest_cases,
        operator_id,
        results_for,
        write_outputs,
    )
    from flows.deploy import local_prefect_api
    from flows.flows import batch_flow_for
    from flows.tasks import open_store
    from flows.verify import warm_in_background

    try:
        # usage errors before anything starts
        intakes = load_manifest(manifest) if manifest is not None else {}
        case_of = load_manifest_cases(manifest) if manifest is not None else {}
    except ManifestError as e:
        err.print(f"[red]manifest invalid:[/red] {e.detail}", highlight=False)
        raise typer.Exit(2) from None
    settings = _settings(ctx)
    if dask:
        settings = settings.model_copy(update={"dask_address": dask})
    try:
        flow = batch_flow_for(settings)  # a tcp:// Dask address or missing TLS files: a usage error, before anything
    except DocverifyError as e:
        err.print(f"[red]{e.code}:[/red] {e.user_message}", highlight=False)
        raise typer.Exit(2) from None
    files = inbox_files(indir)
    store = open_store(settings)
    # Without Dask the flow's tasks check in this process: its models load while the local Prefect server starts.
    warming = None if settings.dask_address else warm_in_background(settings)
    with local_prefect_api(settings), _batch_progress(store, files):
        if warming is not None:
            warming.join()
        flow(inbox=str(indir.resolve()), limit=limit, manifest=str(manifest.resolve()) if manifest else None)
    results = results_for(store, files, owner="inbox")
    cases = case_results(store, results, case_of, intakes, settings)
    counts = write_outputs(results, out, cases)
    audit_exports(store, results, operator_id())
    table = Table(title=f"{len(results)} files")
    table.add_column("status")
    table.add_column("files", justify="right")
    for status, n in sorted(counts.items()):
        table.add_row(status, str(n))
    Console().print(table)
    if cases:
        case_table = Table(title=f"{len(cases)} cases (cases.csv)")
        case_table.add_column("status")
        case_table.add_column("cases", justify="right")
        for status, n in sorted(Counter(c.status for c in cases).items()):
            case_table.add_row(status, str(n))
        Console().print(case_table)
    if any(r.status not in {s.value for s in Status} for r in results):
        raise typer.Exit(EXIT_FAILED)


def _batch_progress(store: Store, files: list[Path]) -> AbstractContextManager[None]:
    """A progress bar on a terminal (polls the store for finished uploads); nothing otherwise."""
    from flows.batch import cached_sha256
    from storage.store import UploadState

    if not err.is_terminal or not files:
        return contextlib.nullcontext()
    shas = {cached_sha256(store, p) for p in files}

    @contextlib.contextmanager
    def run() -> Iterator[None]:
        stop = threading.Event()
        with Progress(TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, transient=True) as progress:
            bar = progress.add_task("batch", total=len(shas))

            def poll() -> None:
                while not stop.wait(0.5):
                    done = sum(1 for r in store.list_uploads(owner="inbox", limit=NO_LIMIT)
                               if r.sha256 in shas and r.state in (UploadState.DONE, UploadState.FAILED))
                    progress.update(bar, completed=done)

            thread = threading.Thread(target=poll, daemon=True)
            thread.start()
            try:
                yield
            finally:
                stop.set()
                thread.join(2)

    return run()


@app.command()
def serve(
    ctx: typer.Context,
    inbox: Annotated[Path | None, typer.Option(file_okay=False, help="Inbox folder the scheduled batch ingests.")]
    = None,
    host: Annotated[str, typer.Option(help="Address the upload API listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the upload API.")] = 8000,
) -> None:
    """Serve the upload API (http://HOST:PORT/api/uploads, docs/API.md) and the deployments: the batch on
    DOCVERIFY_BATCH_CRON (default every 15 min), the per-upload flow (the upload API triggers it) and the reconciler
    every DOCVERIFY_RECONCILE_EVERY_S (default 60 s). Starts a local Prefect server if none is configured."""
    from flows.api import create_app
    from flows.api.server import ApiServerError, api_server
    from flows.deploy import local_prefect_api
    from flows.deploy import serve as serve_deployments

    settings = _settings(ctx)
    with local_prefect_api(settings) as url, contextlib.ExitStack() as running:
        err.print(f"Prefect API: {url}", highlight=False, markup=False)
        try:
            running.enter_context(api_server(_with_review_app(create_app(settings), settings), host, port))
        except ApiServerError as e:
            err.print(f"[red]{e.code}:[/red] {e.user_message}", highlight=False)
            raise typer.Exit(EXIT_FAILED) from None
        err.print(f"Upload API: http://{host}:{port}/api/uploads", highlight=False, markup=False)
        err.print(f"Review app: http://{host}:{port}/review/", highlight=False, markup=False)
        serve_deployments(settings, str(inbox.resolve()) if inbox else None)


@app.command("review-labels")
def review_labels(
    ctx: typer.Context,
    out: Annotated[Path, typer.Argument(file_okay=False, help="Folder for labels.jsonl, inputs/ and reports/.")],
) -> None:
    """Export coordinators' decisions as labels in the samples' format; then `docverify eval OUT --reports
    OUT/reports` scores the pipeline against what coordinators decided. OUT holds patient documents (PHI)."""
    from collections import defaultdict

    from flows.batch import operator_id
    from flows.review.export import export_labels
    from flows.tasks import open_store
    from storage.review import DecisionRecord, ReviewStore

    review = ReviewStore(open_store(_settings(ctx)))
    by_upload: dict[str, list[DecisionRecord]] = defaultdict(list)
    for decision in review.all_decisions():
        by_upload[decision.upload_id].append(decision)
    done = export_labels(review.store, review.latest_reports(), by_upload, out)
    actor = operator_id()
    for upload_id in done.upload_ids:  # each original and report written out, audited with who exported it
        review.store.audit(actor=actor, action="review.export.label", upload_id=upload_id, outcome="written")
    Console().print(f"{done.labels} labels in {done.folder / 'labels.jsonl'}", markup=False, highlight=False)
    if done.undecodable:
        Console().print(f"{len(done.undecodable)} decided uploads left out: their pages could not be decoded, and "
                        "they are never written with their metadata", markup=False, highlight=False)


def _with_review_app(api: FastAPI, settings: Settings) -> FastAPI:
    """The upload API with the coordinators' review app mounted at /review (flows/review/)."""
    from flows.review import review_mount

    path, review = review_mount(settings)
    api.mount(path, review)
    return api


@app.command()
def openapi(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option(dir_okay=False, help="Write here (docs/openapi.json) instead of "
                                                                  "printing.")] = None,
) -> None:
    """Print the upload API's OpenAPI schema (checked in as docs/openapi.json; a test fails when it is stale)."""
    from flows.api.app import openapi_json

    text = openapi_json(_settings(ctx))
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


audit_app = typer.Typer(no_args_is_help=True, help="The audit chain: verify it; make its HMAC key.")
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    anchor: Annotated[Path | None, typer.Option(dir_okay=False, help="The anchor file to use instead of this "
                                                                     "database's one under "
                                                                     "DOCVERIFY_AUDIT_ANCHOR_DIR (another disk or "
                                                                     "host).")] = None,
) -> None:
    """Recompute the whole audit chain (HMAC under DOCVERIFY_AUDIT_KEY_FILE / DOCVERIFY_AUDIT_KEY for keyed rows) and
    check its head; then check that the head anchored outside the database last time (this database's file under
    DOCVERIFY_AUDIT_ANCHOR_DIR, or --anchor) is still in the chain (a chain rewritten from the start — possible
    without a key — or cut back no longer holds it), and anchor the head seen now. The reconciler does the same on
    its schedule. Exit 0: it verifies; 1: a row or the head was altered, removed or forged, or the anchored head is
    gone."""
    from flows.tasks import open_store
    from storage.audit_anchor import check_and_advance

    settings = _settings(ctx)
    store = open_store(settings)
    result = store.check_audit_chain()
    Console().print(f"audit chain: {result.rows} rows, {result.keyed_rows} keyed: {result.reason}"
                    + (f" at row {result.first_bad_seq}" if result.first_bad_seq is not None else ""), markup=False)
    if not result.ok:
        raise typer.Exit(1)
    check = check_and_advance(store, result, anchor if anchor is not None else settings.audit_anchor_path)
    if check.code == "anchor_lost":
        Console().print(f"anchored head (row {check.anchored_seq}) is no longer in the chain", markup=False)
    else:
        Console().print(f"anchor: {check.code}", markup=False)
    if not check.ok:
        raise typer.Exit(1)


@audit_app.command("init-key")
def audit_init_key(
    path: Annotated[Path, typer.Argument(dir_okay=False, help="Where to write the key (keep it apart from the data "
                                                              "directory and its backups).")],
) -> None:
    """Write a new random HMAC key for the audit chain (0600); then set DOCVERIFY_AUDIT_KEY_FILE to it. Refuses to
    overwrite an existing key (rows chained with it could no longer be verified)."""
    import secrets

    from pipeline.exports import write_private

    if path.exists():
        err.print("a key already exists there; not overwritten", highlight=False, markup=False)
        raise typer.Exit(2)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(path, secrets.token_hex(32) + "\n")
    err.print("audit key written (0600); set DOCVERIFY_AUDIT_KEY_FILE to its path", highlight=False, markup=False)


keys_app = typer.Typer(no_args_is_help=True, help="Keys of the encryption at rest (DOCVERIFY_DATA_KEY_FILE).")
app.add_typer(keys_app, name="keys")


@keys_app.command("rotate")
def keys_rotate(ctx: typer.Context) -> None:
    """Add a new AES-256-GCM data key to the keyring DOCVERIFY_DATA_KEY_FILE (created 0600 when missing), re-encrypt
    every original, every report and every PHI column of the database with it, then drop the old keys. A crash
    midway leaves the old keys in the keyring, so everything stays readable; run it again."""
    from pipeline.exports import write_private
    from storage.crypto import Keyring, new_key
    from storage.store import Store, StoreSettings

    settings = _settings(ctx)
    path = settings.data_key_file
    if path is None:
        err.print("set DOCVERIFY_DATA_KEY_FILE to the keyring's path (kept apart from the data directory)",
                  highlight=False, markup=False)
        raise typer.Exit(2)
    keys = Keyring.load(path).with_new_key() if path.exists() else Keyring((new_key(),))
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(path, keys.dump())  # old and new keys: whatever is resealed so far stays readable
    store = Store(StoreSettings.of(settings))  # the keyring just written: old keys open, the new one seals
    store.migrate()
    originals, reports = store.reseal_all()
    write_private(path, keys.only_current().dump())
    Console().print(f"data key {keys.current[0]}: {originals} originals and {reports} reports re-encrypted",
                    markup=False)


@app.command()
def purge(
    ctx: typer.Context,
    older_than: Annotated[int, typer.Option(min=1, help="Delete finished uploads created more than DAYS days ago.",
                                            metavar="DAYS")],
) -> None:
    """Delete finished (done or failed) uploads older than the clinic's retention period — rows, reports and
    originals — and sweep originals no row references (left by a crash between the file write and the row commit,
    older than an hour), and the reader temp folders of killed processes on this machine (page images and OCR files;
    flows/isolation.py). Every deletion is recorded in the audit chain; pending and processing uploads are kept."""
    from datetime import timedelta

    from flows.isolation import sweep_abandoned_read_folders
    from flows.tasks import open_store

    folders = sweep_abandoned_read_folders()  # never raises: done first, whatever the store says
    result = open_store(_settings(ctx)).purge(timedelta(days=older_than))
    Console().print(f"purged {result.uploads} uploads, {result.originals} originals; swept {result.orphans} orphans, "
                    f"{folders} reader temp folders", markup=False)


@app.command()
def reconcile(
    ctx: typer.Context,
    stale_after: Annotated[float | None, typer.Option(help="Seconds of silence after which a PROCESSING upload "
                                                            "is taken for lost (default: "
                                                            "DOCVERIFY_RECONCILE_STALE_S, 180).")] = None,
) -> None:
    """Requeue uploads whose run crashed, vanished or went silent (run the next batch to process them)."""
    from flows.deploy import local_prefect_api
    from flows.reconcile import reconcile as reconcile_flow

    settings = _settings(ctx)
    with local_prefect_api(settings):
        counts = reconcile_flow(stale_after_s=stale_after if stale_after is not None else settings.reconcile_stale_s)
    Console().print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "nothing to do", markup=False)


# --- people and API tokens (storage/access.py) --------------------------------------------------------------------

user_app = typer.Typer(no_args_is_help=True, help="People who log in to the review app.")
token_app = typer.Typer(no_args_is_help=True, help="API tokens for the upload API.")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")


class UserRole(StrEnum):
    uploader = "uploader"
    coordinator = "coordinator"
    admin = "admin"


class TokenRole(StrEnum):
    uploader = "uploader"
    coordinator = "coordinator"


def _access(ctx: typer.Context) -> Access:
    """The store's access tables (users, tokens), the store migrated first."""
    from flows.tasks import open_store
    from storage.access import Access

    return Access(open_store(_settings(ctx)))


def _read_password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, or typed twice at a hidden prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Login name: 1-64 letters, digits, '.', '_' or '-'.")],
    role: Annotated[UserRole, typer.Option(help="What the person may do.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin's first "
                                                                          "line instead of a prompt.")] = False,
) -> None:
    """Add a person who logs in to the review app (password hashed with argon2id)."""
    from storage.access import AccessRole, UserExists

    access = _access(ctx)
    try:
        user = access.add_user(name, AccessRole(role.value), _read_password(password_stdin))
    except (ValueError, UserExists) as e:
        err.print(f"[red]not added:[/red] {e.user_message if isinstance(e, UserExists) else e}", highlight=False)
        raise typer.Exit(2) from None
    Console().print(f"added {user.name} ({user.role.value})", markup=False, highlight=False)


@user_app.command("totp")
def user_totp(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The person's login name.")],
    remove: Annotated[bool, typer.Option("--remove", help="Remove the person's one-time codes (a lost phone).")]
    = False,
) -> None:
    """Set up one-time codes (TOTP, the review app's second factor) for a person and print the secret once: the
    otpauth:// URI for an authenticator app's QR reader, then the base32 secret to type in. Replaces earlier codes."""
    from storage.access import UnknownUser

    access = _access(ctx)
    try:
        if remove:
            access.remove_totp(name)
            Console().print(f"removed the one-time codes of {name}", markup=False, highlight=False)
            return
        enrollment = access.enroll_totp(name)
    except UnknownUser:
        err.print("no such user", highlight=False, markup=False)
        raise typer.Exit(2) from None
    sys.stdout.write(f"one-time codes set up for {name}; the secret is shown only now (6 digits, 30 s):\n"
                     f"{enrollment.uri}\n{enrollment.secret}\n")


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    role: Annotated[TokenRole, typer.Option(help="uploader: sends uploads, sees its own; coordinator: sees all.")],
    user: Annotated[str | None, typer.Option(help="The person the token belongs to (uploads are theirs).")] = None,
) -> None:
    """Create an API token and print it once, on the last line alone (only its SHA-256 is stored)."""
    from storage.access import AccessRole, UnknownUser

    access = _access(ctx)
    try:
        record, secret = access.create_token(AccessRole(role.value), user)
    except UnknownUser:
        err.print("[red]no such user[/red]", highlight=False)
        raise typer.Exit(2) from None
    sys.stdout.write(f"token id {record.token_id} ({record.role.value}); the token is shown only now:\n{secret}\n")


@token_app.command("revoke")
def token_revoke(ctx: typer.Context, token_id: Annotated[str, typer.Argument(help="The token's id.")]) -> None:
    """Revoke an API token (exit 1 when no active token has this id)."""
    access = _access(ctx)
    if not access.revoke_token(token_id):
        err.print("no active token has this id", highlight=False, markup=False)
        raise typer.Exit(1)
    Console().print(f"revoked {token_id}", markup=False, highlight=False)


@token_app.command("list")
def token_list(ctx: typer.Context) -> None:
    """List every API token: id, role, user, created, revoked (never the secret)."""
    access = _access(ctx)
    table = Table(title="API tokens")
    for column in ("id", "role", "user", "created", "revoked"):
        table.add_column(column)
    for t in access.list_tokens():
        table.add_row(t.token_id, t.role.value, t.user_name or "", t.created_at.isoformat(timespec="seconds"),
                      t.revoked_at.isoformat(timespec="seconds") if t.revoked_at else "")
    Console(width=200).print(table)


@app.command("eval-mtsamples")
def eval_mtsamples(
    ctx: typer.Context,
    corpus: Annotated[Path | None, typer.Option(help="The MTSamples CSV (default: <DOCVERIFY_CORPORA>/mtsamples/"
                                                      "mtsamples.csv).")] = None,
    labels: Annotated[Path | None, typer.Option(help="Label file (default: evaluation/mtsamples/labels.jsonl).")]
    = None,
    out: Annotated[Path | None, typer.Option(help="Write OUT/mtsamples-eval.json (codes and counts only).")] = None,
    ner: Annotated[bool, typer.Option(help="Use the NER recall layer (--no-ner: lexicon, codes and linker only).")]
    = True,
    subset: Annotated[str, typer.Option(help="dev = Pain Management, test = Neurology (held out), all = both.")]
    = "all",
) -> None:
    """Score the pain-diagnosis decision on hand-labeled MTSamples notes. See evaluation/mtsamples/README.md."""
    from evaluation.mtsamples.evaluate import DEFAULT_LABELS, evaluate_mtsamples

    settings = _settings(ctx, ner=ner)
    try:
        evaluate_mtsamples(corpus or settings.corpora / "mtsamples" / "mtsamples.csv", labels or DEFAULT_LABELS, out,
                           settings.ner_model_name, Console(), subset=subset)
    except DocverifyError as e:
        err.print(f"[red]{e.code}:[/red] {e}", highlight=False)
        raise typer.Exit(2) from None


@app.command("eval-ccda-structured")
def eval_ccda_structured(
    ctx: typer.Context,
    corpora: Annotated[Path | None, typer.Argument(file_okay=False, help="The corpora folder (default: "
                                                                         "DOCVERIFY_CORPORA).")] = None,
) -> None:
    """Score the C-CDA XML reader on the three C-CDA corpora's ground truth (structured reading, no OCR)."""
    from evaluation.ccda_structured import main as ccda_main

    raise typer.Exit(ccda_main(corpora or _settings(ctx).corpora))


if __name__ == "__main__":
    app()
