"""C-CDA XML and IHE XDM zips (a patient portal's health-summary export) → a `Document` with coded findings.

Nothing here is OCR'd or parsed with NLP: the patient, the clinicians and the problems are read from the document's
structure, and every finding's evidence points at the XML element it came from (`rule` = an XPath-like element
path, page and box null, snippet = the element's display text, source `structured`).

Safety (docs/THREAT-MODEL.md items 28–30): XML is parsed with defusedxml and any DTD is refused (billion laughs,
quadratic blowup and external entities never get to expand or fetch anything); zips are read in memory only, with
caps on entries, on the total uncompressed size (counted while reading, never trusting headers) and on each entry's
compression ratio; entry names are checked and never used as paths; a zip inside the zip is refused.

Rules, in one place:
- Patient: recordTarget/patientRole/patient/name (the legal name, use="L", when several).
- Clinicians: legalAuthenticator, encompassingEncounter responsibleParty and attending encounterParticipant, author
  (a person, not a device), documentationOf/serviceEvent performer. The treating physician is chosen by that order
  (`_TIERS`): the clinician who signed the document first, then the one responsible for the encounter, then its author,
  then the care-team performer. Within a tier a physician credential (MD, DO, "Dr") beats an advanced-practice one,
  which beats none. Nurses and assistants (RN, MA, …) never become the physician; a performer whose function is PCP
  is a `pcp`, chosen only when no other clinician can be, and then as a doubtful choice (review); a referrer
  (encounterParticipant REF) is `referring_physician`. The same person in several roles is
  one person (with every role as evidence). Two different people tied at the top → the choice is ambiguous (review).
- Problems: every Problem Observation (template 2.16.840.1.113883.10.20.22.4.4) with a code, wherever it sits (the
  Problem section, encounter diagnoses, discharge diagnoses, past medical history, …). Code: ICD-10-CM
  (2.16.840.1.113883.6.90) from the value or a translation as written; else SNOMED CT through
  rules/snomed_pain_map.yaml; else none (category `other`). Assertion: subject relatedSubject → family;
  negationInd="true" → negated; Problem Status resolved/inactive, else an effectiveTime/high date on the observation,
  else a completed concern with an effectiveTime/high date → historical (resolved); otherwise affirmed.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal
from xml.etree.ElementTree import Element, ParseError

import defusedxml
from defusedxml import ElementTree as SafeET
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline import icd10cm
from pipeline.errors import ConfigError, FileTooLarge, UnreadableFile, UnsafeXml, UnsupportedType
from pipeline.intake import Upload, sniff
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.names import CredentialKind, credential_of, is_title
from pipeline.policy import RULES_DIR, Policy, is_valid_code, load_policy
from pipeline.rulefiles import parse_rule_model, read_rule_file
from pipeline.types import (
    Adjustment,
    Assertion,
    Category,
    Choice,
    DiagnosisMention,
    Document,
    Evidence,
    Findings,
    MediaType,
    Page,
    PersonMention,
    Role,
    SectionKind,
    Source,
)

FINDER = "ccda"
HL7 = "urn:hl7-org:v3"
_N = "{" + HL7 + "}"
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"

ICD10CM_OID = "2.16.840.1.113883.6.90"
SNOMED_OID = "2.16.840.1.113883.6.96"
PROBLEM_OBSERVATION = "2.16.840.1.113883.10.20.22.4.4"
PROBLEM_STATUS = "2.16.840.1.113883.10.20.22.4.6"
ENCOUNTER_DIAGNOSIS = "2.16.840.1.113883.10.20.22.4.80"
_RESOLVED_STATUS_CODES = {"413322009", "73425007"}  # SNOMED CT: resolved, inactive
_ACTIVE_STATUS_CODES = {"55561003"}  # SNOMED CT: active

# Section templateId root → how the policy weighs a diagnosis found there (see pipeline.types section sets).
_SECTIONS: dict[str, SectionKind] = {
    "2.16.840.1.113883.10.20.22.2.5": SectionKind.PROBLEM_LIST,
    "2.16.840.1.113883.10.20.22.2.5.1": SectionKind.PROBLEM_LIST,
    "2.16.840.1.113883.10.20.22.2.22": SectionKind.DIAGNOSES,  # encounters (encounter diagnoses)
    "2.16.840.1.113883.10.20.22.2.22.1": SectionKind.DIAGNOSES,
    "2.16.840.1.113883.10.20.22.2.24": SectionKind.DIAGNOSES,  # hospital discharge diagnosis
    "2.16.840.1.113883.10.20.22.2.43": SectionKind.DIAGNOSES,  # hospital admission diagnosis
    "2.16.840.1.113883.10.20.22.2.34": SectionKind.DIAGNOSES,  # preoperative diagnosis
    "2.16.840.1.113883.10.20.22.2.35": SectionKind.DIAGNOSES,  # postoperative diagnosis
    "2.16.840.1.113883.10.20.22.2.36": SectionKind.DIAGNOSES,  # postprocedure diagnosis
    "2.16.840.1.113883.10.20.22.2.20": SectionKind.PAST_MEDICAL_HISTORY,
    "2.16.840.1.113883.10.20.22.2.8": SectionKind.ASSESSMENT,
    "2.16.840.1.113883.10.20.22.2.9": SectionKind.ASSESSMENT_AND_PLAN,
    "2.16.840.1.113883.10.20.22.2.10": SectionKind.PLAN,  # plan of treatment
    "2.16.840.1.113883.10.20.22.2.1": SectionKind.MEDICATIONS,  # a problem here is a medication's indication
    "2.16.840.1.113883.10.20.22.2.1.1": SectionKind.MEDICATIONS,
    "2.16.840.1.113883.10.20.22.2.12": SectionKind.CHIEF_COMPLAINT,  # reason for visit
    "2.16.840.1.113883.10.20.22.2.13": SectionKind.CHIEF_COMPLAINT,
    "1.3.6.1.4.1.19376.1.5.3.1.1.13.2.1": SectionKind.CHIEF_COMPLAINT,
    "1.3.6.1.4.1.19376.1.5.3.1.3.4": SectionKind.HPI,
    "1.3.6.1.4.1.19376.1.5.3.1.3.18": SectionKind.REVIEW_OF_SYSTEMS,
    "2.16.840.1.113883.10.20.2.10": SectionKind.PHYSICAL_EXAM,
}

# Confidence of a structured finding: the XML states it; what is left is whether the code says what the text says.
_CONF_PERSON = 0.97
_CONF_PHYSICIAN_NO_CREDENTIAL = 0.9
_CONF_ICD10 = 0.97
_CONF_MAPPED = 0.95
_CONF_UNCODED = 0.9
_DOUBTED_CODE_DELTA = -0.45  # code's category contradicts the display text: below the 0.6 review threshold


# ------------------------------------------------------------------------------------------------------------------
# The SNOMED CT map (rules/snomed_pain_map.yaml)
# ------------------------------------------------------------------------------------------------------------------

SNOMED_MAP_PATH = RULES_DIR / "snomed_pain_map.yaml"

_VERHOEFF_D = ((0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5), (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
               (3, 4, 0, 1, 2, 8, 9, 5, 6, 7), (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
               (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3), (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
               (9, 8, 7, 6, 5, 4, 3, 2, 1, 0))
_VERHOEFF_P = ((0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4), (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
               (8, 9, 1, 6, 0, 4, 3, 5, 2, 7), (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
               (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8))


def snomed_id_is_valid(sctid: str) -> bool:
    """True when `sctid` is 6–18 digits and its last digit is the Verhoeff check digit (SNOMED CT identifiers)."""
    if not (6 <= len(sctid) <= 18 and sctid.isdigit() and sctid[0] != "0"):
        return False
    check = 0
    for i, ch in enumerate(reversed(sctid)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[i % 8][int(ch)]]
    return check == 0


class SnomedConcept(BaseModel):
    """One mapped concept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    snomed: str
    display: str = Field(min_length=1)
    icd10: str

    @field_validator("snomed")
    @classmethod
    def _check_sctid(cls, v: str) -> str:
        if not snomed_id_is_valid(v):
            raise ValueError(f"{v!r} is not a SNOMED CT identifier (Verhoeff check digit)")
        return v

    @field_validator("icd10")
    @classmethod
    def _check_icd10(cls, v: str) -> str:
        if not is_valid_code(v):
            raise ValueError(f"{v!r} is not an ICD-10-CM code")
        return v.strip().upper()


