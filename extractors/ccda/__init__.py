"""C-CDA XML and IHE XDM zips (a patient portal's health-summary export) → a `Document` with coded findings.

Nothing here is OCR'd or parsed with NLP: the patient, the clinicians and the problems are read from the document's
structure, and every finding's evidence points at the XML element it came from (`rule` = an XPath-like element
path, page and box null, snippet = the element's display text, source `structured`).

Modules: `tree` (safe parsing, element paths), `xdm` (zips), `header` (patient, clinicians), `problems`,
`snomed_map` (rules/snomed_pain_map.yaml) and `reader` (entry points, several documents → one `Findings`). The
pure code helpers (ICD-10-CM formatting, the SNOMED CT Verhoeff check) are in `pipeline.codes`.

Safety (docs/THREAT-MODEL.md items 28–30): XML is parsed with defusedxml and any DTD is refused (billion laughs,
quadratic blowup and external entities never get to expand or fetch anything); zips are read in memory only, with
caps on entries, on the total uncompressed size (counted while reading, never trusting headers) and on each entry's
compression ratio; entry names are checked and never used as paths; a zip inside the zip is refused.

Rules, in one place:
- Patient: recordTarget/patientRole/patient/name (the legal name, use="L", when several).
- Clinicians: legalAuthenticator, encompassingEncounter responsibleParty and attending encounterParticipant, author
  (a person, not a device), documentationOf/serviceEvent performer. The treating physician is chosen by that order
  (`header._TIERS`): the clinician who signed the document first, then the one responsible for the encounter, then
  its author, then the care-team performer. Within a tier a physician credential (MD, DO, "Dr") beats an
  advanced-practice one, which beats none. Nurses and assistants (RN, MA, …) never become the physician; a performer
  whose function is PCP is a `pcp`, chosen only when no other clinician can be, and then as a doubtful choice
  (review); a referrer (encounterParticipant REF) is `referring_physician`. The same person in several roles is
  one person (with every role as evidence). Two different people tied at the top → the choice is ambiguous (review).
- Problems: every Problem Observation (template 2.16.840.1.113883.10.20.22.4.4) with a code, wherever it sits (the
  Problem section, encounter diagnoses, discharge diagnoses, past medical history, …). Code: ICD-10-CM
  (2.16.840.1.113883.6.90) from the value or a translation as written; else SNOMED CT through
  rules/snomed_pain_map.yaml; else none (category `other`). Assertion: subject relatedSubject → family;
  negationInd="true" → negated; Problem Status resolved/inactive, else an effectiveTime/high date on the observation,
  else a completed concern with an effectiveTime/high date → historical (resolved); otherwise affirmed.
"""

from __future__ import annotations

from extractors.ccda.header import RankedClinician
from extractors.ccda.problems import (
    ENCOUNTER_DIAGNOSIS,
    ICD10CM_OID,
    PROBLEM_OBSERVATION,
    PROBLEM_STATUS,
    SNOMED_OID,
)
from extractors.ccda.reader import DocFacts, apply_policy, merge, read_clinical_document, read_structured
from extractors.ccda.snomed_map import (
    SNOMED_MAP_PATH,
    SnomedConcept,
    SnomedMap,
    SnomedMapFile,
    load_snomed_map,
    parse_snomed_map,
)
from extractors.ccda.tree import FINDER, HL7, parse_xml
from extractors.ccda.xdm import DEFAULT_ARCHIVE_LIMITS, ArchiveLimits, xdm_documents
from pipeline.codes import snomed_id_is_valid

__all__ = [
    "DEFAULT_ARCHIVE_LIMITS",
    "ENCOUNTER_DIAGNOSIS",
    "FINDER",
    "HL7",
    "ICD10CM_OID",
    "PROBLEM_OBSERVATION",
    "PROBLEM_STATUS",
    "SNOMED_MAP_PATH",
    "SNOMED_OID",
    "ArchiveLimits",
    "DocFacts",
    "RankedClinician",
    "SnomedConcept",
    "SnomedMap",
    "SnomedMapFile",
    "apply_policy",
    "load_snomed_map",
    "merge",
    "parse_snomed_map",
    "parse_xml",
    "read_clinical_document",
    "read_structured",
    "snomed_id_is_valid",
    "xdm_documents",
]
