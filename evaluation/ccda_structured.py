"""Expected values for the C-CDA reader, derived from the corpora's ground truth, and the reader's figures on them.

The corpora (../shared/corpora/{hl7-ccda-examples,sample-ccdas,onc-ccda-samples}) ship `ground_truth.jsonl`, one
object per document, extracted from the XML structure by their curators (schema: ../shared/corpora/README.md). This
module turns each row into what `extractors.ccda` must read from that XML:

- patient: `patient.name.full` (given names + family, no prefix/suffix), compared case-insensitively;
- physician: the chosen treating physician must be one of `clinicians[].name.full` (every role the truth records);
- problems: the set of (ICD-10-CM code, negated) over the document's coded Problem Observations, where the code is
  the first ICD-10-CM (OID 2.16.840.1.113883.6.90, labelled "ICD-10-CM" by the truth) among the value and its
  translations, else the SNOMED CT value mapped by rules/snomed_pain_map.yaml, else none.

Run `docverify eval-ccda-structured [CORPORA_DIR]` for the figures (patient, physician and problem accuracy per
corpus). The corpora are never copied into the repository; sample-ccdas is CC BY 4.0 (see tests/test_ccda.py).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from extractors.ccda import SnomedMap, load_snomed_map, merge, parse_xml, read_clinical_document
from pipeline.codes import icd10_dotted
from pipeline.errors import RejectedUpload
from pipeline.policy import load_policy
from pipeline.types import Assertion, Findings

CORPORA = ("hl7-ccda-examples", "sample-ccdas", "onc-ccda-samples")


@dataclass(frozen=True, slots=True)
class Expected:
    """What the reader must find in one corpus document."""

    corpus: str
    path: Path
    recovered: bool  # not well-formed for a strict parser (the truth was read in recover mode)
    conformant: bool  # root is ClinicalDocument in urn:hl7-org:v3 (HL7 guide fragments omit the namespace)
    patient: str | None
    clinicians: frozenset[str]
    problems: frozenset[tuple[str | None, bool]]


def _fold(name: str) -> str:
    return " ".join(name.casefold().split())


def _problem_code(codes: list[dict[str, str]], snomed: SnomedMap) -> str | None:
    for c in codes:
        if c.get("system") == "ICD-10-CM" and c.get("code"):
            return icd10_dotted(c["code"])
    for c in codes:
        if c.get("system") == "SNOMED-CT" and c.get("code") in snomed.icd10:
            return snomed.icd10[c["code"]]
    return None


def _is_conformant(path: Path) -> bool:
    """True when the root element is hl7 v3 ClinicalDocument (read with expat's event parser: trusted corpus files
    from SOURCE.md's commits, and only the root's start tag is looked at)."""
    try:
        for _, element in ElementTree.iterparse(path, events=("start",)):  # noqa: S314
            return bool(element.tag == "{urn:hl7-org:v3}ClinicalDocument")
    except ElementTree.ParseError:
        return False
    return False


def load_expected(corpora_dir: Path, snomed: SnomedMap | None = None) -> list[Expected]:
    """Every document of the three C-CDA corpora with its expected values (empty when the corpora are absent)."""
    snomed = snomed or load_snomed_map()
    out: list[Expected] = []
    for corpus in CORPORA:
        truth = corpora_dir / corpus / "ground_truth.jsonl"
        if not truth.is_file():
            continue
        for line in truth.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            name = ((row.get("patient") or {}).get("name") or {}).get("full")
            clinicians = frozenset(_fold(c["name"]["full"]) for c in row.get("clinicians", [])
                                   if (c.get("name") or {}).get("full"))
            problems = frozenset((_problem_code(p["codes"], snomed), bool(p["negated"]))
                                 for p in row.get("problems", []) if p.get("codes"))
            path = corpora_dir / corpus / row["file"]
            out.append(Expected(corpus=corpus, path=path, recovered=bool(row.get("xml_parse_recovered")),
                                conformant=_is_conformant(path),
                                patient=_fold(name) if name else None, clinicians=clinicians, problems=problems))
    return out


def read_findings(path: Path) -> Findings:
    """The reader's findings for one corpus XML (parse and extract only: no intake, no NLP). Raises RejectedUpload."""
    part = read_clinical_document(parse_xml(path.read_bytes()), load_policy(), load_snomed_map())
    return merge([part])


def found_problems(findings: Findings) -> frozenset[tuple[str | None, bool]]:
    """(ICD-10-CM code, negated) of every diagnosis read, in the form of `Expected.problems`."""
    return frozenset((d.icd10, d.assertion is Assertion.NEGATED) for d in findings.diagnoses)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How the reader did on one document."""

    expected: Expected
    rejected: str | None
    patient_ok: bool
    physician_ok: bool  # the chosen physician is a ground-truth clinician (or none expected and none chosen)
    physician_found: bool
    problems_ok: bool


def check(expected: Expected) -> Outcome:
    """Read one document and compare it with its expected values."""
    try:
        findings = read_findings(expected.path)
    except RejectedUpload as e:
        ok = not expected.conformant and e.code == "unsupported_type"  # a namespace-less fragment: refused
        return Outcome(expected, e.code, ok, ok, False, ok)
    person = findings.patient.person
    patient_ok = (_fold(person.normalized) if person else None) == expected.patient
    doctor = findings.physician.person
    physician_ok = (_fold(doctor.normalized) in expected.clinicians) if doctor else not expected.clinicians
    return Outcome(expected, None, patient_ok, physician_ok, doctor is not None,
                   found_problems(findings) == expected.problems)


def main(corpora_dir: Path) -> int:
    """Print the reader's figures per corpus; the exit status (1 when no corpus is found)."""
    expected = load_expected(corpora_dir)
    if not expected:
        print(f"no corpora under {corpora_dir}")
        return 1
    start = time.perf_counter()
    outcomes = [check(e) for e in expected]
    elapsed = time.perf_counter() - start
    for corpus in CORPORA:
        rows = [o for o in outcomes if o.expected.corpus == corpus]
        if not rows:
            continue
        with_clin = [o for o in rows if o.expected.clinicians]
        refused = sum(o.rejected is not None for o in rows)
        fragments = sum(not o.expected.conformant for o in rows)
        print(f"{corpus}: {len(rows)} documents, {refused} rejected ({fragments} without the hl7 v3 namespace)")
        print(f"  patient   {sum(o.patient_ok for o in rows)}/{len(rows)}")
        print(f"  physician {sum(o.physician_ok and o.physician_found for o in with_clin)}/{len(with_clin)} "
              f"with clinicians (chosen one is a ground-truth clinician); "
              f"{sum(not o.physician_found for o in with_clin)} with none chosen")
        print(f"  problems  {sum(o.problems_ok for o in rows)}/{len(rows)} documents with every (ICD-10-CM, negated)")
        for o in rows:
            if not (o.patient_ok and o.physician_ok and o.problems_ok):
                flags = [k for k, v in (("patient", o.patient_ok), ("physician", o.physician_ok),
                                        ("problems", o.problems_ok)) if not v]
                print(f"    miss {o.expected.path.name}: {o.rejected or ''} {', '.join(flags)}")
    print(f"{len(outcomes)} documents in {elapsed:.1f} s")
    return 0