class SnomedMapFile(BaseModel):
    """The map file's shape; unknown keys are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    display_words: tuple[str, ...] = Field(min_length=1)
    concepts: tuple[SnomedConcept, ...] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class SnomedMap:
    """A loaded, validated map: SNOMED CT id → ICD-10-CM code, plus the pain display words."""

    icd10: dict[str, str]
    display: re.Pattern[str]
    sha256: str

    def pain_words_in(self, text: str) -> bool:
        """True when `text` contains one of the map's pain display words."""
        return self.display.search(text) is not None


def parse_snomed_map(raw: bytes, path: Path) -> SnomedMap:
    """Validate the bytes of a map file. Raises ConfigError naming the file and the problem."""
    name = path.name
    model = parse_rule_model(raw, path, SnomedMapFile)
    icd10: dict[str, str] = {}
    for i, concept in enumerate(model.concepts):
        if concept.snomed in icd10:
            raise ConfigError(f"{name}: concepts[{i}]: SNOMED CT {concept.snomed} is listed twice")
        icd10[concept.snomed] = concept.icd10
    words = sorted({" ".join(w.lower().split()) for w in model.display_words}, key=len, reverse=True)
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")", re.IGNORECASE)
    return SnomedMap(icd10=icd10, display=pattern, sha256=hashlib.sha256(raw).hexdigest())


