"""C-CDA XML and IHE XDM zips: safe parsing, the header and problem rules, and the real corpora.

Corpus tests read ../shared/corpora (never copied into the repository) and skip when it is absent. Expected values
come from each corpus's ground_truth.jsonl through evaluation/ccda_structured.py. Attribution: C-CDA samples from the
SMART sample_ccdas collection (github.com/chb/sample_ccdas), contributed by EHR vendors and the SMART team, CC BY
4.0; HL7 C-CDA Examples (HL7 SDWG), CC0; ONC 2015 Edition certification samples via jddamore/ccda-samples (public
domain; D'Amore JD et al., AMIA Annu Symp Proc 2018).
"""

from __future__ import annotations

import io
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import corpus_paths
import pytest

from evaluation.ccda_structured import Expected, found_problems, load_expected, read_findings
from extractors.ccda import (
    ArchiveLimits,
    load_snomed_map,
    merge,
    parse_snomed_map,
    parse_xml,
    read_clinical_document,
    read_structured,
)
from extractors.routing import read_document
from pipeline.errors import ConfigError, FileTooLarge, RejectedUpload, UnsafeXml, UnsupportedType
from pipeline.evaluate import Intake, evaluate
from pipeline.intake import accept, sniff
from pipeline.policy import load_policy
from pipeline.settings import Settings
from pipeline.types import Assertion, Category, Document, MediaType, Role, SectionKind, Source, Status

# ------------------------------------------------------------------------------------------------ builders

HEADER_PATIENT = """<recordTarget><patientRole><patient><name use="L"><given>Ana</given><given>Maria</given>
<family>Garcia-Lopez</family></name></patient></patientRole></recordTarget>"""


def person(tag: str, given: str, family: str, suffix: str = "", prefix: str = "") -> str:
    """A clinician element of the header: author, legalAuthenticator, performer, …"""
    name = (f"<name>{f'<prefix>{prefix}</prefix>' if prefix else ''}<given>{given}</given><family>{family}</family>"
            f"{f'<suffix>{suffix}</suffix>' if suffix else ''}</name>")
    if tag == "author":
        return f"<author><assignedAuthor><assignedPerson>{name}</assignedPerson></assignedAuthor></author>"
    if tag == "legalAuthenticator":
        return f"<legalAuthenticator><assignedEntity><assignedPerson>{name}</assignedPerson></assignedEntity>" \
               "</legalAuthenticator>"
    if tag.startswith("performer"):
        fn = tag.partition(":")[2]
        code = f'<functionCode code="{fn}"/>' if fn else ""
        return f'<documentationOf><serviceEvent classCode="PCPR"><performer typeCode="PRF">{code}<assignedEntity>' \
               f"<assignedPerson>{name}</assignedPerson></assignedEntity></performer></serviceEvent>" \
               "</documentationOf>"
    raise ValueError(tag)


ORG_ONLY_AUTHOR = """<author><assignedAuthor><representedOrganization><name>Community Pain Clinic</name>
</representedOrganization></assignedAuthor></author>"""


def problem(code: str = "M79.7", system: str = "2.16.840.1.113883.6.90", display: str = "Fibromyalgia", *,
            negated: bool = False, status: str | None = None, high: str | None = None, concern: str = "active",
            concern_high: str | None = None, family: bool = False) -> str:
    """A Problem Concern Act holding one Problem Observation."""
    neg = ' negationInd="true"' if negated else ""
    eff = f'<effectiveTime><low value="20200101"/>{f"<high {high}/>" if high else ""}</effectiveTime>'
    status_xml = "" if status is None else (
        '<entryRelationship typeCode="REFR"><observation classCode="OBS" moodCode="EVN">'
        '<templateId root="2.16.840.1.113883.10.20.22.4.6"/><code code="33999-4" codeSystem="2.16.840.1.113883.6.1"/>'
        f'<value code="{status}" codeSystem="2.16.840.1.113883.6.96"/></observation></entryRelationship>')
    subject = "<subject><relatedSubject classCode=\"PRS\"><code code=\"MTH\"/></relatedSubject></subject>" \
        if family else ""
    concern_eff = f'<effectiveTime><low value="20200101"/><high value="{concern_high}"/></effectiveTime>' \
        if concern_high else ""
    return f"""<entry><act classCode="ACT" moodCode="EVN"><templateId root="2.16.840.1.113883.10.20.22.4.3"/>
<statusCode code="{concern}"/>{concern_eff}<entryRelationship typeCode="SUBJ">
<observation classCode="OBS" moodCode="EVN"{neg}><templateId root="2.16.840.1.113883.10.20.22.4.4"/>{subject}
<statusCode code="completed"/>{eff}
<value xsi:type="CD" code="{code}" codeSystem="{system}" displayName="{display}"/>{status_xml}
</observation></entryRelationship></act></entry>"""


