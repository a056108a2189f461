"""find_people: every person a parsed document names, with role, confidence, evidence and reason."""

from __future__ import annotations

import dataclasses

from extractors.nlp import ParsedText
from extractors.people.candidates import _credentialed_line_candidates, _line_candidates, _spacy_candidates
from extractors.people.cells import _Cells
from extractors.people.matcher import _matcher
from extractors.people.ocr_labels import repaired_labels
from extractors.people.roles import _Found, _group_by_person, _merge_group, _role_priority, _to_mention
from extractors.people.weights import SAME_PERSON_THRESHOLD
from pipeline.names import NameRules, default_name_rules, same_person
from pipeline.types import PersonMention


def find_people(parsed: ParsedText, rules: NameRules | None = None) -> tuple[PersonMention, ...]:
    """Every person named in the parsed document, with role, normalized name, confidence, evidence and reason.

    Raises ConfigError when the bundled name rules are invalid.
    """
    rules = rules or default_name_rules()
    m = _matcher(rules)
    text = parsed.text
    labels = repaired_labels(text, m)  # the cue matching's copy: "Treating physikian" read as its label
    cells = _Cells(text)
    candidates = _line_candidates(labels, rules, m, cells)
    if labels is not text.text:
        candidates = [dataclasses.replace(c, cue_repaired=True)
                      if labels[c.cue_start:c.cue_end or c.start] != text.text[c.cue_start:c.cue_end or c.start]
                      else c for c in candidates]
    items = [x for x in (_to_mention(c, text, rules) for c in candidates) if x is not None]
    spacy = [(c, _to_mention(c, text, rules)) for c in
             _spacy_candidates(parsed, [(c.start, c.end) for c in candidates], rules, m)]
    items += [x for _, x in spacy if x is not None]
    # Only a spaCy entity that became a person holds its line: "won Kim" cut from "jJae-won Kim, MD" by avatar debris
    # is no name, and must not keep the whole credentialed line from being read.
    candidates += [c for c, x in spacy if x is not None]
    lined = _credentialed_line_candidates(labels, [(c.start, c.end) for c in candidates], rules, m, cells)
    items += [x for x in (_to_mention(c, text, rules) for c in lined) if x is not None]
    layout = [x for x in items if not x.fallback]
    # A fallback mention of someone a layout rule already found ("Dr. Doe" in the narrative after "Provider:
    # Jane Doe, MD") supports that finding instead of standing alone.
    for fb in (x for x in items if x.fallback):
        owners = [x for x in layout
                  if same_person(x.mention.normalized, fb.mention.normalized, SAME_PERSON_THRESHOLD)]
        if owners:
            owner = max(owners, key=lambda x: _role_priority(x.mention.role)).mention
            layout.append(_Found(dataclasses.replace(fb.mention, role=owner.role, confidence=owner.confidence),
                                 fb.start, False))
        else:
            layout.append(fb)
    merged = [_merge_group(g) for g in _group_by_person(layout)]
    return tuple(found.mention for found in sorted(merged, key=lambda x: x.start))
