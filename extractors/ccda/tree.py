"""Safe XML parsing and the hl7 v3 tree helpers every C-CDA reading step shares (paths, ancestors, text, evidence)."""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element, ParseError

import defusedxml
from defusedxml import ElementTree as SafeET

from pipeline.errors import UnreadableFile, UnsafeXml
from pipeline.types import Adjustment, Evidence, Source

FINDER = "ccda"
HL7 = "urn:hl7-org:v3"
_N = "{" + HL7 + "}"
_SDTC = "{urn:hl7-org:sdtc}"


def parse_xml(data: bytes) -> Element:
    """Parse XML safely: any DTD (so every entity) is refused. Raises UnsafeXml, UnreadableFile."""
    try:
        return SafeET.fromstring(data, forbid_dtd=True)  # type: ignore[no-any-return]
    except defusedxml.DefusedXmlException as e:  # DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
        raise UnsafeXml(type(e).__name__) from e
    except ParseError as e:
        raise UnreadableFile(f"XML not well-formed (line {e.position[0]})") from e
    # LookupError: an XML declaration naming an unknown encoding (found by fuzzing:
    # tests/hostile/regressions/ccda-unknown-encoding.xml).
    except (ValueError, LookupError, RecursionError) as e:
        raise UnreadableFile(f"XML not readable ({type(e).__name__})") from e


def hl7(tag: str) -> str:
    """The qualified name of an hl7 v3 element ("observation" → "{urn:hl7-org:v3}observation")."""
    return _N + tag


def local(tag: str) -> str:
    """A tag without its namespace."""
    return tag.rsplit("}", 1)[-1]


def h(path: str) -> str:
    """An ElementPath in the hl7 v3 namespace: "a/b" → "{urn:hl7-org:v3}a/{urn:hl7-org:v3}b"."""
    return "/".join(step if step in (".", "..") else _N + step for step in path.split("/"))


def templates(el: Element) -> set[str]:
    """The templateId roots of an element."""
    return {t.get("root", "") for t in el.findall(h("templateId"))}


def text(el: Element | None) -> str:
    """All text inside an element, whitespace collapsed ("" for None)."""
    return " ".join("".join(el.itertext()).split()) if el is not None else ""


def _step_name(tag: str) -> str:
    if tag.startswith(_N):
        return tag[len(_N):]
    if tag.startswith(_SDTC):
        return "sdtc:" + tag.split("}", 1)[1]
    return local(tag)


class Tree:
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
        """The element's parent, its parent's parent, … up to the root."""
        node = self.parent.get(el)
        while node is not None:
            yield node
            node = self.parent.get(node)

    def evidence(self, el: Element, snippet: str, score: float, adjustments: tuple[Adjustment, ...] = ()) -> Evidence:
        """Structured evidence pointing at `el` (rule = its element path; no page, no box)."""
        return Evidence(finder=FINDER, rule=self.path(el), page=None, bbox=None, snippet=snippet,
                        source=Source.STRUCTURED, original_score=score, adjustments=adjustments)