def cda(*, header: str = HEADER_PATIENT + person("legalAuthenticator", "Robert", "Smith", "MD"),
        problems: str = problem(), section: str = "2.16.840.1.113883.10.20.22.2.5.1") -> bytes:
    """A minimal C-CDA: header parts and one section of problem entries."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet type="text/xsl" href="CDA.xsl"?>
<!-- synthetic test document -->
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<templateId root="2.16.840.1.113883.10.20.22.1.2"/>{header}
<component><structuredBody><component><section><templateId root="{section}"/><title>Problems</title>
{problems}</section></component></structuredBody></component></ClinicalDocument>""".encode()


def read_bytes(data: bytes, archive: ArchiveLimits = ArchiveLimits()) -> Document:
    return read_structured(data, accept(data, "upload"), archive=archive)


def metadata_xml(*uris: str) -> bytes:
    objects = "".join(
        f'<rim:ExtrinsicObject id="Document{i:02d}" mimeType="text/xml"><rim:Slot name="URI"><rim:ValueList>'
        f"<rim:Value>{uri}</rim:Value></rim:ValueList></rim:Slot></rim:ExtrinsicObject>"
        for i, uri in enumerate(uris, start=1))
    return (b'<?xml version="1.0" encoding="UTF-8"?><lcm:SubmitObjectsRequest '
            b'xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" '
            b'xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><rim:RegistryObjectList>'
            + objects.encode() + b"</rim:RegistryObjectList></lcm:SubmitObjectsRequest>")


def xdm_zip(*documents: bytes, extra: dict[str, bytes] | None = None) -> bytes:
    """An IHE XDM package: INDEX.HTM, README.TXT, IHE_XDM/SUBSET01/METADATA.XML and DOCnnnn.XML."""
    buf = io.BytesIO()
    names = [f"DOC{i:04d}.XML" for i in range(1, len(documents) + 1)]
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("INDEX.HTM", "<html><body>Health summary</body></html>")
        zf.writestr("README.TXT", "IHE XDM export")
        zf.writestr("IHE_XDM/SUBSET01/METADATA.XML", metadata_xml(*names))
        for name, doc in zip(names, documents, strict=True):
            zf.writestr(f"IHE_XDM/SUBSET01/{name}", doc)
        for name, body in (extra or {}).items():
            zf.writestr(name, body)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------------ sniffing

