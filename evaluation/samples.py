"""The labeled-samples evaluation (`docverify eval DIR`): check every labeled upload, score the reports against the
labels (evaluation/scoring.py), print the tables and say which figure is below its threshold.

Used for the bundled samples (samples/) and for any folder in the same shape: `labels.jsonl` beside `inputs/`
(the varied documents of evaluation/varied/, and labels exported from coordinators' decisions)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from evaluation.checking import CheckMany, Job
from evaluation.scoring import Label, Scores
from pipeline.evaluate import Intake
from pipeline.exports import private_folder, write_private
from pipeline.report import Report
from pipeline.types import Field, Status


def run_labeled(labels: list[Label], inputs: Path, out: Path | None, check: CheckMany,
                progress_console: Console) -> list[tuple[Label, Report]]:
    """Check every labeled file of `inputs` with `check` (writing OUT/<file>.json when `out` is given); the pairs of
    label and report, by file name. A file that failed on our side is printed by name and error code and left out."""
    jobs = [Job(inputs / lb.file, Intake(lb.intake.patient_name, lb.intake.payer)) for lb in labels]
    by_file = {lb.file: lb for lb in labels}
    pairs: list[tuple[Label, Report]] = []
    if out:
        private_folder(out)
    with Progress(TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=progress_console, transient=True) as progress:
        task = progress.add_task("check", total=len(jobs))
        for outcome in check(jobs):
            progress.advance(task)
            name = outcome.job.path.name
            if outcome.report is None:
                progress_console.print(f"{name}: failed ({outcome.error_code})", highlight=False, markup=False)
                continue
            pairs.append((by_file[name], outcome.report))
            if out:
                write_private(out / f"{name}.json", outcome.report.model_dump_json(indent=2) + "\n")
    pairs.sort(key=lambda p: p[0].file)
    return pairs


def read_reports(labels: list[Label], reports: Path) -> list[tuple[Label, Report]]:
    """The pairs of label and the saved report REPORTS/<file>.json (from `docverify batch` or an earlier eval)."""
    return [(lb, Report.model_validate_json((reports / f"{lb.file}.json").read_text())) for lb in labels]


def below_thresholds(scores: Scores, *, min_f1: float, min_status_accuracy: float,
                     max_wrongly_complete: int) -> list[str]:
    """Each figure below its threshold, as a sentence; empty when all pass."""
    failed = [f"{f.value} F1 {s.f1:.3f} < {min_f1}" for f, s in scores.fields.items() if s.f1 < min_f1]
    if scores.status_accuracy < min_status_accuracy:
        failed.append(f"status accuracy {scores.status_accuracy:.3f} < {min_status_accuracy}")
    if len(scores.wrongly_complete) > max_wrongly_complete:
        failed.append(f"{len(scores.wrongly_complete)} wrongly complete > {max_wrongly_complete}")
    return failed


def print_scores(scores: Scores, reports: dict[str, Report], con: Console, *, summary_only: bool = False) -> None:
    """Per-document statuses, per-field P/R/F1, the status confusion matrix, wrongly complete and every mistake.

    `summary_only` (the varied test split, which nobody reads or tunes on: evaluation/varied/README.md) prints the
    per-field table, the confusion matrix and the count of wrongly complete documents, and nothing about any one
    document — no file names, reasons, or expected and found names."""
    if summary_only:
        _print_summary(scores, con)
        con.print(f"Wrongly marked complete: {len(scores.wrongly_complete)}", markup=False)
        return
    summary = Table(title=f"{scores.documents} documents", show_lines=False)
    for col in ("file", "status", "reasons"):
        summary.add_column(col, overflow="fold")
    for name, r in sorted(reports.items()):
        summary.add_row(name, r.status.value, "; ".join(r.reasons)[:140])
    con.print(summary, markup=False)
    _print_summary(scores, con)
    con.print(f"Wrongly marked complete: {len(scores.wrongly_complete)}"
              + (f" ({', '.join(scores.wrongly_complete)})" if scores.wrongly_complete else ""), markup=False)
    if scores.mistakes:
        con.print("Mistakes:", markup=False)
        for m in scores.mistakes:
            con.print(f"  {m.file}: {m.what} expected {m.expected!r}, got {m.got!r}", markup=False)


def _print_summary(scores: Scores, con: Console) -> None:
    """The per-field table and the status confusion matrix."""
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
