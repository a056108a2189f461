"""Benchmark of the NLP stage: pipeline load, ICD-10-CM table, ICD linker index, per-page parse time.

Run from the repository root:  .venv/bin/python benchmarks/bench_nlp.py [--runs 30] [--no-cold]

Cold figures (import, pipeline build, linker index) are each measured in a fresh subprocess, so nothing warmed by
an earlier step is reused; the table and linker figures use whatever on-disk caches exist (run once with
`--clear-cache` to see the cache-miss cost). `import simple_icd_10_cm` is measured for reference: the pipeline
imports it only to rebuild a missing or stale ICD-10-CM table cache (see `pipeline/icd10cm.py`).
Per-page figures parse every page of the text-layer sample PDFs
(read with `extractors.routing.read_document`, so exactly what production parses) plus a dense synthetic 400-word
note, each `--runs` times after one warm-up. Times are wall-clock (`time.perf_counter`), in milliseconds unless
marked s. The load average is printed with the figures: on a 2-core machine another busy process inflates them.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from the repository root: make the packages importable
    sys.path.insert(0, str(ROOT))

from extractors.nlp import ClinicalPipeline, get_pipeline  # noqa: E402
from pipeline.types import BBox, Document, LinearText, MediaType, Page, Source, Word, linearize  # noqa: E402

SAMPLES = ROOT / "samples" / "inputs"
# A dense, realistic 400-word outpatient note: sections, lists, negation, family and historical cues, codes, names.
SYNTHETIC_NOTE = """\
Riverside Pain & Spine Associates
Patient: Maria Elena Gonzalez DOB: 03/14/1971 MRN: 00482913
Date of Service: 02/11/2025 Provider: Dr. Jonathan R. Whitfield, MD
Chief Complaint: burning pain of the left arm and diffuse widespread pain
History of Present Illness:
Ms. Gonzalez is a 53-year-old woman seen for follow up of complex regional pain syndrome (CRPS) of the left upper
limb after a distal radius fracture in 2022. She reports allodynia, swelling and color change of the left hand,
worse with cold exposure. Pain is rated 7/10 today. She also describes diffuse aching, fatigue and non-restorative
sleep consistent with fibromyalgia. She denies migraines, numbness of the feet or bowel changes. Possible
occipital neuralgia was raised by her neurologist last year; evaluation for cervical radiculopathy is pending.
She previously had low back pain in her twenties, now resolved.
Past Medical History:
- Fibromyalgia (M79.7)
- Major depressive disorder, single episode
- Hypertension
- History of migraine without aura
Family History:
Mother has fibromyalgia and rheumatoid arthritis. Father with type 2 diabetes. Sister had migraines.
Social History: Works as a school administrator. Never smoker. Occasional alcohol.
Medications: duloxetine 60 mg daily, gabapentin 300 mg three times daily, lisinopril 10 mg daily.
Allergies: penicillin (rash).
Review of Systems: Negative for fever, chest pain, shortness of breath. Positive for fatigue and poor sleep.
Physical Exam: BP 132/84, HR 76. Left hand warm, edematous, with mottled skin and hyperalgesia to light touch.
Tender points present in 14 of 18 sites. Strength 4/5 left grip limited by pain. Reflexes symmetric.
Assessment:
1. G90.512 Complex regional pain syndrome I of left upper limb, not improving
2. Fibromyalgia, stable on duloxetine
3. Chronic pain syndrome
4. r/o occipital neuralgia
5. Major depressive disorder, single episode, moderate
Plan:
Continue duloxetine and gabapentin; titrate gabapentin to 400 mg three times daily. Refer to occupational therapy
for graded motor imagery and desensitization. Stellate ganglion block to be scheduled. Discussed sleep hygiene and
graded aerobic exercise. Repeat PHQ-9 at next visit; continue counseling with behavioral health. No evidence of
peripheral neuropathy on exam today. Consider trigger point injections if myofascial pain persists. Check vitamin D,
TSH and ESR before the next visit. Follow up in 6 weeks or sooner if symptoms worsen. Patient verbalized understanding.
Electronically signed by Jonathan R. Whitfield, MD, Pain Medicine, 02/11/2025 16:42.
Referring physician: Dr. Alicia Moreno, Family Medicine. PCP: Dr. Alicia Moreno.
"""


@dataclass(frozen=True)
class PageText:
    """One page to parse."""

    name: str
    text: LinearText


@dataclass(frozen=True)
class Timing:
    """Summary of repeated measurements, in milliseconds."""

    median: float
    p90: float

    @staticmethod
    def of(samples: Sequence[float]) -> Timing:
        """Median and 90th percentile of `samples` (ms)."""
        ordered = sorted(samples)
        return Timing(statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))])


class _NoOcr:
    """OCR seam that refuses: only text-layer pages are benchmarked (OCR time is not NLP time)."""

    def read(self, image: object, timeout: float) -> list[object]:
        raise RuntimeError("page needs OCR")

    def orientation(self, image: object, timeout: float) -> None:
        raise RuntimeError("page needs OCR")


def _synthetic_page() -> LinearText:
    words: list[Word] = []
    for line_no, line in enumerate(SYNTHETIC_NOTE.splitlines()):
        for col, w in enumerate(line.split()):
            x = 10.0 * col
            words.append(Word(w, BBox(x, 12.0 * line_no, x + 9.0, 12.0 * line_no + 10.0), line_no, 1.0))
    page = Page(1, 612.0, 792.0, Source.TEXT_LAYER, "synthetic", tuple(words))
    return linearize(Document("0" * 64, MediaType.PDF, 1, (page,)))


def sample_pages() -> list[PageText]:
    """Every text-layer page of the sample PDFs, one LinearText per page, plus the synthetic note."""
    from extractors.routing import read_document
    from pipeline.errors import DocverifyError
    from pipeline.intake import accept

    pages: list[PageText] = []
    for path in sorted(SAMPLES.glob("*.pdf")):
        data = path.read_bytes()
        try:
            doc = read_document(data, accept(data, path.name), engine=_NoOcr())  # type: ignore[arg-type]
        except (DocverifyError, RuntimeError):
            continue  # encrypted, truncated, scanned: not a text-layer sample
        for page in doc.pages:
            if page.source is Source.TEXT_LAYER and page.words:
                # a one-page document: its page is page 1 (finders map offsets back to pages by number)
                single = Document(doc.sha256, doc.media_type, doc.size_bytes, (dataclasses.replace(page, number=1),))
                pages.append(PageText(f"{path.stem} p{page.number}", linearize(single)))
    pages.append(PageText("synthetic 400-word note", _synthetic_page()))
    return pages


def _cold(snippet: str) -> float:
    """Seconds printed by `snippet` run in a fresh interpreter (the last stdout line)."""
    out = subprocess.run([sys.executable, "-c", snippet], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


COLD_IMPORT_CM = "import time; t=time.perf_counter(); import simple_icd_10_cm; print(time.perf_counter()-t)"
COLD_ICD_TABLE = ("import time; t=time.perf_counter(); from pipeline import icd10cm; icd10cm.table(); "
                  "print(time.perf_counter()-t)")
COLD_IMPORTS = ("import time; t=time.perf_counter(); from extractors.nlp import build_pipeline; "
                "import spacy, medspacy, scispacy.abbreviation; print(time.perf_counter()-t)")
COLD_PIPELINE = ("import time; t=time.perf_counter(); from extractors.nlp import build_pipeline; p=build_pipeline(); "
                 "print(time.perf_counter()-t)")
COLD_PIPELINE_BUILD_ONLY = ("import spacy, medspacy, scispacy.abbreviation, time; "
                            "from extractors.nlp import build_pipeline; "
                            "t=time.perf_counter(); build_pipeline(); print(time.perf_counter()-t)")
COLD_LINKER = ("import time; from extractors.icd_linker import get_linker; l=get_linker(); "
               "t=time.perf_counter(); l.index; print(time.perf_counter()-t)")
COLD_LINKER_NO_CACHE = ("import time; from extractors.icd_linker import IcdIndex; from pipeline.policy import "
                        "load_lexicon; lex=load_lexicon(); t=time.perf_counter(); IcdIndex(lex, None); "
                        "print(time.perf_counter()-t)")


def cold_figures(repeats: int) -> list[tuple[str, float]]:
    """(label, median seconds over `repeats` fresh processes) for each cold step."""
    steps = [("import simple_icd_10_cm (cache miss only)", COLD_IMPORT_CM),
             ("ICD-10-CM table, first use (cache as found)", COLD_ICD_TABLE),
             ("pipeline: import + build", COLD_PIPELINE),
             ("pipeline: imports only", COLD_IMPORTS),
             ("pipeline: build_pipeline() only", COLD_PIPELINE_BUILD_ONLY),
             ("linker index, first use (cache as found)", COLD_LINKER),
             ("linker index, first use (cache disabled)", COLD_LINKER_NO_CACHE)]
    return [(label, statistics.median(_cold(s) for _ in range(repeats))) for label, s in steps]


def _time(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm-up
    out: list[float] = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000.0)
    return out


def per_component(pipeline: ClinicalPipeline, text: str, runs: int) -> list[tuple[str, Timing]]:
    """Per-component times (ms) on `text`: tokenizer, then each pipe applied in order to a fresh Doc."""
    nlp = pipeline.nlp
    samples: dict[str, list[float]] = {"tokenizer": []}
    samples.update({name: [] for name in nlp.pipe_names})
    for i in range(runs + 1):
        t = time.perf_counter()
        doc = nlp.make_doc(text)
        times = [("tokenizer", time.perf_counter() - t)]
        for name, proc in nlp.pipeline:
            t = time.perf_counter()
            doc = proc(doc)
            times.append((name, time.perf_counter() - t))
        if i:  # the first pass is a warm-up
            for name, seconds in times:
                samples[name].append(seconds * 1000.0)
    return [(name, Timing.of(v)) for name, v in samples.items()]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30, help="timed parses per page (default 30)")
    ap.add_argument("--cold-repeats", type=int, default=3, help="fresh processes per cold figure (default 3)")
    ap.add_argument("--no-cold", action="store_true", help="skip the subprocess cold-start figures")
    ap.add_argument("--clear-cache", action="store_true",
                    help="delete the on-disk ICD-10-CM table and ICD index caches first")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")

    print(f"load average (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}  cpus: {os.cpu_count()}")
    if args.clear_cache:
        from extractors.icd_linker import clear_index_cache
        from pipeline import icd10cm
        clear_index_cache()
        (icd10cm.cache_dir() / icd10cm.CACHE_FILE).unlink(missing_ok=True)
    if not args.no_cold:
        print(f"\ncold start (median of {args.cold_repeats} fresh processes)")
        print(f"{'step':<44}{'s':>8}")
        for label, seconds in cold_figures(args.cold_repeats):
            print(f"{label:<44}{seconds:>8.2f}")

    pipeline = get_pipeline()
    pages = sample_pages()
    print(f"\npipeline: {','.join(pipeline.nlp.pipe_names)}")
    print(f"\nper-page parse ({args.runs} runs each, ms)")
    print(f"{'page':<44}{'words':>6}{'tokens':>7}{'median':>8}{'p90':>8}")
    all_ms: list[float] = []
    total_tokens = 0
    total_seconds = 0.0
    for page in pages:
        ms = _time(lambda p=page: pipeline.parse(p.text), args.runs)
        n_tokens = len(pipeline.nlp.make_doc(page.text.text))
        timing = Timing.of(ms)
        all_ms += ms
        total_tokens += n_tokens * len(ms)
        total_seconds += sum(ms) / 1000.0
        print(f"{page.name:<44}{len(page.text.text.split()):>6}{n_tokens:>7}{timing.median:>8.1f}{timing.p90:>8.1f}")
    overall = Timing.of(all_ms)
    print(f"{'all pages':<44}{'':>6}{'':>7}{overall.median:>8.1f}{overall.p90:>8.1f}")
    print(f"tokens per second (all pages): {total_tokens / total_seconds:,.0f}")

    dense = pages[-1].text.text
    print(f"\nper component on the synthetic note ({args.runs} runs, ms)")
    print(f"{'component':<44}{'median':>8}{'p90':>8}")
    comps = per_component(pipeline, dense, args.runs)
    for name, timing in comps:
        print(f"{name:<44}{timing.median:>8.2f}{timing.p90:>8.2f}")
    print(f"{'sum of medians':<44}{sum(t.median for _, t in comps):>8.2f}")
    print(f"\nload average after (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