SNIFF_CASES = [
    ("declaration, stylesheet and comment before the root", cda()[:300], MediaType.CCDA_XML),
    ("utf-8 BOM", b"\xef\xbb\xbf<ClinicalDocument xmlns='urn:hl7-org:v3'>", MediaType.CCDA_XML),
    ("prefixed root", b'<cda:ClinicalDocument xmlns:cda="urn:hl7-org:v3">', MediaType.CCDA_XML),
    ("doctype naming ClinicalDocument (refused later as unsafe)",
     b'<?xml version="1.0"?><!DOCTYPE ClinicalDocument [<!ENTITY a "b">]><ClinicalDocument/>', MediaType.CCDA_XML),
    ("root without the hl7 namespace", b"<ClinicalDocument><title/></ClinicalDocument>", None),
    ("hl7 namespace bound to another prefix", b'<ClinicalDocument xmlns:x="urn:hl7-org:v3">', None),
    ("another root element", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', None),
    ("doctype of another root", b'<!DOCTYPE lolz [<!ENTITY lol "lol">]><lolz>&lol;</lolz>', None),
    ("unterminated comment", b"<!-- " + b"x" * 5000, None),
    ("zip with a first entry", b"PK\x03\x04" + b"\x00" * 40, MediaType.XDM_ZIP),
    ("zip too short to hold an entry", b"PK\x03\x04\x14\x00", None),
]


@pytest.mark.parametrize(("situation", "head", "expected"), SNIFF_CASES, ids=[c[0] for c in SNIFF_CASES])
def test_when_bytes_are_sniffed_then_only_hl7_clinical_documents_and_zips_are_structured(
        situation: str, head: bytes, expected: MediaType | None) -> None:
    assert sniff(head) is expected, situation


def test_when_structured_types_are_listed_then_they_are_not_images() -> None:
    assert not MediaType.CCDA_XML.is_image and not MediaType.XDM_ZIP.is_image
    assert MediaType.CCDA_XML.is_structured and MediaType.XDM_ZIP.is_structured
    assert MediaType.PNG.is_image and not MediaType.PDF.is_image


# ------------------------------------------------------------------------------------------------ hostile XML

_AUDIT_EVENTS: list[tuple[str, str, str]] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _AUDIT_EVENTS is not None and (event == "open" or event.startswith(("socket.", "urllib."))):
        mode = str(args[1]) if event == "open" and len(args) > 1 else ""
        _AUDIT_EVENTS.append((event, str(args[0]) if args else "", mode))


sys.addaudithook(_audit)  # gated by _AUDIT_EVENTS: records only inside `audited()`


@contextmanager
def audited() -> Iterator[list[tuple[str, str, str]]]:
    """Record every file open (path, mode) and socket/urllib call of this process (PEP 578 audit hooks) inside."""
    global _AUDIT_EVENTS
    events: list[tuple[str, str, str]] = []
    _AUDIT_EVENTS = events
    try:
        yield events
    finally:
        _AUDIT_EVENTS = None


BILLION_LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE ClinicalDocument [<!ENTITY lol "lol">""" + b"".join(
    f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode() for i in range(1, 10)
) + b"""]><ClinicalDocument xmlns="urn:hl7-org:v3"><title>&lol9;</title></ClinicalDocument>"""
QUADRATIC = (b'<?xml version="1.0"?><!DOCTYPE ClinicalDocument [<!ENTITY a "' + b"x" * 50_000 + b'">]>'
             b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>' + b"&a;" * 50_000 + b"</title></ClinicalDocument>")
XXE_FILE = (b'<?xml version="1.0"?><!DOCTYPE ClinicalDocument [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&x;</title></ClinicalDocument>')
XXE_HTTP = (b'<?xml version="1.0"?><!DOCTYPE ClinicalDocument [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>'
            b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&x;</title></ClinicalDocument>')
XXE_PARAMETER = (b'<?xml version="1.0"?><!DOCTYPE ClinicalDocument [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'
                 b'<ClinicalDocument xmlns="urn:hl7-org:v3"/>')
EXTERNAL_DTD = (b'<?xml version="1.0"?><!DOCTYPE ClinicalDocument SYSTEM "http://127.0.0.1:9/cda.dtd">'
                b'<ClinicalDocument xmlns="urn:hl7-org:v3"/>')

HOSTILE_XML = [("billion laughs", BILLION_LAUGHS), ("quadratic blowup", QUADRATIC), ("XXE file", XXE_FILE),
               ("XXE http", XXE_HTTP), ("XXE parameter entity", XXE_PARAMETER), ("external DTD", EXTERNAL_DTD)]


@pytest.mark.parametrize(("situation", "data"), HOSTILE_XML, ids=[h[0] for h in HOSTILE_XML])
def test_when_xml_declares_entities_then_it_is_rejected_fast_without_reading_files_or_network(
        situation: str, data: bytes) -> None:
    with audited() as events:
        start = time.perf_counter()
        with pytest.raises(UnsafeXml) as info:
            read_document(data, accept(data, "x.xml"))
        elapsed = time.perf_counter() - start
    assert info.value.code == "unsafe_xml", situation
    assert elapsed < 1.0
    assert not [e for e in events if "passwd" in e[1] or e[0].startswith(("socket.", "urllib."))], events


@pytest.mark.parametrize(("situation", "data", "code"), [
    ("truncated", cda()[:-40], "unreadable_file"),
    ("not well-formed", cda().replace(b"</title>", b"</titel>"), "unreadable_file"),
    ("well-formed but another hl7 root", b'<Foo xmlns="urn:hl7-org:v3"/>', "unsupported_type"),
])
def test_when_xml_is_broken_then_it_is_rejected_cleanly(situation: str, data: bytes, code: str) -> None:
    with pytest.raises(RejectedUpload) as info:
        read_clinical_document(parse_xml(data), load_policy(), load_snomed_map())
    assert info.value.code == code, situation


# ------------------------------------------------------------------------------------------------ hostile zips

def _zip(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, body in entries.items():
            zf.writestr(name, body)
    return buf.getvalue()


META = {"IHE_XDM/SUBSET01/METADATA.XML": metadata_xml("DOC0001.XML")}
HOSTILE_ZIPS: list[tuple[str, bytes, type[RejectedUpload], ArchiveLimits]] = [
    ("bomb past the total cap", _zip({**META, "IHE_XDM/SUBSET01/DOC0001.XML": b"\x00" * 3_000_000}), FileTooLarge,
     ArchiveLimits(max_total_bytes=2_000_000)),
    ("bomb past the ratio cap", _zip({**META, "IHE_XDM/SUBSET01/DOC0001.XML": b" " * 5_000_000}), FileTooLarge,
     ArchiveLimits()),
    ("too many entries", _zip({**META, **{f"IHE_XDM/SUBSET01/f{i}.txt": b"x" for i in range(120)}}), UnsupportedType,
     ArchiveLimits()),
    ("zip-slip parent path", _zip({**META, "../../evil.xml": cda()}), UnsupportedType, ArchiveLimits()),
    ("zip-slip absolute path", _zip({**META, "/etc/cron.d/evil": cda()}), UnsupportedType, ArchiveLimits()),
    ("zip-slip backslashes", _zip({**META, "..\\..\\evil.xml": cda()}), UnsupportedType, ArchiveLimits()),
    ("zip-slip drive letter", _zip({**META, "C:/evil.xml": cda()}), UnsupportedType, ArchiveLimits()),
    ("zip in zip by name", _zip({**META, "IHE_XDM/SUBSET01/inner.zip": xdm_zip(cda())}), UnsupportedType,
     ArchiveLimits()),
    ("zip in zip by content", _zip({**META, "IHE_XDM/SUBSET01/DOC0001.XML": xdm_zip(cda())}), UnsupportedType,
     ArchiveLimits()),
    ("plain zip, not an XDM package", _zip({"record.xml": cda()}), UnsupportedType, ArchiveLimits()),
    ("XDM package without a C-CDA", _zip({**META, "IHE_XDM/SUBSET01/DOC0001.XML": b"<x/>"}), UnsupportedType,
     ArchiveLimits()),
    ("metadata with an entity bomb", _zip({"IHE_XDM/SUBSET01/METADATA.XML": BILLION_LAUGHS,
                                           "IHE_XDM/SUBSET01/DOC0001.XML": cda()}), UnsafeXml, ArchiveLimits()),
]


@pytest.mark.parametrize(("situation", "data", "error", "archive"), HOSTILE_ZIPS, ids=[z[0] for z in HOSTILE_ZIPS])
def test_when_a_zip_is_hostile_then_it_is_rejected_without_touching_the_filesystem(
        situation: str, data: bytes, error: type[RejectedUpload], archive: ArchiveLimits) -> None:
    with audited() as events:
        start = time.perf_counter()
        with pytest.raises(error):
            read_bytes(data, archive)
        elapsed = time.perf_counter() - start
    assert elapsed < 2.0, situation
    opened = [e for e in events if e[0] == "open"]
    assert not [e for e in opened if "evil" in e[1] or any(m in e[2] for m in "wax+")], opened


def test_when_a_zip_is_truncated_then_it_is_unreadable() -> None:
    data = xdm_zip(cda())
    with pytest.raises(RejectedUpload) as info:
        read_bytes(data[: len(data) // 2])
    assert info.value.code == "unreadable_file"


# ------------------------------------------------------------------------------------------------ problem rules

ASSERTION_CASES = [
    ("problem status active", {"status": "55561003"}, Assertion.AFFIRMED),
    ("problem status resolved", {"status": "413322009"}, Assertion.HISTORICAL),
    ("problem status inactive", {"status": "73425007"}, Assertion.HISTORICAL),
    ("resolution date on the observation", {"high": 'value="20210301"'}, Assertion.HISTORICAL),
    ("unknown resolution date (nullFlavor)", {"high": 'nullFlavor="UNK"'}, Assertion.AFFIRMED),
    ("completed concern with an end date", {"concern": "completed", "concern_high": "20210301"}, Assertion.HISTORICAL),
    ("completed concern without an end date", {"concern": "completed"}, Assertion.AFFIRMED),
    ("active status beats a completed concern", {"status": "55561003", "concern": "completed",
                                                 "concern_high": "20210301"}, Assertion.AFFIRMED),
    ("negationInd", {"negated": True}, Assertion.NEGATED),
    ("family member as subject", {"family": True}, Assertion.FAMILY),
    ("no status at all", {}, Assertion.AFFIRMED),
]


@pytest.mark.parametrize(("situation", "kw", "assertion"), ASSERTION_CASES, ids=[c[0] for c in ASSERTION_CASES])
def test_when_a_problem_carries_a_status_then_its_assertion_follows_the_rule(
        situation: str, kw: dict[str, Any], assertion: Assertion) -> None:
    findings = read_bytes(cda(problems=problem(**kw))).structured
    assert findings is not None
    (dx,) = findings.diagnoses
    assert dx.assertion is assertion, situation
    assert dx.icd10 == "M79.7" and dx.category is Category.FIBROMYALGIA


@pytest.mark.parametrize(("situation", "kw", "status"), [
    ("active fibromyalgia", {}, Status.COMPLETE),
    ("resolved fibromyalgia", {"status": "413322009"}, Status.INCOMPLETE),
    ("negated fibromyalgia", {"negated": True}, Status.INCOMPLETE),
    ("mother's fibromyalgia", {"family": True}, Status.INCOMPLETE),
])
def test_when_a_pain_problem_is_resolved_negated_or_familial_then_it_is_not_a_current_diagnosis(
        situation: str, kw: dict[str, Any], status: Status) -> None:
    doc = read_bytes(cda(problems=problem(**kw)))
    assert doc.structured is not None
    report = evaluate(doc, doc.structured, Intake(), load_policy(), {})
    assert report.status is status, (situation, report.reasons)


CODE_CASES = [
    ("ICD-10-CM value", problem("G90.512", display="CRPS I of right lower limb"), "G90.512", Category.CRPS),
    ("dotless ICD-10-CM", problem("G43909", display="Migraine"), "G43.909", Category.MIGRAINE),
    ("SNOMED CT mapped", problem("279039007", "2.16.840.1.113883.6.96", "Low back pain"), "M54.50",
     Category.OTHER_PAIN),
    ("SNOMED CT mental health", problem("35489007", "2.16.840.1.113883.6.96", "Depressive disorder"), "F32.A",
     Category.MENTAL_HEALTH),
    ("SNOMED CT not mapped", problem("38341003", "2.16.840.1.113883.6.96", "Hypertension"), None, Category.OTHER),
    ("ICD-9-CM only", problem("346.90", "2.16.840.1.113883.6.103", "Migraine"), None, Category.OTHER),
]


@pytest.mark.parametrize(("situation", "xml", "icd10", "category"), CODE_CASES, ids=[c[0] for c in CODE_CASES])
def test_when_a_problem_is_coded_then_its_icd10_and_category_follow_the_code_system(
        situation: str, xml: str, icd10: str | None, category: Category) -> None:
    findings = read_bytes(cda(problems=xml)).structured
    assert findings is not None
    (dx,) = findings.diagnoses
    assert (dx.icd10, dx.category) == (icd10, category), situation
    ev = dx.evidence[0]
    assert ev.finder == "ccda" and ev.source is Source.STRUCTURED and ev.page is None and ev.bbox is None
    assert ev.rule.startswith("/ClinicalDocument/component/structuredBody/component/section/entry/act/")
    assert ev.snippet


def test_when_an_icd10_translation_names_pain_but_the_problem_text_does_not_then_the_code_is_doubted() -> None:
    xml = problem("46177005", "2.16.840.1.113883.6.96", "End stage renal disease").replace(
        'displayName="End stage renal disease"/>',
        'displayName="End stage renal disease"><translation code="G58" codeSystem="2.16.840.1.113883.6.90"/></value>')
    doc = read_bytes(cda(problems=xml))
    assert doc.structured is not None
    (dx,) = doc.structured.diagnoses
    assert dx.icd10 == "G58" and dx.confidence < load_policy().thresholds.field_min_confidence
    assert evaluate(doc, doc.structured, Intake(), load_policy(), {}).status is Status.NEEDS_REVIEW


@pytest.mark.parametrize(("section", "kind"), [
    ("2.16.840.1.113883.10.20.22.2.5.1", SectionKind.PROBLEM_LIST),
    ("2.16.840.1.113883.10.20.22.2.20", SectionKind.PAST_MEDICAL_HISTORY),
    ("2.16.840.1.113883.10.20.22.2.10", SectionKind.PLAN),
    ("1.2.3.4", SectionKind.OTHER),
])
def test_when_a_problem_sits_in_a_section_then_the_section_kind_is_recorded(section: str, kind: SectionKind) -> None:
    findings = read_bytes(cda(section=section)).structured
    assert findings is not None
    assert findings.diagnoses[0].section is kind


# ------------------------------------------------------------------------------------------------ people rules

PHYSICIAN_CASES = [
    ("legal authenticator beats author", person("author", "Jane", "Doe", "MD")
     + person("legalAuthenticator", "Robert", "Smith", "MD"), "Robert Smith", False),
    ("author when nobody signed", person("author", "Jane", "Doe", "M.D."), "Jane Doe", False),
    ("physician credential beats none in a tier", person("author", "Kim", "Lee")
     + person("author", "Jane", "Doe", "DO"), "Jane Doe", False),
    ("two physicians tie as authors", person("author", "Kim", "Lee", "MD")
     + person("author", "Jane", "Doe", "MD"), "Kim Lee", True),
    ("only an organisation as author", ORG_ONLY_AUTHOR, None, False),
    ("only a nurse as author", person("author", "Pat", "Jones", "RN"), None, False),
    ("only the PCP performer", person("performer:PCP", "Ann", "Wu", "MD"), "Ann Wu", True),
    ("performer with a Dr prefix", person("performer", "Albert", "Davis", prefix="Dr"), "Albert Davis", False),
]


@pytest.mark.parametrize(("situation", "header", "chosen", "ambiguous"), PHYSICIAN_CASES,
                         ids=[c[0] for c in PHYSICIAN_CASES])
def test_when_the_header_names_clinicians_then_the_treating_physician_follows_the_stated_order(
        situation: str, header: str, chosen: str | None, ambiguous: bool) -> None:
    findings = read_bytes(cda(header=HEADER_PATIENT + header)).structured
    assert findings is not None
    got = findings.physician.person
    assert (got.normalized if got else None) == chosen, situation
    assert findings.physician.ambiguous is ambiguous
    assert findings.patient.person is not None and findings.patient.person.normalized == "Ana Maria Garcia-Lopez"


def test_when_a_nurse_is_named_then_the_role_is_nurse_with_credentials() -> None:
    findings = read_bytes(cda(header=HEADER_PATIENT + person("author", "Pat", "Jones", "RN"))).structured
    assert findings is not None
    nurse = next(p for p in findings.people if p.normalized == "Pat Jones")
    assert nurse.role is Role.NURSE and nurse.credentials == ("RN",)


def test_when_the_same_clinician_holds_several_roles_then_they_are_one_person_with_all_evidence() -> None:
    header = HEADER_PATIENT + person("author", "Robert", "Smith", "MD") + person("legalAuthenticator", "ROBERT",
                                                                                  "SMITH", "M.D.")
    findings = read_bytes(cda(header=header)).structured
    assert findings is not None
    doctors = [p for p in findings.people if p.role is Role.TREATING_PHYSICIAN]
    assert len(doctors) == 1 and len(doctors[0].evidence) == 2
    assert doctors[0].credentials == ("MD",) and not findings.physician.ambiguous


# ------------------------------------------------------------------------------------------------ XDM packages

def test_when_a_corpus_xml_is_wrapped_in_an_xdm_zip_then_the_report_is_the_same() -> None:
    xml = _corpus_xml("sample-ccdas", "EMERGE__")
    bare, packed = read_document(xml, accept(xml, "x.xml")), read_document(xdm_zip(xml), accept(xdm_zip(xml), "x"))
    assert packed.media_type is MediaType.XDM_ZIP and bare.media_type is MediaType.CCDA_XML
    assert packed.structured == bare.structured
    reports = [evaluate(d, d.structured, Intake(), load_policy(), {}).model_dump(exclude={"upload", "pages"})
               for d in (bare, packed) if d.structured is not None]
    assert len(reports) == 2 and reports[0] == reports[1]


def test_when_an_xdm_zip_holds_two_patients_then_the_patient_is_ambiguous() -> None:
    other = cda(header=HEADER_PATIENT.replace("Ana", "Eve").replace("Garcia-Lopez", "Betterhalf")
                + person("author", "Jane", "Doe", "MD"))
    findings = read_bytes(xdm_zip(cda(), other)).structured
    assert findings is not None
    assert findings.patient.ambiguous and len(findings.diagnoses) == 2
    assert {e.rule.split("#")[0] for d in findings.diagnoses for e in d.evidence} == {
        "IHE_XDM/SUBSET01/DOC0001.XML", "IHE_XDM/SUBSET01/DOC0002.XML"}


def test_when_metadata_lists_no_uri_then_any_clinical_document_in_the_package_is_read() -> None:
    data = _zip({"IHE_XDM/SUBSET01/METADATA.XML": metadata_xml(), "IHE_XDM/SUBSET01/record.xml": cda()})
    findings = read_bytes(data).structured
    assert findings is not None and findings.patient.person is not None


# ------------------------------------------------------------------------------------------------ the rule file

GOOD_MAP = b"""version: 1
display_words: [pain]
concepts:
  - {snomed: "279039007", display: "Low back pain", icd10: "M54.50"}
"""
BAD_MAPS = [
    ("unknown key", GOOD_MAP + b"extra: 1\n"),
    ("unknown concept key", GOOD_MAP.replace(b'icd10: "M54.50"}', b'icd10: "M54.50", note: x}')),
    ("check digit wrong", GOOD_MAP.replace(b"279039007", b"279039008")),
    ("not an ICD-10-CM code", GOOD_MAP.replace(b"M54.50", b"M54.99")),
    ("duplicate concept", GOOD_MAP + b'  - {snomed: "279039007", display: "again", icd10: "M54.9"}\n'),
    ("not a mapping", b"- 1\n"),
    ("no concepts", b"version: 1\ndisplay_words: [pain]\nconcepts: []\n"),
]


@pytest.mark.parametrize(("situation", "raw"), BAD_MAPS, ids=[b[0] for b in BAD_MAPS])
def test_when_the_snomed_map_is_invalid_then_loading_fails_with_config_error(situation: str, raw: bytes) -> None:
    with pytest.raises(ConfigError):
        parse_snomed_map(raw, Path("snomed_pain_map.yaml"))


def test_when_the_bundled_snomed_map_is_loaded_then_it_validates() -> None:
    snomed = load_snomed_map()
    assert snomed.icd10["279039007"] == "M54.50" and len(snomed.icd10) >= 40
    policy = load_policy()
    assert policy.classify(snomed.icd10["203082005"]) is Category.FIBROMYALGIA


# ------------------------------------------------------------------------------------------------ the corpora

EXPECTED = load_expected(corpus_paths.CORPORA)
needs_corpora = corpus_paths.needs("hl7-ccda-examples", "sample-ccdas", "onc-ccda-samples")


def _corpus_xml(corpus: str, prefix: str) -> bytes:
    """The first document of `corpus` whose name starts with `prefix` and that lists low back pain (M54.9)."""
    if not EXPECTED:
        pytest.skip("C-CDA corpora not found: set DOCVERIFY_CORPORA or place them at ../shared/corpora")
    return next(e.path for e in EXPECTED if e.corpus == corpus and e.path.name.startswith(prefix)
                and ("M54.9", False) in e.problems).read_bytes()


@needs_corpora
@pytest.mark.parametrize("expected", EXPECTED, ids=[f"{e.corpus}/{e.path.name[:60]}" for e in EXPECTED])
def test_when_a_corpus_document_is_read_then_patient_physician_and_problems_match_the_ground_truth(
        expected: Expected) -> None:
    if not expected.conformant:  # HL7 guide fragments without the hl7 v3 namespace: not a C-CDA we accept
        assert sniff(expected.path.read_bytes()) is None
        with pytest.raises(UnsupportedType):
            read_findings(expected.path)
        return
    try:
        findings = read_findings(expected.path)
    except RejectedUpload as e:  # only the documents the truth read in recover mode may be refused, and cleanly
        assert expected.recovered and e.code == "unreadable_file"
        return
    assert sniff(expected.path.read_bytes()) is MediaType.CCDA_XML
    patient = findings.patient.person
    assert (" ".join(patient.normalized.casefold().split()) if patient else None) == expected.patient
    doctor = findings.physician.person
    if expected.clinicians:
        assert doctor is not None and " ".join(doctor.normalized.casefold().split()) in expected.clinicians
    assert found_problems(findings) == expected.problems


@needs_corpora
def test_when_the_corpora_are_read_then_it_takes_under_thirty_seconds() -> None:
    start = time.perf_counter()
    for e in EXPECTED:
        try:
            read_findings(e.path)
        except RejectedUpload:
            continue
    assert time.perf_counter() - start < 30


@needs_corpora
def test_when_a_corpus_xml_is_checked_end_to_end_then_every_field_comes_from_the_structure() -> None:
    from flows.verify import check_bytes  # imported here: builds the NLP versions once, only for this test

    xml = _corpus_xml("sample-ccdas", "EMERGE__")
    report = check_bytes(xml, "x.xml", Intake(), Settings())
    fields = report.fields
    assert report.upload.media_type == MediaType.CCDA_XML.value
    assert fields.patient_name.value and fields.physician_name.value and fields.pain_diagnosis.icd10 == "M54.9"
    assert report.status is Status.COMPLETE, report.reasons
    evidence = fields.patient_name.evidence + fields.physician_name.evidence + fields.pain_diagnosis.evidence
    assert all(e.source is Source.STRUCTURED and e.page is None and e.finder == "ccda" for e in evidence)
    assert [p.source for p in report.pages] == [Source.STRUCTURED]
    assert "rules/snomed_pain_map.yaml" in report.versions


def test_when_a_document_is_read_then_the_reader_is_thread_safe() -> None:
    data = cda()
    results: list[Document] = []
    threads = [threading.Thread(target=lambda: results.append(read_bytes(data))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(r.structured == results[0].structured for r in results)


def test_when_findings_are_merged_from_no_document_then_nothing_is_chosen() -> None:
    findings = merge([])
    assert findings.patient.person is None and findings.physician.person is None and not findings.diagnoses
