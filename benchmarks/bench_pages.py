"""Pages per minute against the OCR floor: `make bench` (benchmarks/README.md "bench_pages.py").

One run, on the fixed corpus of benchmarks/bench_corpus.py (out/bench/corpus), measures side by side and prints as
ratios:

- **floor**: the bare `tesseract` CLI (`--oem 1 --psm 3`, TSV, OMP_THREAD_LIMIT=1), one process per core, over
  the corpus's page images; **naive**: one process, a plain `pytesseract.image_to_data` loop over the same images;
  **batch**: `docverify batch` over the same uploads (a fresh process with a fresh store: Prefect's local server,
  model load, bounded reading, NLP, store, summaries); **pool**: `flows.runner.check_many` (one worker per core,
  models loaded once per worker; no Prefect, no store). Run in rounds, interleaved, on the scan corpus (all pages
  OCR'd) and the mixed corpus (scans, screenshots, text PDFs); ratios are taken within a round, so the load of other
  processes on the machine hits both sides.
- **text layer**: pages/s of `extractors.routing.read_document` on the long export against pdfplumber alone
  (`extract_words` on every page), and the export checked whole (`flows.verify.check_bytes`).
- **stages** (a fresh worker process, in-process reading): decode, prepare (without OSD), OSD, OCR, NLP (find),
  evaluate, store (add, claim, save) per page; model load; the worker's peak RSS.
- **cold starts**: `docverify check` on an empty file, on a one-page text PDF and on a one-page scan.
- **cost ladder**: `check_bytes` on text PDFs of 1, 10 and 100 pages (warm), seconds per page.

Writes out/bench/results-<time>.json and out/bench/latest.json, and prints a markdown table. `--quick`: a few pages
(`make bench QUICK=1`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "benchmarks"):  # `benchmarks` itself is shadowed by a site-packages package of that name
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

from bench_corpus import FULL, QUICK, Item, load_or_build  # noqa: E402

PYTHON = sys.executable
DOCVERIFY = str(Path(PYTHON).with_name("docverify"))
TESSERACT_ARGS = ("--oem", "1", "--psm", "3")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def env_for(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCVERIFY_", "PREFECT_"))}
    env["OMP_THREAD_LIMIT"] = "1"
    env["PYTHONPATH"] = str(ROOT)  # this tree's code, whatever checkout the venv's editable install points at
    env.update(extra)
    return env


# --- the baselines ----------------------------------------------------------------------------------------------


def floor(images: list[Path], workers: int) -> float:
    """Seconds for the bare tesseract CLI over `images`, `workers` processes at a time."""
    env = env_for()

    def one(path: Path) -> None:
        subprocess.run(["tesseract", str(path), "stdout", *TESSERACT_ARGS, "tsv"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, images))
    return time.perf_counter() - t0


def naive(images: list[Path]) -> float:
    """Seconds for a plain pytesseract loop over `images` in one process (what a first script would do)."""
    import pytesseract
    from PIL import Image

    t0 = time.perf_counter()
    for path in images:
        with Image.open(path) as img:
            pytesseract.image_to_data(img, config=" ".join(TESSERACT_ARGS))
    return time.perf_counter() - t0


def batch(files: list[Path], work: Path) -> dict[str, Any]:
    """`docverify batch` over `files` in a fresh process and a fresh data dir: wall seconds, exit code, the largest
    RSS of any process it waited for (KiB → MiB), reports written."""
    inbox = work / "inbox"
    shutil.rmtree(work, ignore_errors=True)
    inbox.mkdir(parents=True)
    for f in files:
        shutil.copy(f, inbox / f.name)
    out = work / "out"
    env = env_for(DOCVERIFY_DATA_DIR=str(work / "var"))
    t0 = time.perf_counter()
    proc = subprocess.run([DOCVERIFY, "batch", str(inbox), "--out", str(out)], env=env, cwd=ROOT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    seconds = time.perf_counter() - t0
    reports = len(list(out.glob("*.json"))) if out.exists() else 0
    return {"s": seconds, "rc": proc.returncode, "reports": reports,
            "stderr_tail": proc.stderr.decode(errors="replace")[-300:] if proc.returncode else ""}


def pool(files: list[Path], workers: int) -> dict[str, Any]:
    """`flows.runner.check_many` (one worker per core, models loaded once each) in a fresh process: wall seconds."""
    code = ("import json,sys,time; from pathlib import Path; t0=time.perf_counter()\n"
            "from evaluation.checking import Job; from flows.runner import check_many\n"
            "from pipeline.evaluate import Intake; from pipeline.settings import Settings\n"
            "jobs=[Job(Path(p), Intake(patient_name=None)) for p in sys.argv[2:]]\n"
            "outs=list(check_many(jobs, Settings(), workers=int(sys.argv[1])))\n"
            "print(json.dumps({'s': time.perf_counter()-t0, 'errors': sum(o.report is None for o in outs)}))")
    t0 = time.perf_counter()
    proc = subprocess.run([PYTHON, "-c", code, str(workers), *map(str, files)], env=env_for(), cwd=ROOT,
                          capture_output=True, check=True)
    seconds = time.perf_counter() - t0
    return {"s": seconds, **json.loads(proc.stdout.decode().strip().splitlines()[-1])}


# --- text layer, stages, cold starts, ladder (each in a fresh worker process: `--worker NAME`) ---------------------


def text_layer_rates(export: Path, rounds: int = 2) -> dict[str, Any]:
    """Text-layer pages/s of read_document and of pdfplumber alone (`extract_words` on every page), interleaved;
    the best of `rounds` each."""
    import pdfplumber

    from extractors.routing import read_document
    from pipeline.intake import accept

    data = export.read_bytes()
    upload = accept(data, export.name)
    rows = []
    pages = 0
    for _ in range(rounds):
        def plumber() -> int:
            with pdfplumber.open(export) as pdf:
                return sum(1 for page in pdf.pages if page.extract_words() is not None)

        s_plumber, pages = timed(plumber)
        s_read, outcome = timed(lambda: _outcome(lambda: read_document(data, upload)))
        rows.append((s_plumber, s_read, outcome))
    s_plumber = min(r[0] for r in rows)
    s_read = min(r[1] for r in rows)
    return {"pages": pages, "pdfplumber_s": s_plumber, "read_s": s_read, "read_outcome": rows[-1][2],
            "pdfplumber_pages_per_s": pages / s_plumber, "read_pages_per_s": pages / s_read,
            "read_vs_pdfplumber": s_plumber / s_read}


def worker_text(export: Path) -> dict[str, Any]:
    """`text_layer_rates`, and the export checked whole (bounded reading, NLP, evaluate; warm models)."""
    rates = text_layer_rates(export)
    check_s, check_outcome = _check_whole(export.read_bytes(), export.name)
    return {**rates, "check_s": check_s, "check_outcome": check_outcome,
            "check_pages_per_s": rates["pages"] / check_s}


def _outcome(fn: Callable[[], Any]) -> str:
    from pipeline.errors import DocverifyError

    try:
        fn()
    except DocverifyError as e:
        return e.code
    return "ok"


def _check_whole(data: bytes, name: str) -> tuple[float, str]:
    from flows.verify import check_bytes
    from pipeline.evaluate import Intake
    from pipeline.settings import Settings

    settings = Settings()
    check_bytes(b"%PDF-1.4 warm-up", "w.pdf", Intake(patient_name=None), settings)  # the models, not counted
    seconds, report = timed(lambda: check_bytes(data, name, Intake(patient_name=None), settings))
    return seconds, report.status.value + (f" ({report.error.code})" if report.error else "")


class TimedEngine:
    """TesseractEngine with the seconds spent in OSD and in reading added up (the OcrEngine seam)."""

    def __init__(self) -> None:
        from extractors.ocr import TesseractEngine

        self.inner = TesseractEngine()
        self.osd_s = 0.0
        self.read_s = 0.0

    def read(self, image: Any, timeout: float) -> Any:
        t0 = time.perf_counter()
        try:
            return self.inner.read(image, timeout)
        finally:
            self.read_s += time.perf_counter() - t0

    def orientation(self, image: Any, timeout: float) -> Any:
        t0 = time.perf_counter()
        try:
            return self.inner.orientation(image, timeout)
        finally:
            self.osd_s += time.perf_counter() - t0


def worker_stages(paths: list[str]) -> dict[str, Any]:
    """Per-stage seconds over image uploads, read in-process (decode, prepare, OSD, OCR), then find, evaluate,
    store; model load first (imports included); the worker's peak RSS."""
    t0 = time.perf_counter()
    from extractors.finders import find_all
    from extractors.ner_model import get_recognizer
    from extractors.nlp import get_pipeline
    from pipeline.settings import Settings

    settings = Settings()
    get_pipeline()
    get_recognizer(settings.ner_model_name)
    model_load_s = time.perf_counter() - t0

    from extractors import imaging, ocr
    from extractors.imaging import IDENTITY
    from extractors.ocr import prepare, to_page_words
    from flows.tasks import pipeline_version
    from flows.verify import versions
    from pipeline.evaluate import Intake, evaluate
    from pipeline.intake import accept
    from pipeline.limits import DEFAULT_LIMITS
    from pipeline.policy import load_policy
    from pipeline.types import Document, Page, Source
    from storage.store import Store, StoreSettings

    policy = load_policy()
    limits = DEFAULT_LIMITS
    intake = Intake(patient_name=None)
    work = Path(tempfile.mkdtemp(prefix="bench-store-"))
    store = Store(StoreSettings(database_url=f"sqlite:///{work / 'db.sqlite'}", originals_dir=work / "originals"))
    store.migrate()
    totals = dict.fromkeys(("decode", "prepare", "osd", "ocr", "nlp", "evaluate", "store"), 0.0)
    pages = 0
    engine = TimedEngine()
    for path in paths:
        data = Path(path).read_bytes()
        upload = accept(data, Path(path).name)
        doc_pages: list[Page] = []
        frames = imaging.iter_frames(data, upload.media_type)
        while True:
            s, frame = timed(lambda: next(frames, None))  # noqa: B023
            totals["decode"] += s
            if frame is None:
                break
            engine.osd_s = 0.0
            if hasattr(ocr, "reads_upright"):  # read_image's order: read as it is, OSD only when not upright
                s, (gray, steps) = timed(lambda: ocr._cleaned(frame.image))  # noqa: B023
                s2, prepared = timed(lambda: ocr._finished(gray, IDENTITY, steps, limits))  # noqa: B023
                totals["prepare"] += s + s2
                s, raw = timed(lambda: engine.inner.read(prepared.image, 60.0))  # noqa: B023
                totals["ocr"] += s
                if not ocr.reads_upright(raw):
                    s, (turned, back, rotated) = timed(lambda: ocr._oriented(gray, engine, limits))  # noqa: B023
                    totals["osd"] += engine.osd_s
                    totals["prepare"] += s - engine.osd_s
                    if rotated:
                        s, prepared = timed(lambda: ocr._finished(turned, back, steps + rotated, limits))  # noqa: B023
                        totals["prepare"] += s
                        s, raw = timed(lambda: engine.inner.read(prepared.image, 60.0))  # noqa: B023
                        totals["ocr"] += s
            else:  # before: OSD on every page, inside prepare
                s, prepared = timed(lambda: prepare(frame.image, engine))  # noqa: B023
                totals["osd"] += engine.osd_s
                totals["prepare"] += s - engine.osd_s
                s, raw = timed(lambda: engine.inner.read(prepared.image, 60.0))  # noqa: B023
                totals["ocr"] += s
            page_w, page_h = frame.image.width * 72 / frame.dpi_x, frame.image.height * 72 / frame.dpi_y
            words = to_page_words(raw, prepared.to_original, frame.dpi_x, frame.dpi_y, page_w, page_h)
            doc_pages.append(Page(len(doc_pages) + 1, page_w, page_h, Source.OCR, "ocr", words))
        pages += len(doc_pages)
        document = Document(upload.sha256, upload.media_type, upload.size_bytes, tuple(doc_pages))
        s, findings = timed(lambda: find_all(document, policy, ner_model=settings.ner_model_name))  # noqa: B023
        totals["nlp"] += s
        s, report = timed(lambda: evaluate(document, findings, intake, policy,  # noqa: B023
                                           versions(settings.ner_model_name)))
        totals["evaluate"] += s

        def save() -> None:
            record, _ = store.add_upload(data, owner="bench", display_name="upload",  # noqa: B023
                                         media_type=upload.media_type.value, intake=intake)  # noqa: B023
            held = store.claim(record.id, "bench:1")
            if held is None:
                raise RuntimeError("claim refused")
            store.save_report(record.id, report, pipeline_version(settings.ner_model_name),  # noqa: B023
                              fence=held.fence)

        totals["store"] += timed(save)[0]
    shutil.rmtree(work, ignore_errors=True)
    return {"pages": pages, "model_load_s": model_load_s, "stage_s": totals,
            "stage_s_per_page": {k: v / max(pages, 1) for k, v in totals.items()},
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def worker_ladder(paths: list[str]) -> dict[str, Any]:
    """Warm `check_bytes` (bounded reading in the child, NLP, evaluate) on text PDFs of growing length."""
    from flows.verify import check_bytes
    from pipeline.evaluate import Intake
    from pipeline.settings import Settings

    settings = Settings()
    intake = Intake(patient_name=None)
    check_bytes(Path(paths[0]).read_bytes(), "warm.pdf", intake, settings)  # models and the forkserver
    out = {}
    for path in paths:
        data = Path(path).read_bytes()
        s = min(timed(lambda: check_bytes(data, "ladder.pdf", intake, settings))[0] for _ in range(2))  # noqa: B023
        out[Path(path).stem] = s
    return {"s": out}


WORKERS: dict[str, Callable[[list[str]], dict[str, Any]]] = {
    "text": lambda args: worker_text(Path(args[0])),
    "stages": worker_stages,
    "ladder": worker_ladder,
}


def in_worker(name: str, args: list[str]) -> dict[str, Any]:
    """Run WORKERS[name] in a fresh interpreter; its JSON result."""
    proc = subprocess.run([PYTHON, __file__, "--worker", name, *args], env=env_for(), cwd=ROOT,
                          capture_output=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"worker {name} failed: {proc.stderr.decode(errors='replace')[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return result


def cold_check(path: Path, runs: int) -> dict[str, Any]:
    """`docverify check PATH` from a cold process: median and min wall seconds, the exit code."""
    times, rc = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run([DOCVERIFY, "check", str(path)], env=env_for(), cwd=ROOT, capture_output=True,
                              check=False)
        times.append(time.perf_counter() - t0)
        rc = proc.returncode
    return {"median_s": statistics.median(times), "min_s": min(times), "rc": rc}


# --- the run ----------------------------------------------------------------------------------------------------


def images_of(items: list[Item], root: Path) -> list[Path]:
    return [root / p for item in items for p in item.page_images]


def run(corpus: Path, quick: bool, rounds: int, out_dir: Path) -> dict[str, Any]:
    size = QUICK if quick else FULL
    items = load_or_build(corpus, size)
    cores = os.cpu_count() or 1
    scans = [i for i in items if i.kind == "scan"]
    mixed = [i for i in items if i.kind in ("scan", "screen", "text")]
    export = next(i for i in items if i.kind == "export")
    ladder = [i for i in items if i.kind == "ladder"]
    load_before = os.getloadavg()
    results: dict[str, Any] = {"quick": quick, "cores": cores, "rounds": [], "started": time.strftime("%FT%TZ",
                                                                                                     time.gmtime())}
    work = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    try:
        for r in range(rounds):
            row: dict[str, Any] = {}
            for label, group in (("scan", scans), ("mixed", mixed)):
                images = images_of(group, corpus)
                files = [corpus / i.path for i in group]
                pages = sum(i.pages for i in group)
                # interleaved, the order alternating between rounds
                order = ["floor", "batch", "pool", "naive"] if r % 2 == 0 else ["naive", "pool", "batch", "floor"]
                if rounds > 1 and r > 0:
                    order = [o for o in order if o != "naive"]  # the slowest baseline: once is enough
                got: dict[str, Any] = {"pages": pages}
                for what in order:
                    if what == "floor":
                        got["floor_s"] = floor(images, cores)
                    elif what == "naive":
                        got["naive_s"] = naive(images)
                    elif what == "batch":
                        got["batch"] = batch(files, work / f"batch-{label}-{r}")
                    else:
                        got["pool"] = pool(files, cores)
                got["batch_vs_floor"] = got["floor_s"] / got["batch"]["s"]
                got["pool_vs_floor"] = got["floor_s"] / got["pool"]["s"]
                if "naive_s" in got:
                    got["batch_vs_naive"] = got["naive_s"] / got["batch"]["s"]
                    got["pool_vs_naive"] = got["naive_s"] / got["pool"]["s"]
                got["pages_per_min"] = {"floor": 60 * pages / got["floor_s"],
                                        "batch": 60 * pages / got["batch"]["s"],
                                        "pool": 60 * pages / got["pool"]["s"]}
                row[label] = got
                print(f"round {r + 1} {label}: {json.dumps(_brief(got))}", flush=True)
            results["rounds"].append(row)
        results["text_layer"] = in_worker("text", [str(corpus / export.path)])
        print(f"text layer: {json.dumps(results['text_layer'])}", flush=True)
        stage_files = [str(corpus / i.path) for i in items if i.kind in ("scan", "screen")]
        results["stages"] = in_worker("stages", stage_files)
        print(f"stages: {json.dumps(results['stages'])}", flush=True)
        empty = work / "empty.pdf"
        empty.write_bytes(b"")
        note = work / "note.txt"
        note.write_text("not a document\n")
        one_scan = next(corpus / i.page_images[0] for i in scans)
        results["cold"] = {"empty": cold_check(empty, 3), "txt": cold_check(note, 3),
                           "text_pdf_1_page": cold_check(corpus / ladder[0].path, 3),
                           "scan_1_page": cold_check(one_scan, 1)}
        print(f"cold: {json.dumps(results['cold'])}", flush=True)
        results["ladder"] = in_worker("ladder", [str(corpus / i.path) for i in ladder])
        per_page = {name: s / int(name.rsplit("_", 1)[1]) for name, s in results["ladder"]["s"].items()}
        results["ladder"]["s_per_page"] = per_page
        print(f"ladder: {json.dumps(results['ladder'])}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["load_avg"] = {"before": load_before, "after": os.getloadavg()}
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    text = json.dumps(results, indent=1)
    (out_dir / f"results-{stamp}{'-quick' if quick else ''}.json").write_text(text)
    (out_dir / ("latest-quick.json" if quick else "latest.json")).write_text(text)
    return results


def _brief(got: dict[str, Any]) -> dict[str, Any]:
    keys = ("pages", "floor_s", "naive_s", "batch_vs_floor", "pool_vs_floor", "batch_vs_naive", "pool_vs_naive")
    out = {k: round(got[k], 3) if isinstance(got[k], float) else got[k] for k in keys if k in got}
    out["batch_s"] = round(got["batch"]["s"], 2)
    out["batch_rc"] = got["batch"]["rc"]
    out["pool_s"] = round(got["pool"]["s"], 2)
    return out


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(results: dict[str, Any]) -> str:
    """The README's markdown table of one run."""
    rows = ["| figure (one run, ratios within a round) | value |", "|---|---|"]
    for label in ("scan", "mixed"):
        every = [r[label] for r in results["rounds"]]
        pages = every[0]["pages"]
        got = [g for g in every if g["batch"]["rc"] == 0]  # a batch that crashed measures nothing
        if len(got) < len(every):
            rows.append(f"| {label}: rounds whose `docverify batch` failed (left out of its ratios) | "
                        f"{len(every) - len(got)} |")
        rows.append(f"| {label} corpus ({pages} pages): batch / floor, pages per minute | "
                    f"{_median([g['batch_vs_floor'] for g in got]):.2f}x "
                    f"({_median([g['pages_per_min']['batch'] for g in got]):.1f} vs "
                    f"{_median([g['pages_per_min']['floor'] for g in got]):.1f}) |")
        rows.append(f"| {label}: pool (no Prefect, no store) / floor | "
                    f"{_median([g['pool_vs_floor'] for g in every]):.2f}x |")
        naive_rows = [g for g in every if "naive_s" in g]
        if naive_rows:
            rows.append(f"| {label}: batch / naive pytesseract loop; pool / naive | "
                        f"{_median([g['batch_vs_naive'] for g in naive_rows if g in got]):.2f}x; "
                        f"{_median([g['pool_vs_naive'] for g in naive_rows]):.2f}x |")
    t = results["text_layer"]
    rows.append(f"| text layer, {t['pages']}-page export: read_document / pdfplumber alone, pages/s | "
                f"{t['read_vs_pdfplumber']:.2f}x ({t['read_pages_per_s']:.1f} vs {t['pdfplumber_pages_per_s']:.1f}) |")
    rows.append(f"| the export checked whole: seconds, outcome, pages/s | {t['check_s']:.1f} s, "
                f"{t['check_outcome']}, {t['check_pages_per_s']:.1f} |")
    st = results["stages"]
    per = st["stage_s_per_page"]
    rows.append("| per OCR'd page, s: " + ", ".join(per) + " | " + ", ".join(f"{v:.3f}" for v in per.values()) + " |")
    rows.append(f"| model load in a fresh worker (imports + NLP pipeline + NER), s | {st['model_load_s']:.2f} |")
    rows.append(f"| peak RSS of a worker (models + in-process OCR of the corpus), MiB | {st['peak_rss_mib']:.0f} |")
    c = results["cold"]
    rows.append(f"| `docverify check`, cold: empty file / .txt / 1-page text PDF / 1-page scan, s | "
                f"{c['empty']['median_s']:.2f} / {c['txt']['median_s']:.2f} / {c['text_pdf_1_page']['median_s']:.2f}"
                f" / {c['scan_1_page']['median_s']:.2f} |")
    lad = results["ladder"]["s_per_page"]
    rows.append("| warm `check_bytes`, text PDF, s per page at " + ", ".join(p.rsplit("_", 1)[1].lstrip("0")
                                                                          for p in lad) + " pages | "
                + ", ".join(f"{v:.3f}" for v in lad.values()) + " |")
    la = results["load_avg"]
    rows.append(f"| load average before / after (2 cores, shared) | {la['before'][0]:.1f} / {la['after'][0]:.1f} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few pages (make bench QUICK=1)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 2; quick 1)")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "bench")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    if args.worker:
        print(json.dumps(WORKERS[args.worker](rest)))
        return 0
    corpus = args.out / ("corpus-quick" if args.quick else "corpus")
    results = run(corpus, args.quick, args.rounds or (1 if args.quick else 2), args.out)
    print()
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