@functools.cache
def _load_snomed_cached(path: Path) -> SnomedMap:
    return parse_snomed_map(read_rule_file(path, "map file"), path)


def load_snomed_map(path: Path | None = None) -> SnomedMap:
    """Load and validate the SNOMED CT map (default: rules/snomed_pain_map.yaml), cached per path.

    Raises ConfigError.
    """
    return _load_snomed_cached((path or SNOMED_MAP_PATH).resolve())


# ------------------------------------------------------------------------------------------------------------------
# Entry points
# ------------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """Caps for a zip upload (docs/THREAT-MODEL.md item 30); sizes in bytes, counted while decompressing."""

    max_entries: int = 100
    max_total_bytes: int = 50 * 1024 * 1024
    max_ratio: float = 100.0  # uncompressed / compressed, per entry, checked once an entry passes `ratio_floor`
    ratio_floor: int = 1024 * 1024  # small entries (a 10 KB XML of whitespace) may compress better than `max_ratio`
    max_documents: int = 20


DEFAULT_ARCHIVE_LIMITS = ArchiveLimits()
_READ_CHUNK = 64 * 1024


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


def parse_xml(data: bytes) -> Element:
    """Parse XML safely: any DTD (so every entity) is refused. Raises UnsafeXml, UnreadableFile."""
    try:
        return SafeET.fromstring(data, forbid_dtd=True)  # type: ignore[no-any-return]
    except defusedxml.DefusedXmlException as e:  # DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
        raise UnsafeXml(type(e).__name__) from e
    except ParseError as e:
        raise UnreadableFile(f"XML not well-formed (line {e.position[0]})") from e
    except (ValueError, RecursionError) as e:
        raise UnreadableFile(f"XML not readable ({type(e).__name__})") from e


def apply_policy(findings: Findings, policy: Policy) -> Findings:
    """The same findings with every coded diagnosis classified by `policy` (the reader used the default policy)."""
    diagnoses = tuple(replace(d, category=policy.classify(d.icd10) if d.icd10 else Category.OTHER)
                      for d in findings.diagnoses)
    return replace(findings, diagnoses=diagnoses)


# ------------------------------------------------------------------------------------------------------------------
# XDM zips
# ------------------------------------------------------------------------------------------------------------------

_UNSAFE_NAME = re.compile(r"(^[/\\])|\\|(^|/)\.\.(/|$)|^[A-Za-z]:|[\x00-\x1f]")
_NESTED_ARCHIVE_SUFFIXES = (".zip", ".jar", ".xdm", ".7z", ".gz", ".tar", ".rar")


