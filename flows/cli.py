"""The `docverify` command line: check one upload, evaluate against labeled samples."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline.errors import DocverifyError
from pipeline.evaluate import Intake
from pipeline.report import Report, render_text
from pipeline.scoring import Label, Scores, load_labels, score
from pipeline.types import Field, Payer, Status

if TYPE_CHECKING:
    from pipeline.store import Store

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
err = Console(stderr=True)

EXIT_REJECTED = 3
EXIT_FAILED = 4


class Format(StrEnum):
    json = "json"
    text = "text"


@app.command()
def check(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The uploaded file.")],
    patient_name: Annotated[str | None, typer.Option(help="Patient name given at upload, to cross-check.")] = None,
    payer: Annotated[Payer, typer.Option(help="Payer class given at upload.")] = Payer.UNKNOWN,
    fmt: Annotated[Format, typer.Option("--format", help="json (the contract) or text (for people).")] = Format.json,
) -> None:
    """Print the completeness report of one upload. Exit 0: a report; 2: usage error; 3: input rejected."""
    from flows.verify import check_file

    try:
        report = check_file(path, Intake(patient_name=patient_name, payer=payer))
    except DocverifyError as e:
        err.print(f"[red]failed ({e.code}):[/red] {e.user_message}", markup=True, highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    if fmt is Format.json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(render_text(report, path.name) + "\n")
    if report.status is Status.REJECTED:
        raise typer.Exit(EXIT_REJECTED)


def _use_ner(on: bool) -> None:
    """--no-ner: turn the recall layer off for this process and every worker process it starts."""
    if not on:
        from extractors import ner_model

        os.environ[ner_model.SETTING] = ner_model.OFF


@app.command("eval")
def eval_(
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
    _use_ner(ner)
    labels = load_labels(directory / "labels.jsonl")
    inputs = directory / "inputs" if (directory / "inputs").is_dir() else directory
    if reports is not None:
        pairs = [(lb, Report.model_validate_json((reports / f"{lb.file}.json").read_text())) for lb in labels]
    else:
        pairs = _run_labeled(labels, inputs, out, workers)
    scores = score(pairs)
    _print_scores(scores, {lb.file: r for lb, r in pairs})
    failed = [f"{f.value} F1 {s.f1:.3f} < {min_f1}" for f, s in scores.fields.items() if s.f1 < min_f1]
    if scores.status_accuracy < min_status_accuracy:
        failed.append(f"status accuracy {scores.status_accuracy:.3f} < {min_status_accuracy}")
    if len(scores.wrongly_complete) > max_wrongly_complete:
        failed.append(f"{len(scores.wrongly_complete)} wrongly complete > {max_wrongly_complete}")
    if failed:
        err.print("[red]below threshold:[/red] " + "; ".join(failed), highlight=False)
        raise typer.Exit(1)


def _run_labeled(labels: list[Label], inputs: Path, out: Path | None,
                 workers: int | None) -> list[tuple[Label, Report]]:
    from flows.runner import Job, check_many

    jobs = [Job(inputs / lb.file, Intake(lb.intake.patient_name, lb.intake.payer)) for lb in labels]
    by_file = {lb.file: lb for lb in labels}
    pairs: list[tuple[Label, Report]] = []
    if out:
        out.mkdir(parents=True, exist_ok=True)
    with Progress(TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                  transient=True) as progress:
        task = progress.add_task("check", total=len(jobs))
        for outcome in check_many(jobs, workers):
            progress.advance(task)
            name = outcome.job.path.name
            if outcome.report is None:
                err.print(f"{name}: failed ({outcome.error_code})", highlight=False, markup=False)
                continue
            pairs.append((by_file[name], outcome.report))
            if out:
                (out / f"{name}.json").write_text(outcome.report.model_dump_json(indent=2) + "\n")
    pairs.sort(key=lambda p: p[0].file)
    return pairs


def _print_scores(scores: Scores, reports: dict[str, Report]) -> None:
    con = Console()
    summary = Table(title=f"{scores.documents} documents", show_lines=False)
    for col in ("file", "status", "reasons"):
        summary.add_column(col, overflow="fold")
    for name, r in sorted(reports.items()):
        summary.add_row(name, r.status.value, "; ".join(r.reasons)[:140])
    con.print(summary, markup=False)
    fields = Table(title="Per-field accuracy")
    for col in ("field", "precision", "recall", "F1", "tp", "fp", "fn"):
        fields.add_column(col)
    for f in Field:
        s = scores.fields[f]
        fields.add_row(f.value, f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}", str(s.tp), str(s.fp),
                       str(s.fn))
    con.print(fields)
    confusion = Table(title=f"Status accuracy {scores.status_accuracy:.3f} (rows: expected, columns: predicted)")
    confusion.add_column("expected")
    for st in Status:
        confusion.add_column(st.value)
    for exp in Status:
        confusion.add_row(exp.value, *[str(scores.confusion.get((exp, got), 0)) for got in Status])
    con.print(confusion)
    con.print(f"Wrongly marked complete: {len(scores.wrongly_complete)}"
              + (f" ({', '.join(scores.wrongly_complete)})" if scores.wrongly_complete else ""), markup=False)
    if scores.mistakes:
        con.print("Mistakes:", markup=False)
        for m in scores.mistakes:
            con.print(f"  {m.file}: {m.what} expected {m.expected!r}, got {m.got!r}", markup=False)


@app.command()
def report(path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Render a saved JSON report as text."""
    r = Report.model_validate(json.loads(path.read_text()))
    sys.stdout.write(render_text(r, path.name.removesuffix(".json")) + "\n")


