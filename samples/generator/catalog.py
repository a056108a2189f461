"""The catalog written next to the inputs: labels.jsonl, the intake manifest.csv and the README catalog."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

from .model import Sample, label

README_HEAD = """# samples: labeled synthetic uploads

Every file in `inputs/` is synthetic: the people, clinics, phone numbers and record numbers are invented.
Regenerate everything (inputs, `labels.jsonl`, this catalog) from the repository root with

    python samples/generate.py

The generator is seeded (`SEED` in `generate.py`, one `random.Random` per file) and writes fixed PDF dates and no
image metadata, so reruns are byte-identical (HEIC depends on the installed x265 build). Do not edit files here by
hand: change the data model in `generate.py` and rerun. Needs fpdf2, Pillow, pillow-heif and the DejaVu fonts in
`/usr/share/fonts/truetype/dejavu/`.

Multi-upload **cases** (one patient's several screenshots or letters, judged together and labelled at case level)
are in `cases/`, with their own catalog `cases/README.md` (`samples/generator/multi.py`).

## Label schema (`labels.jsonl`, one object per input)

```json
{"file": "visit_note_crps.pdf", "kind": "text_pdf", "purpose": "one line",
 "intake": {"patient_name": "name or null", "payer": "commercial|medicare|medicaid|tricare|champva|self_pay|unknown"},
 "expected": {"status": "complete|incomplete|needs_review|rejected",
              "patient_name": "First [Middle] Last or null", "physician_name": "First Last or null",
              "pain_category": "crps|fibromyalgia|migraine|neuropathic_pain|other_pain or null",
              "pain_icd10": "code or null",
              "error_code": "null, or empty_file|unreadable_file|unsupported_type|pdf_encrypted|no_readable_text"}}
```

- Names are normalised "First [Middle] Last" in natural case, without titles, credentials or the middle initial's
  period ("THOMPSON, WILLIAM J" -> "William J Thompson"); accents, hyphens and apostrophes are kept.
- `physician_name` is the **treating** physician only; referring physicians, PCPs, nurses, MAs, NPs/PA-Cs and
  family members are distractors. A note without a treating physician has `null` even if other doctors are named.
- `pain_category`/`pain_icd10` describe the affirmed, current pain diagnosis that meets the rule; `null` when none
  does (negated, family, resolved, uncertain or absent). When the document prints no code, `pain_icd10` is the code
  the mention should link to (e.g. "RSD of the left upper limb" -> G90.512, "diabetic peripheral neuropathy" ->
  E11.42, "phantom limb pain" -> G54.6).
- With `needs_review` the fields still hold what the document shows: for a name mismatch the document's name, for
  two patients in one file the patient matching intake (page 1).
- Payer never changes the status: billability is reported separately.

## Catalog

| file | kind | purpose | expected status |
|---|---|---|---|
"""


def readme(samples: list[Sample]) -> str:
    """README_HEAD, one table row per sample, then counts by kind and by expected status."""
    rows = [f"| `{s.file}` | {s.kind} | {s.purpose.replace('|', '/')} | {s.expected.status}"
            + (f" ({s.expected.error_code})" if s.expected.error_code else "") + " |" for s in samples]
    kinds = Counter(s.kind for s in samples)
    statuses = Counter(s.expected.status for s in samples)
    tail = ["", f"{len(samples)} files. Kinds: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + ".",
            "Statuses: " + ", ".join(f"{k} {n}" for k, n in sorted(statuses.items())) + "."]
    return README_HEAD + "\n".join(rows + tail) + "\n"


def write_labels(path: Path, samples: list[Sample]) -> None:
    """labels.jsonl: one `label` object per sample, in catalog order, UTF-8 kept as is."""
    with open(path, "w", encoding="utf-8") as fh:
        for s in samples:
            fh.write(json.dumps(label(s), ensure_ascii=False) + "\n")


def write_manifest(path: Path, samples: list[Sample]) -> None:
    """The intake manifest `docverify batch --manifest` reads (file, patient_name, payer), from the labels."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["file", "patient_name", "payer"])
        for s in samples:
            writer.writerow([s.file, s.intake_name or "", s.payer])


def write_readme(path: Path, samples: list[Sample]) -> None:
    """The README: label schema and the catalog table."""
    path.write_text(readme(samples), encoding="utf-8")