def xdm_documents(data: bytes, archive: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS) -> list[tuple[str, bytes]]:
    """(entry name, bytes) of the C-CDA documents of an IHE XDM zip, read in memory under `archive` caps.

    Documents referenced by METADATA.XML (Slot "URI") come first; any other entry whose bytes are a ClinicalDocument
    is taken too. Raises UnreadableFile, UnsupportedType, FileTooLarge, UnsafeXml (in METADATA.XML).
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as e:
        raise UnreadableFile(f"zip not readable ({type(e).__name__})") from e
    with zf:
        infos = zf.infolist()
        if len(infos) > archive.max_entries:
            raise UnsupportedType(f"zip holds {len(infos)} entries > {archive.max_entries}")
        for info in infos:
            if _UNSAFE_NAME.search(info.filename):
                raise UnsupportedType("zip entry name is an absolute or parent path")
            if info.flag_bits & 0x1:
                raise UnsupportedType("zip entry is encrypted")
            if info.filename.lower().endswith(_NESTED_ARCHIVE_SUFFIXES):
                raise UnsupportedType("zip holds another archive")
        names = [i.filename.upper() for i in infos]
        if not any(n.endswith("METADATA.XML") or n.startswith("IHE_XDM/") for n in names):
            raise UnsupportedType("zip is not an IHE XDM package (no METADATA.XML, no IHE_XDM/)")
        contents = dict(_read_entries(zf, infos, archive))
    referenced = _metadata_uris(contents)
    order = sorted(contents, key=lambda n: (n.upper() not in referenced, n))
    documents = [(name, contents[name]) for name in order if sniff(contents[name]) is MediaType.CCDA_XML]
    if not documents:
        raise UnsupportedType("XDM package holds no C-CDA document")
    if len(documents) > archive.max_documents:
        raise UnsupportedType(f"XDM package holds {len(documents)} documents > {archive.max_documents}")
    return documents


def _read_entries(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo],
                  archive: ArchiveLimits) -> Iterator[tuple[str, bytes]]:
    """Every file entry's bytes, counting what is decompressed against the caps (headers are not trusted)."""
    total = 0
    for info in infos:
        if info.is_dir():
            continue
        chunks: list[bytes] = []
        size = 0
        try:
            with zf.open(info) as fh:
                while chunk := fh.read(_READ_CHUNK):
                    size += len(chunk)
                    total += len(chunk)
                    if total > archive.max_total_bytes:
                        raise FileTooLarge(f"zip expands beyond {archive.max_total_bytes} bytes")
                    if size > archive.ratio_floor and size > archive.max_ratio * max(info.compress_size, 1):
                        raise FileTooLarge(f"zip entry compression ratio above {archive.max_ratio:.0f}")
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError) as e:
            raise UnreadableFile(f"zip entry not readable ({type(e).__name__})") from e
        body = b"".join(chunks)
        if body.startswith(b"PK\x03\x04"):
            raise UnsupportedType("zip holds another archive")
        yield info.filename, body


def _metadata_uris(contents: dict[str, bytes]) -> set[str]:
    """Upper-cased entry names of the documents METADATA.XML lists (XDM: Slot "URI", relative to its folder)."""
    out: set[str] = set()
    for name, body in contents.items():
        if not name.upper().endswith("METADATA.XML"):
            continue
        root = parse_xml(body)
        folder = name.rsplit("/", 1)[0] + "/" if "/" in name else ""
        for slot in root.iter():
            if _local(slot.tag) == "Slot" and (slot.get("name") or "").upper() == "URI":
                for value in slot.iter():
                    if _local(value.tag) == "Value" and value.text:
                        uri = value.text.strip()
                        # A long URI may be split over several values as "1|part"; XDM documents use short names.
                        uri = uri.split("|", 1)[1] if re.match(r"^\d+\|", uri) else uri
                        out.add((folder + uri).upper())
    return out


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# ------------------------------------------------------------------------------------------------------------------
# One ClinicalDocument
# ------------------------------------------------------------------------------------------------------------------

class _Tree:
    """The parsed document with parent links, for element paths and ancestor lookups."""

    def __init__(self, root: Element, label: str) -> None:
        self.root = root
        self.label = label
        self.parent: dict[Element, Element] = {child: p for p in root.iter() for child in p}

    def path(self, el: Element) -> str:
        """"/ClinicalDocument/recordTarget/patientRole/patient/name[2]": same-named siblings numbered from 1."""
        steps: list[str] = []
        node: Element | None = el
        while node is not None:
            up = self.parent.get(node)
            step = _step_name(node.tag)
            if up is not None:
                same = [c for c in up if c.tag == node.tag]
                if len(same) > 1:
                    step += f"[{same.index(node) + 1}]"
            steps.append(step)
            node = up
        path = "/" + "/".join(reversed(steps))
        return f"{self.label}#{path}" if self.label else path

    def ancestors(self, el: Element) -> Iterator[Element]:
        node = self.parent.get(el)
        while node is not None:
            yield node
            node = self.parent.get(node)


