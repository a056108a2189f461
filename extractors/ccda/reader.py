"""Entry points of the C-CDA reader: bytes → `Document` with coded `Findings`, one or several ClinicalDocuments."""

from __future__ import annotations

from dataclasses import dataclass, replace
from xml.etree.ElementTree import Element

from extractors.ccda.header import RankedClinician, clinicians_of, patient_of
from extractors.ccda.problems import problems_of
from extractors.ccda.snomed_map import SnomedMap, load_snomed_map
from extractors.ccda.tree import Tree, hl7, parse_xml
from extractors.ccda.xdm import DEFAULT_ARCHIVE_LIMITS, ArchiveLimits, xdm_documents
from pipeline.errors import UnsupportedType
from pipeline.intake import Upload
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.policy import Policy, load_policy
from pipeline.types import (
    Category,
    Choice,
    DiagnosisMention,
    Document,
    Findings,
    MediaType,
    Page,
    PersonMention,
    Role,
    Source,
)


def read_structured(data: bytes, upload: Upload, limits: Limits = DEFAULT_LIMITS,
                    archive: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS) -> Document:
    """Read an accepted C-CDA XML or IHE XDM zip into a `Document` carrying its coded `Findings`.

    Raises UnsafeXml (a DTD or entities), UnreadableFile (not well-formed, a broken zip), UnsupportedType (a zip that
    is not an XDM package, or holds no C-CDA, unsafe names, nested zips, too many entries), FileTooLarge (a zip that
    expands past its caps).
    """
    if upload.media_type is MediaType.CCDA_XML:
        documents = [("", data)]
        reason = "structured C-CDA"
    elif upload.media_type is MediaType.XDM_ZIP:
        documents = xdm_documents(data, archive)
        reason = f"structured C-CDA from an IHE XDM package ({len(documents)} document(s))"
    else:
        raise UnsupportedType(f"{upload.media_type.value} is not a structured type")
    policy, snomed = load_policy(), load_snomed_map()
    labelled = len(documents) > 1
    parts = [read_clinical_document(parse_xml(xml), policy, snomed, label=name if labelled else "")
             for name, xml in documents]
    findings = merge(parts)
    page = Page(number=1, width=0.0, height=0.0, source=Source.STRUCTURED, reason=reason)
    return Document(sha256=upload.sha256, media_type=upload.media_type, size_bytes=upload.size_bytes, pages=(page,),
                    structured=findings)


def apply_policy(findings: Findings, policy: Policy) -> Findings:
    """The same findings with every coded diagnosis classified by `policy` (the reader used the default policy)."""
    diagnoses = tuple(replace(d, category=policy.classify(d.icd10) if d.icd10 else Category.OTHER)
                      for d in findings.diagnoses)
    return replace(findings, diagnoses=diagnoses)


@dataclass(frozen=True, slots=True)
class DocFacts:
    """What one ClinicalDocument says: its patient, its clinicians (ranked) and its problems."""

    patient: PersonMention | None
    clinicians: tuple[RankedClinician, ...]
    diagnoses: tuple[DiagnosisMention, ...]


def read_clinical_document(root: Element, policy: Policy, snomed: SnomedMap, *, label: str = "") -> DocFacts:
    """Patient, clinicians and problems of one parsed ClinicalDocument (see the package docstring for the rules).

    Raises UnsupportedType when the root is not an hl7 v3 ClinicalDocument.
    """
    if root.tag != hl7("ClinicalDocument"):
        raise UnsupportedType("XML root is not an hl7 v3 ClinicalDocument")
    tree = Tree(root, label)
    return DocFacts(patient=patient_of(tree), clinicians=tuple(clinicians_of(tree)),
                    diagnoses=tuple(problems_of(tree, policy, snomed)))


def merge(parts: list[DocFacts]) -> Findings:
    """Findings of one or more ClinicalDocuments (an XDM package), with the chosen patient and physician."""
    patients = [p.patient for p in parts if p.patient is not None]
    distinct = {p.normalized.casefold() for p in patients}
    if not patients:
        patient = Choice(None, "no recordTarget patient name in the C-CDA")
    elif len(distinct) == 1:
        patient = Choice(patients[0], "recordTarget patient of the C-CDA header")
    else:
        patient = Choice(patients[0], f"{len(distinct)} different recordTarget patients in one package",
                         ambiguous=True)
    ranked: dict[str, RankedClinician] = {}
    for part in parts:
        for clinician in part.clinicians:
            name = clinician.person.normalized.casefold()
            if name not in ranked or clinician.rank < ranked[name].rank:
                ranked[name] = clinician
    candidates = sorted((c for c in ranked.values() if c.person.role is Role.TREATING_PHYSICIAN), key=lambda c: c.rank)
    pcps = sorted((c for c in ranked.values() if c.person.role is Role.PCP), key=lambda c: c.rank)
    if not candidates and pcps:
        # A summary whose only clinician is the patient's PCP (care-team performer): the PCP may well be treating
        # the patient, but the document does not say who treats the pain, so a coordinator confirms.
        physician = Choice(pcps[0].person, "only a primary care provider is named (care-team performer)",
                           ambiguous=True)
    elif not candidates:
        physician = Choice(None, "no clinician in the C-CDA header can be the treating physician")
    else:
        top, tied = candidates[0], [c for c in candidates[1:] if c.rank == candidates[0].rank]
        best = top.person
        reason = f"{best.reason}: first of legal authenticator, encounter, author, performer"
        if tied:
            physician = Choice(best, reason + f"; tied with {len(tied)} other clinician(s) of the same role",
                               ambiguous=True)
        else:
            physician = Choice(best, reason)
    people = [*patients, *(c.person for c in ranked.values())]
    diagnoses = tuple(d for part in parts for d in part.diagnoses)
    return Findings(people=tuple(people), diagnoses=diagnoses, patient=patient, physician=physician)