@app.command()
def models() -> None:
    """List every bundled NER model: name, version, labels, size and directory (load one with spacy.load(dir))."""
    from extractors import ner_model

    found = ner_model.bundled_models()
    if not found:
        err.print(f"no models under {ner_model.MODELS_DIR} (build them with: make model)", highlight=False)
        raise typer.Exit(1)
    selected = ner_model.selected_model_name()
    table = Table(title="bundled models")
    for column in ("name", "version", "labels", "size", "recall layer", "directory"):
        table.add_column(column)
    for m in found:
        table.add_row(m.name, m.version, ",".join(m.labels), f"{m.size_bytes / 1e6:.1f} MB",
                      "yes" if m.name == selected else "", str(m.directory))
    Console().print(table)


@app.command("eval-corpus")
def eval_corpus(
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
    from flows.corpus_eval import RunOptions, evaluate_corpora

    _use_ner(ner)
    evaluate_corpora(corpora, RunOptions(limit=limit, degrade=degrade, out=out, workers=workers), Console(), err)


@app.command()
def batch(
    indir: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Folder of uploads (the inbox).")],
    out: Annotated[Path, typer.Option(help="Write OUT/<file>.json, OUT/summary.csv and OUT/summary.html.")],
    manifest: Annotated[Path | None, typer.Option(exists=True, dir_okay=False,
                                                  help="Intake CSV: file,patient_name,payer.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many pending uploads in this run.")] = 500,
    dask: Annotated[str | None, typer.Option(help="Dask scheduler address (default: DOCVERIFY_DASK_ADDRESS; "
                                                  "unset: a thread pool on this machine).")] = None,
) -> None:
    """Verify every file of INDIR through the Prefect batch flow and write the reports and summaries.
    Exit 0: every file has a report; 4: some failed on our side (see summary.csv)."""
    from flows.batch import ManifestError, inbox_files, load_manifest, results_for, write_outputs
    from flows.deploy import local_prefect_api
    from flows.flows import batch_flow_for
    from flows.tasks import open_store

    try:
        if manifest is not None:
            load_manifest(manifest)  # a usage error before anything starts
    except ManifestError as e:
        err.print(f"[red]manifest invalid:[/red] {e.detail}", highlight=False)
        raise typer.Exit(2) from None
    files = inbox_files(indir)
    store = open_store()
    with local_prefect_api(), _batch_progress(store, files):
        batch_flow_for(dask)(inbox=str(indir.resolve()), limit=limit,
                             manifest=str(manifest.resolve()) if manifest else None)
    results = results_for(store, files, owner="inbox")
    counts = write_outputs(results, out)
    table = Table(title=f"{len(results)} files")
    table.add_column("status")
    table.add_column("files", justify="right")
    for status, n in sorted(counts.items()):
        table.add_row(status, str(n))
    Console().print(table)
    if any(r.status not in {s.value for s in Status} for r in results):
        raise typer.Exit(EXIT_FAILED)


def _batch_progress(store: Store, files: list[Path]) -> AbstractContextManager[None]:
    """A progress bar on a terminal (polls the store for finished uploads); nothing otherwise."""
    from flows.batch import cached_sha256
    from pipeline.store import UploadState

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
                    done = sum(1 for r in store.list_uploads(owner="inbox", limit=2**31)
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
    inbox: Annotated[Path | None, typer.Option(file_okay=False, help="Inbox folder the scheduled batch ingests.")]
    = None,
) -> None:
    """Serve the deployments: the batch on DOCVERIFY_BATCH_CRON (default every 15 min), the per-upload flow (the
    upload API triggers it) and the reconciler every 60 s. Starts a local Prefect server if none is configured."""
    from flows.deploy import local_prefect_api
    from flows.deploy import serve as serve_deployments

    with local_prefect_api() as url:
        err.print(f"Prefect API: {url}", highlight=False, markup=False)
        serve_deployments(str(inbox.resolve()) if inbox else None)


@app.command()
def reconcile(
    stale_after: Annotated[float | None, typer.Option(help="Seconds of silence after which a PROCESSING upload "
                                                            "is taken for lost (default 180).")] = None,
) -> None:
    """Requeue uploads whose run crashed, vanished or went silent (run the next batch to process them)."""
    from flows.deploy import local_prefect_api
    from flows.reconcile import DEFAULT_STALE_S
    from flows.reconcile import reconcile as reconcile_flow

    with local_prefect_api():
        counts = reconcile_flow(stale_after_s=stale_after if stale_after is not None else DEFAULT_STALE_S)
    Console().print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "nothing to do", markup=False)


@app.command("eval-mtsamples")
def eval_mtsamples(
    corpus: Annotated[Path, typer.Option(help="The MTSamples CSV.")]
    = Path("/work/shared/corpora/mtsamples/mtsamples.csv"),
    labels: Annotated[Path | None, typer.Option(help="Label file (default: evaluation/mtsamples/labels.jsonl).")]
    = None,
    out: Annotated[Path | None, typer.Option(help="Write OUT/mtsamples-eval.json (codes and counts only).")] = None,
    ner: Annotated[bool, typer.Option(help="Use the NER recall layer (--no-ner: lexicon, codes and linker only).")]
    = True,
) -> None:
    """Score the pain-diagnosis decision on hand-labeled MTSamples notes. See evaluation/mtsamples/README.md."""
    from flows.mtsamples_eval import DEFAULT_LABELS, evaluate_mtsamples

    _use_ner(ner)
    try:
        evaluate_mtsamples(corpus, labels or DEFAULT_LABELS, out, Console())
    except DocverifyError as e:
        err.print(f"[red]{e.code}:[/red] {e}", highlight=False)
        raise typer.Exit(2) from None


if __name__ == "__main__":
    app()