def _step_name(tag: str) -> str:
    if tag.startswith(_N):
        return tag[len(_N):]
    if tag.startswith("{urn:hl7-org:sdtc}"):
        return "sdtc:" + tag.split("}", 1)[1]
    return _local(tag)


def _h(path: str) -> str:
    """An ElementPath in the hl7 v3 namespace: "a/b" → "{urn:hl7-org:v3}a/{urn:hl7-org:v3}b"."""
    return "/".join(step if step in (".", "..") else _N + step for step in path.split("/"))


def _templates(el: Element) -> set[str]:
    return {t.get("root", "") for t in el.findall(_h("templateId"))}


def _text(el: Element | None) -> str:
    return " ".join("".join(el.itertext()).split()) if el is not None else ""


@dataclass(frozen=True, slots=True)
class _Person:
    """A name element read into parts."""

    element: Element
    printed: str
    normalized: str
    credentials: tuple[str, ...]
    kinds: frozenset[CredentialKind]
    doctor_title: bool


def _person(name_el: Element | None) -> _Person | None:
    """Parts of an hl7 PN: given names, family, prefixes, suffixes (credentials); None without a name."""
    if name_el is None or name_el.get("nullFlavor"):
        return None
    given = [_text(g) for g in name_el.findall(_h("given")) if _text(g)]
    family = [_text(f) for f in name_el.findall(_h("family")) if _text(f)]
    prefixes = [_text(p) for p in name_el.findall(_h("prefix")) if _text(p)]
    suffixes = [_text(s) for s in name_el.findall(_h("suffix")) if _text(s)]
    if given or family:
        core = " ".join(given + family[:1] + family[1:])
    else:  # an unstructured name: "Henry Seven" as plain text
        core = _text(name_el)
        tokens = core.split()
        prefixes += [t for t in tokens[:1] if is_title(t)]
        core = " ".join(t for t in tokens if not is_title(t) and credential_of(t) is None)
        suffixes += [t for t in tokens if credential_of(t) is not None]
    if not core:
        return None
    credentials: list[str] = []
    kinds: set[CredentialKind] = set()
    for token in re.split(r"[,;/\s]+", " ".join(suffixes)):
        hit = credential_of(token) if token else None
        if hit is not None and hit[0] not in credentials:
            credentials.append(hit[0])
            kinds.add(hit[1])
    printed = " ".join(prefixes + [core] + suffixes)
    return _Person(element=name_el, printed=printed, normalized=_title_case(core), credentials=tuple(credentials),
                   kinds=frozenset(kinds), doctor_title=any(p.strip(". ").lower() == "dr" for p in prefixes))


def _title_case(name: str) -> str:
    """Title-case tokens printed all upper or all lower ("ALICE NEWMAN" → "Alice Newman"); keep "McDonald"."""
    def one(tok: str) -> str:
        if tok.isupper() or tok.islower():
            return "-".join(p[:1].upper() + p[1:].lower() for p in tok.split("-"))
        return tok
    return " ".join(one(t) for t in name.split())


# The clinician elements, in the order that decides the treating physician (lower tier wins).
_TIERS: tuple[tuple[str, str, int], ...] = (
    ("legalAuthenticator/assignedEntity/assignedPerson/name", "legal authenticator (signed the document)", 0),
    ("componentOf/encompassingEncounter/responsibleParty/assignedEntity/assignedPerson/name",
     "responsible party of the encounter", 1),
    ("author/assignedAuthor/assignedPerson/name", "author of the document", 2),
    ("documentationOf/serviceEvent/performer/assignedEntity/assignedPerson/name", "care-team performer", 3),
)
_ENCOUNTER_PARTICIPANTS = "componentOf/encompassingEncounter/encounterParticipant"
_PARTICIPANT_ROLES = {"ATND": (Role.TREATING_PHYSICIAN, "attending physician of the encounter", 1),
                      "REF": (Role.REFERRING_PHYSICIAN, "referring physician of the encounter", 9)}
_OTHER_TIER = 9


@dataclass(frozen=True, slots=True)
class _Clinician:
    person: _Person
    role: Role
    why: str
    tier: int


