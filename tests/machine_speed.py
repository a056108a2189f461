"""How slow this machine is, so that a test's time bound travels between machines.

Machines of the same kind differ by 2x in single-core Python speed (session 12's and session 14's CI machines ran
the same code at 1.75 and 2.98-3.59 CPU-s for `import spacy, sklearn, medspacy`). A bound in seconds that holds on
one fails on the other for the code's machine, not its code: CI failed at 50.2 ms against a 50-ms bound on the
slower one. A speed test states its bound as set on the reference machine and multiplies it by `slowness()`.

`slowness()` times a fixed pure-Python workload (regular expressions, dict and string work: what the finders and
the intake search spend their time on), the fastest of several runs, against the same workload's time on the
reference machine. It is never below 1: a faster machine keeps the bound as written, so a regression that doubles
the cost still fails there.
"""

from __future__ import annotations

import functools
import re
import time

# The workload's best time on the reference machine: session 15's, 12.5-13 ms idle, where the five-page intake
# search took 32 ms against its 50-ms bound (50.2 ms on session 14's machine, where CI failed on it).
REFERENCE_WORKLOAD_S = 0.0125
RUNS = 7

_WORD = re.compile(r"[A-Z][a-z]+(?:-[A-Z][a-z]+)?")


def _workload() -> int:
    counts: dict[str, int] = {}
    hits = 0
    for i in range(12_000):
        word = f"Word{i % 173}-Part{i % 7}" if i % 3 else f"lower{i % 97}"
        counts[word.casefold()] = counts.get(word.casefold(), 0) + 1
        hits += _WORD.match(word) is not None
    return hits + len(sorted(counts))


def workload_seconds() -> float:
    """The workload's fastest time of `RUNS` runs on this machine, now."""
    best = float("inf")
    for _ in range(RUNS):
        start = time.perf_counter()
        _workload()
        best = min(best, time.perf_counter() - start)
    return best


@functools.cache
def slowness() -> float:
    """How many times slower than the reference machine this one runs the workload (at least 1)."""
    return max(1.0, workload_seconds() / REFERENCE_WORKLOAD_S)
