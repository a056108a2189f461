"""Multi-upload cases: a patient's several screenshots or letters of one visit, labelled at case level.

Deterministic and small: each case is a few portal screenshots (Pillow) or text PDFs (fpdf2), built from fixed
values. Written under samples/cases/ by `make samples` (`samples/generator/cli.py`) and used by tests/test_cases.py
and `docverify eval` (docs/POLICY.md "Cases").
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .layouts import Card, Line, Screen
from .paper import pdf_bytes
from .renderers import png_bytes
from .screens import LIGHT, phone_image

HEADER_HEIGHT = 440  # pixels of a phone screenshot holding the status bar and the account-holder bar (screens.py)


@dataclass(frozen=True)
class CaseFile:
    """One upload of a case: its file name and how its bytes are made."""

    name: str
    make: Callable[[], bytes]


@dataclass(frozen=True)
class CaseSample:
    """A case: intake, its uploads in the order sent, and the expected case-level label."""

    case_id: str
    purpose: str
    patient_name: str
    payer: str
    files: tuple[CaseFile, ...]
    status: str  # expected case status
    physician_name: str | None = None
    pain_icd10: str | None = None


def _phone(account: str, title: str, *cards: Card, crop_header: bool = False) -> Callable[[], bytes]:
    def make() -> bytes:
        img = phone_image(Screen("MyChart", account, title, cards), LIGHT)
        if crop_header:  # the patient scrolled: the account-holder bar is above the screenshot
            img = img.crop((0, HEADER_HEIGHT, img.width, img.height))
        return png_bytes(img)
    return make


def _pdf(*lines: Line) -> Callable[[], bytes]:
    return lambda: pdf_bytes(list(lines), "sans")


def _profile(name: str, dob: str, mrn: str) -> Callable[[], bytes]:
    return _phone(name, "Profile", Card("Personal Information", (("Name", name), ("Date of Birth", dob), ("MRN", mrn))))


def _care_team(account: str, physician: str) -> Callable[[], bytes]:
    return _phone(account, "Care Team", Card("Care Team", ((physician, "Pain Medicine - Attending"),
                                                           ("Nina Patel, RN", "Nurse"))))


def _problems(account: str, *problems: tuple[str, str], crop_header: bool = False) -> Callable[[], bytes]:
    return _phone(account, "Health Summary", Card("Current Health Issues", problems), crop_header=crop_header)


def case_samples() -> list[CaseSample]:
    """Every multi-upload case, in a fixed order."""
    dw, hk, mo, tr, ea, lb = ("Dolores Whitcombe", "Harold Kettering", "Marisol Ochoa", "Trevor Lindahl",
                              "Ruth Calloway", "Leonard Baptiste")
    return [
        CaseSample("portal_split", "Three phone screenshots of one portal: name and DOB on the profile, the "
                   "attending on the care team, fibromyalgia on the problem list; every screenshot shows the "
                   "account holder", dw, "commercial",
                   (CaseFile("portal_split_1_profile.png", _profile(dw, "03/14/1962", "00482913")),
                    CaseFile("portal_split_2_care_team.png", _care_team(dw, "Rafael Ostrowski, MD")),
                    CaseFile("portal_split_3_problems.png", _problems(dw, ("Fibromyalgia", "M79.7")))),
                   "complete", "Rafael Ostrowski", "M79.7"),
        CaseSample("portal_split_cropped", "The same three screenshots, the problem list cropped below the header: "
                   "the diagnosis names nobody", dw, "commercial",
                   (CaseFile("portal_cropped_1_profile.png", _profile(dw, "03/14/1962", "00482913")),
                    CaseFile("portal_cropped_2_care_team.png", _care_team(dw, "Rafael Ostrowski, MD")),
                    CaseFile("portal_cropped_3_problems.png", _problems(dw, ("Fibromyalgia", "M79.7"),
                                                                        crop_header=True))),
                   "needs_review", "Rafael Ostrowski", None),
        CaseSample("portal_stranger", "Profile, care team and problem list of the patient plus a problem-list "
                   "screenshot of somebody else (a spouse's account)", hk, "commercial",
                   (CaseFile("stranger_1_profile.png", _profile(hk, "11/02/1958", "77120934")),
                    CaseFile("stranger_2_care_team.png", _care_team(hk, "Simone Achterberg, MD")),
                    CaseFile("stranger_3_problems.png", _problems(hk, ("Chronic migraine without aura", "G43.709"))),
                    CaseFile("stranger_4_other_account.png", _problems("Gloria Kettering",
                                                                       ("Fibromyalgia", "M79.7")))),
                   "needs_review", "Simone Achterberg", "G43.709"),
        CaseSample("referral_plus_problems", "A referral letter by the treating physician (RE: line with the "
                   "patient's name and DOB) plus a problem-list screenshot of the patient's portal", mo, "commercial",
                   (CaseFile("referral_1_letter.pdf", _pdf(
                       Line("Northgate Pain Medicine", "title"), Line("Referral for physical therapy", "heading"),
                       Line(f"RE: {mo}, DOB 07/22/1975"),
                       Line("Dear colleague,"),
                       Line("I am referring my patient, whom I treat in our pain clinic, for a course of physical "
                            "therapy. Please see the enclosed history."),
                       Line("Sincerely,"), Line("Jonathan Okafor, MD"), Line("Pain Medicine"))),
                    CaseFile("referral_2_problems.png", _problems(mo, ("Complex regional pain syndrome", "G90.50")))),
                   "complete", "Jonathan Okafor", "G90.50"),
        CaseSample("portal_two_physicians", "Two care-team screenshots naming different attendings", tr, "commercial",
                   (CaseFile("two_md_1_care_team.png", _care_team(tr, "Ingrid Solberg, MD")),
                    CaseFile("two_md_2_care_team.png", _care_team(tr, "Marcus Whitfield, MD")),
                    CaseFile("two_md_3_problems.png", _problems(tr, ("Lumbar radiculopathy", "M54.16")))),
                   "needs_review", None, "M54.16"),
        CaseSample("note_initial_linked", "A profile screenshot with name and DOB plus a visit note naming the "
                   "patient by initial and surname with the same DOB (tied by the DOB)", ea, "medicare",
                   (CaseFile("linked_1_profile.png", _profile(ea, "05/30/1949", "55031872")),
                    CaseFile("linked_2_note.pdf", _pdf(
                        Line("Riverside Pain Clinic", "title"), Line("Patient: R. Calloway   DOB: 05/30/1949"),
                        Line("Physician: Camille Duarte, MD"), Line("Assessment", "heading"),
                        Line("Postherpetic neuralgia (B02.29)")))),
                   "complete", "Camille Duarte", "B02.29"),
        CaseSample("diagnosis_negated", "A visit note that rules out fibromyalgia plus a problem list that "
                   "affirms it", lb, "commercial",
                   (CaseFile("negated_1_note.pdf", _pdf(
                       Line("Riverside Pain Clinic", "title"), Line(f"Patient: {lb}   DOB: 09/09/1966"),
                       Line("Physician: Camille Duarte, MD"), Line("Assessment", "heading"),
                       Line("Low back pain (M54.50)"), Line("No fibromyalgia."))),
                    CaseFile("negated_2_problems.png", _problems(lb, ("Fibromyalgia", "M79.7")))),
                   "needs_review", "Camille Duarte", None),
        CaseSample("portal_surname_only", "The three portal screenshots plus a fourth whose header shows only the "
                   "surname (a relative's account, or the name cut off): never complete", dw, "commercial",
                   (CaseFile("surname_1_profile.png", _profile(dw, "03/14/1962", "00482913")),
                    CaseFile("surname_2_care_team.png", _care_team(dw, "Rafael Ostrowski, MD")),
                    CaseFile("surname_3_problems.png", _problems(dw, ("Fibromyalgia", "M79.7"))),
                    CaseFile("surname_4_problems.png", _problems("Whitcombe", ("Fibromyalgia", "M79.7")))),
                   "needs_review", "Rafael Ostrowski", "M79.7"),
        CaseSample("portal_no_diagnosis", "Profile and care team only: no diagnosis on any screenshot", dw,
                   "commercial",
                   (CaseFile("nodx_1_profile.png", _profile(dw, "03/14/1962", "00482913")),
                    CaseFile("nodx_2_care_team.png", _care_team(dw, "Rafael Ostrowski, MD"))),
                   "incomplete", "Rafael Ostrowski", None),
    ]


def write_cases(out: Path) -> int:
    """Write every case's files to OUT/inputs/, its labels to OUT/labels.jsonl and the catalog OUT/README.md;
    the number of files written."""
    samples = case_samples()
    names = [f.name for c in samples for f in c.files]
    assert len(names) == len(set(names)), "duplicate file names"  # noqa: S101 (a generator invariant)
    inputs = out / "inputs"
    if inputs.exists():
        shutil.rmtree(inputs)
    inputs.mkdir(parents=True)
    for c in samples:
        for f in c.files:
            (inputs / f.name).write_bytes(f.make())
    with (out / "labels.jsonl").open("w", encoding="utf-8") as fh:
        for c in samples:
            fh.write(json.dumps({
                "case": c.case_id, "purpose": c.purpose, "files": [f.name for f in c.files],
                "intake": {"patient_name": c.patient_name, "payer": c.payer},
                "expected": {"status": c.status, "physician_name": c.physician_name, "pain_icd10": c.pain_icd10},
            }, ensure_ascii=False) + "\n")
    rows = "\n".join(f"| `{c.case_id}` | {', '.join(f'`{f.name}`' for f in c.files)} | {c.purpose} | `{c.status}` |"
                     for c in samples)
    (out / "README.md").write_text(
        "# Multi-upload cases (generated)\n\n"
        "Written by `make samples` (`samples/generator/multi.py`); do not edit by hand. Each case is one patient's\n"
        "several uploads, judged together (docs/POLICY.md \"Cases\") and labelled at case level in `labels.jsonl`\n"
        "(`case`, `files` in the order sent, `intake`, `expected`: `status`, and `physician_name` and `pain_icd10`\n"
        "when a field is expected). Portal screenshots are phone screenshots drawn with Pillow (`screens.py`),\n"
        "letters and notes text PDFs (fpdf2). `docverify eval samples` scores them beside the single uploads.\n\n"
        "| case | files | what it tests | expected status |\n|---|---|---|---|\n" + rows + "\n", encoding="utf-8")
    return len(names)