def _clinicians(tree: _Tree) -> list[_Clinician]:
    root = tree.root
    out: list[_Clinician] = []
    for path, why, tier in _TIERS:
        for name_el in root.findall(_h(path)):
            person = _person(name_el)
            if person is None:
                continue
            role = Role.TREATING_PHYSICIAN
            if tier == 3:
                performer = next(a for a in tree.ancestors(name_el) if _local(a.tag) == "performer")
                function = performer.find(_h("functionCode"))
                if function is not None and (function.get("code") or "").upper() == "PCP":
                    role, why = Role.PCP, "primary care provider (serviceEvent performer, function PCP)"
            out.append(_Clinician(person, role, why, tier))
    for participant in root.findall(_h(_ENCOUNTER_PARTICIPANTS)):
        person = _person(participant.find(_h("assignedEntity/assignedPerson/name")))
        if person is None:
            continue
        type_code = (participant.get("typeCode") or "").upper()
        role, why, tier = _PARTICIPANT_ROLES.get(
            type_code, (Role.OTHER_CLINICIAN, f"encounter participant ({type_code or 'no type'})", _OTHER_TIER))
        out.append(_Clinician(person, role, why, tier))
    for name_el in root.findall(_h("authenticator/assignedEntity/assignedPerson/name")):
        person = _person(name_el)
        if person is not None:
            out.append(_Clinician(person, Role.OTHER_CLINICIAN, "authenticator", _OTHER_TIER))
    return out


def _credential_rank(person: _Person) -> int:
    """0 physician (credential or "Dr"), 1 advanced practice, 2 no clinical credential."""
    if CredentialKind.PHYSICIAN in person.kinds or person.doctor_title:
        return 0
    return 1 if CredentialKind.ADVANCED_PRACTICE in person.kinds else 2


def _is_nursing_only(person: _Person) -> bool:
    return CredentialKind.NURSING in person.kinds and _credential_rank(person) == 2


@dataclass(frozen=True, slots=True)
class _DocFacts:
    """What one ClinicalDocument says: its patient, its clinicians (ranked) and its problems."""

    patient: PersonMention | None
    clinicians: tuple[tuple[tuple[int, int], PersonMention], ...]  # ((tier, credential rank), person)
    diagnoses: tuple[DiagnosisMention, ...]


def read_clinical_document(root: Element, policy: Policy, snomed: SnomedMap, *, label: str = "") -> _DocFacts:
    """Patient, clinicians and problems of one parsed ClinicalDocument (see the module docstring for the rules).

    Raises UnsupportedType when the root is not an hl7 v3 ClinicalDocument.
    """
    if root.tag != _N + "ClinicalDocument":
        raise UnsupportedType("XML root is not an hl7 v3 ClinicalDocument")
    tree = _Tree(root, label)
    return _DocFacts(patient=_patient(tree), clinicians=tuple(_people_of(tree)),
                     diagnoses=tuple(_problems(tree, policy, snomed)))


def _patient(tree: _Tree) -> PersonMention | None:
    names = tree.root.findall(_h("recordTarget/patientRole/patient/name"))
    if not names:
        return None
    legal = [n for n in names if "L" in (n.get("use") or "").split()]
    for name_el in legal + [n for n in names if n not in legal]:
        person = _person(name_el)
        if person is not None:
            ev = _evidence(tree, name_el, person.printed, _CONF_PERSON)
            return PersonMention(value=person.printed, normalized=person.normalized, role=Role.PATIENT,
                                 confidence=_CONF_PERSON, evidence=(ev,),
                                 reason="recordTarget patient of the C-CDA header")
    return None


def _people_of(tree: _Tree) -> list[tuple[tuple[int, int], PersonMention]]:
    """One mention per distinct clinician (merged by name), with the best role they hold and why."""
    grouped: dict[str, list[_Clinician]] = {}
    for c in _clinicians(tree):
        grouped.setdefault(c.person.normalized.casefold(), []).append(c)
    out: list[tuple[tuple[int, int], PersonMention]] = []
    for mentions in grouped.values():
        treating = [c for c in mentions if c.role is Role.TREATING_PHYSICIAN]
        best = min(treating or mentions, key=lambda c: c.tier)
        person = max((c.person for c in mentions), key=lambda p: (len(p.credentials), p.doctor_title))
        role = best.role
        if _is_nursing_only(person):
            role = Role.NURSE
        rank = _credential_rank(person)
        confidence = _CONF_PERSON if rank < 2 else _CONF_PHYSICIAN_NO_CREDENTIAL
        whys = dict.fromkeys(c.why for c in sorted(mentions, key=lambda c: c.tier))  # ordered, without repeats
        reason = "; ".join(whys) + (" (nursing credentials only)" if role is Role.NURSE else "")
        evidence = tuple(_evidence(tree, c.person.element, c.person.printed, confidence) for c in mentions)
        mention = PersonMention(value=person.printed, normalized=person.normalized, role=role,
                                confidence=confidence, evidence=evidence, reason=reason,
                                credentials=person.credentials)
        out.append(((best.tier, rank), mention))
    return out


