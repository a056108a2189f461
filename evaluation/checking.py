"""What an evaluation asks of the pipeline: check these files, yield a report (or an error code) for each.

The evaluations sit below the entry points (flows/ → evaluation/ → extractors/ → pipeline/), so they do not start
worker processes themselves: the entry point passes a `CheckMany` in (flows.runner.check_many with its settings and
worker count), and tests can pass the same function with other settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.evaluate import Intake
from pipeline.report import Report


@dataclass(frozen=True, slots=True)
class Job:
    """One file to check with its intake facts."""

    path: Path
    intake: Intake


@dataclass(frozen=True, slots=True)
class Outcome:
    """A report, or the stable code of the error that prevented one."""

    job: Job
    report: Report | None
    error_code: str | None = None


CheckMany = Callable[[list[Job]], Iterator[Outcome]]
"""Checks every job and yields an outcome per job as each finishes (order not preserved)."""