def _evidence(tree: _Tree, el: Element, snippet: str, score: float,
              adjustments: tuple[Adjustment, ...] = ()) -> Evidence:
    return Evidence(finder=FINDER, rule=tree.path(el), page=None, bbox=None, snippet=snippet,
                    source=Source.STRUCTURED, original_score=score, adjustments=adjustments)


# ------------------------------------------------------------------------------------------------------------------
# Problems
# ------------------------------------------------------------------------------------------------------------------

def _problems(tree: _Tree, policy: Policy, snomed: SnomedMap) -> Iterator[DiagnosisMention]:
    for obs in tree.root.iter(_N + "observation"):
        if PROBLEM_OBSERVATION not in _templates(obs):
            continue
        mention = _problem(tree, obs, policy, snomed)
        if mention is not None:
            yield mention


def _codes(value: Element) -> list[Element]:
    """The value and its translations that carry a code."""
    return [c for c in [value, *value.findall(_h("translation"))] if c.get("code")]


def _display(tree: _Tree, value: Element) -> str:
    """The problem's display text: displayName, else originalText (or the narrative it references), else a
    translation's displayName."""
    if value.get("displayName", "").strip():
        return " ".join(value.get("displayName", "").split())
    original = value.find(_h("originalText"))
    if original is not None:
        direct = _text(original)
        if direct:
            return direct
        ref = original.find(_h("reference"))
        target = (ref.get("value") or "").lstrip("#") if ref is not None else ""
        if target:
            for el in tree.root.iter():
                if el.get("ID") == target:
                    return _text(el)
    for t in value.findall(_h("translation")):
        if t.get("displayName", "").strip():
            return " ".join(t.get("displayName", "").split())
    return ""


def _problem(tree: _Tree, obs: Element, policy: Policy, snomed: SnomedMap) -> DiagnosisMention | None:
    value = obs.find(_h("value"))
    if value is None:
        return None
    codes = _codes(value)
    if not codes:
        return None  # "no known problems" (value nullFlavor) is not a diagnosis
    display = _display(tree, value)
    icd = next((c for c in codes if c.get("codeSystem") == ICD10CM_OID), None)
    sct = next((c for c in codes if c.get("codeSystem") == SNOMED_OID), None)
    adjustments: list[Adjustment] = []
    coded_el: Element
    if icd is not None:
        code = _format_icd10(icd.get("code", ""))
        confidence, coded_el = _CONF_ICD10, icd
        category = policy.classify(code)
        mapped = snomed.icd10.get(sct.get("code", "")) if sct is not None else None
        pain_sct = mapped is not None and policy.classify(mapped).is_pain
        if category.is_pain and not pain_sct and not snomed.pain_words_in(display):
            adjustments.append(Adjustment("ICD-10-CM code names pain but the problem's text does not",
                                          _DOUBTED_CODE_DELTA))
    elif sct is not None and sct.get("code", "") in snomed.icd10:
        code = snomed.icd10[sct.get("code", "")]
        confidence, coded_el = _CONF_MAPPED, sct
        adjustments.append(Adjustment(f"SNOMED CT {sct.get('code')} mapped to ICD-10-CM by snomed_pain_map.yaml", 0.0))
    else:
        code, confidence, coded_el = "", _CONF_UNCODED, value
    icd10 = code or None
    category = policy.classify(icd10) if icd10 else Category.OTHER
    score = max(0.0, confidence + sum(a.delta for a in adjustments))
    text = display or (coded_el.get("code") or "")
    evidence = _evidence(tree, coded_el, text, confidence, tuple(adjustments))
    return DiagnosisMention(text=text, icd10=icd10, description=_icd_description(icd10), category=category,
                            assertion=_assertion(tree, obs), section=_section(tree, obs), confidence=score,
                            evidence=(evidence,), link_score=1.0 if icd10 else 0.0)


def _format_icd10(code: str) -> str:
    """Upper-case, with the dot after the category ("m5450" → "M54.50")."""
    c = code.strip().upper().replace(".", "")
    return c if len(c) <= 3 else f"{c[:3]}.{c[3:]}"


def _icd_description(code: str | None) -> str | None:
    return icd10cm.description(code) if code else None


def _assertion(tree: _Tree, obs: Element) -> Assertion:
    """family > negated > historical (resolved) > affirmed; see the module docstring."""
    if obs.find(_h("subject/relatedSubject")) is not None:
        return Assertion.FAMILY
    if (obs.get("negationInd") or "").lower() == "true":
        return Assertion.NEGATED
    for rel in obs.findall(_h("entryRelationship/observation")):
        rel_code = rel.find(_h("code"))
        if PROBLEM_STATUS in _templates(rel) or (rel_code is not None and rel_code.get("code") == "33999-4"):
            status = rel.find(_h("value"))
            code = (status.get("code") or "") if status is not None else ""
            shown = (status.get("displayName") or "").lower() if status is not None else ""
            if code in _RESOLVED_STATUS_CODES or shown in {"resolved", "inactive", "completed"}:
                return Assertion.HISTORICAL
            if code in _ACTIVE_STATUS_CODES or shown == "active":
                return Assertion.AFFIRMED
    if _has_end(obs):
        return Assertion.HISTORICAL
    concern = next((a for a in tree.ancestors(obs) if _local(a.tag) == "act"), None)
    if concern is not None:
        status_code = concern.find(_h("statusCode"))
        if status_code is not None and status_code.get("code") == "completed" and _has_end(concern):
            return Assertion.HISTORICAL
    return Assertion.AFFIRMED


def _has_end(el: Element) -> bool:
    """True when effectiveTime/high carries a date (a nullFlavor high means "not known to have ended")."""
    high = el.find(_h("effectiveTime/high"))
    return high is not None and bool((high.get("value") or "").strip())


def _section(tree: _Tree, obs: Element) -> SectionKind:
    for a in tree.ancestors(obs):
        if _local(a.tag) == "act" and ENCOUNTER_DIAGNOSIS in _templates(a):
            return SectionKind.DIAGNOSES
        if _local(a.tag) == "section":
            for root in sorted(_templates(a)):
                if root in _SECTIONS:
                    return _SECTIONS[root]
            return SectionKind.OTHER
    return SectionKind.OTHER


# ------------------------------------------------------------------------------------------------------------------
# Several documents → one Findings
# ------------------------------------------------------------------------------------------------------------------

def merge(parts: list[_DocFacts]) -> Findings:
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
    ranked: dict[str, tuple[tuple[int, int], PersonMention]] = {}
    for part in parts:
        for key, person in part.clinicians:
            name = person.normalized.casefold()
            if name not in ranked or key < ranked[name][0]:
                ranked[name] = (key, person)
    candidates = sorted((v for v in ranked.values() if v[1].role is Role.TREATING_PHYSICIAN), key=lambda v: v[0])
    pcps = sorted((v for v in ranked.values() if v[1].role is Role.PCP), key=lambda v: v[0])
    if not candidates and pcps:
        # A summary whose only clinician is the patient's PCP (care-team performer): the PCP may well be treating
        # the patient, but the document does not say who treats the pain, so a coordinator confirms.
        physician = Choice(pcps[0][1], "only a primary care provider is named (care-team performer)", ambiguous=True)
    elif not candidates:
        physician = Choice(None, "no clinician in the C-CDA header can be the treating physician")
    else:
        (key, best), tied = candidates[0], [c for c in candidates[1:] if c[0] == candidates[0][0]]
        reason = f"{best.reason}: first of legal authenticator, encounter, author, performer"
        if tied:
            physician = Choice(best, reason + f"; tied with {len(tied)} other clinician(s) of the same role",
                               ambiguous=True)
        else:
            physician = Choice(best, reason)
    people = [*patients, *(person for _, person in ranked.values())]
    diagnoses = tuple(d for part in parts for d in part.diagnoses)
    return Findings(people=tuple(people), diagnoses=diagnoses, patient=patient, physician=physician)
