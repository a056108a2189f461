"""A small learned ranker for the treating-physician choice, over the people the rule-based finder found.

The people finder (`extractors.people`) gives each mention a role and a reason; this module groups the mentions by
person (`pipeline.names.same_person`), describes each person with layout and wording features, and scores them with
a logistic regression trained by `training/roles.py` (coefficients in `models/role_ranker/model.json`, never a
pickle). The best-scoring person is the treating physician when its probability reaches the model's threshold;
every choice says which features decided it.

Features per person (names as in `model.json`):

- `role:<role>`: the roles the rules gave any of their mentions (multi-hot), `rule:<id>` the rules that fired,
  `rules:chosen` whether `choose_treating_physician` picks them, `rules:confidence` their best rule confidence;
- `cred:physician|advanced_practice|nursing|none` credential kinds, `title:dr` a "Dr." title;
- `cue:sincerely|signed|dear|re|cc|from|to`: such a word on the name's line before it or on the two lines above;
- `ctx:<word>` words before the name (same line and two lines above), `after:<word>` words after it (rest of the
  line and the line below), both from a vocabulary fixed at training time;
- `pos:top_first`, `pos:top_last` the relative vertical position (bbox top / page height) of the first and last
  mention, `size:height` the name's word height over the page's median word height (a font-size proxy, largest
  mention), `count:mentions` log(1 + mentions), `page:first` named on page 1, `page:last_rel` relative page.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from extractors.people import SAME_PERSON_THRESHOLD, choose_treating_physician
from pipeline.errors import ConfigError
from pipeline.names import CredentialKind, credential_of, fold, parse_person_name, same_person
from pipeline.rulefiles import StrictRuleModel, read_rule_file, validation_summary
from pipeline.types import BBox, Document, Evidence, Page, PersonMention, Role, Word

DEFAULT_MODEL_PATH = Path(__file__).resolve().parents[1] / "models" / "role_ranker" / "model.json"
FORMAT = "docverify-role-ranker/1"

# Feature families: every feature name is "<family>:<value>".
FAMILIES = frozenset({"role", "rule", "rules", "cred", "title", "cue", "ctx", "after", "pos", "size", "count", "page"})

# Cue words looked for before a name (on its line, or on the two lines above).
CUES: dict[str, re.Pattern[str]] = {
    "sincerely": re.compile(r"\b(?:sincerely|regards|respectfully|yours truly|cordially)\b"),
    "signed": re.compile(r"\b(?:signed|signature|e-signed|esigned|electronically|authenticated|attested)\b"),
    "dear": re.compile(r"\bdear\b"),
    "re": re.compile(r"\bre\s*:"),
    "cc": re.compile(r"\b(?:cc|copy to|copies to)\s*:?"),
    "from": re.compile(r"\bfrom\s*:"),
    "to": re.compile(r"\b(?:to|attn|attention)\s*:"),
}
_TOKEN = re.compile(r"[a-z]+")
_CONTEXT_LINES_BEFORE = 2


# --------------------------------------------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------------------------------------------

def group_people(people: Sequence[PersonMention]) -> list[list[PersonMention]]:
    """The mentions grouped by person (whatever the role), in order of first appearance."""
    groups: list[list[PersonMention]] = []
    for p in people:
        for g in groups:
            if any(same_person(q.normalized, p.normalized, SAME_PERSON_THRESHOLD) for q in g):
                g.append(p)
                break
        else:
            groups.append([p])
    return groups


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(fold(text))


def _name_tokens(people: Sequence[PersonMention]) -> frozenset[str]:
    """Every word of every name found: context words never include names (no PHI in the vocabulary)."""
    return frozenset(t for p in people for t in _tokens(p.normalized) + _tokens(p.value) if t not in {"dr"})


@dataclass(frozen=True, slots=True)
class _Placed:
    """Where one evidence item's name sits on its page."""

    page: Page
    line: int
    first: int  # index in page.words of the name's first word
    last: int
    height: float


def _inside(w: Word, box: BBox) -> bool:
    cx, cy = (w.bbox.x0 + w.bbox.x1) / 2, (w.bbox.top + w.bbox.bottom) / 2
    return box.x0 - 1 <= cx <= box.x1 + 1 and box.top - 1 <= cy <= box.bottom + 1


def _place(document: Document, ev: Evidence, name_words: frozenset[str]) -> _Placed | None:
    if ev.page is None or ev.bbox is None or not 1 <= ev.page <= len(document.pages):
        return None
    page = document.pages[ev.page - 1]
    inside = [i for i, w in enumerate(page.words) if _inside(w, ev.bbox)]
    if not inside:
        return None
    line = max(page.words[i].line for i in inside)  # the name ends the evidence span: its line is the last one
    on_line = [i for i in inside if page.words[i].line == line]
    named = [i for i in on_line if set(_tokens(page.words[i].text)) & name_words] or on_line
    first, last = min(named), max(named)
    heights = [page.words[i].bbox.bottom - page.words[i].bbox.top for i in named]
    return _Placed(page, line, first, last, statistics.median(heights))


def _median_height(page: Page) -> float:
    heights = [w.bbox.bottom - w.bbox.top for w in page.words]
    return statistics.median(heights) if heights else 1.0


def _context(placed: _Placed) -> tuple[str, str]:
    """(text before the name: its line up to it and the lines above; text after it: rest of line and line below)."""
    words = placed.page.words
    before = [w.text for i, w in enumerate(words)
              if (placed.line - _CONTEXT_LINES_BEFORE <= w.line < placed.line)
              or (w.line == placed.line and i < placed.first)]
    after = [w.text for i, w in enumerate(words)
             if (w.line == placed.line and i > placed.last) or w.line == placed.line + 1]
    return " ".join(before), " ".join(after)


def person_features(document: Document, group: Sequence[PersonMention], people: Sequence[PersonMention],
                    chosen: PersonMention | None = None) -> dict[str, float]:
    """The features of one person (`group`: their mentions) among `people` of `document`.

    `chosen`: the rules' treating physician (computed when omitted)."""
    if chosen is None:
        chosen = choose_treating_physician(people).person
    f: dict[str, float] = {}
    for p in group:
        f[f"role:{p.role.value}"] = 1.0
        for ev in p.evidence:
            f[f"rule:{ev.rule}"] = 1.0
    if chosen is not None and any(same_person(p.normalized, chosen.normalized, SAME_PERSON_THRESHOLD)
                                  for p in group):
        f["rules:chosen"] = 1.0
    f["rules:confidence"] = max(p.confidence for p in group)
    kinds: set[CredentialKind] = set()
    titled = False
    for p in group:
        for c in p.credentials:
            hit = credential_of(c)
            if hit is not None:
                kinds.add(hit[1])
        name = parse_person_name(p.value)
        titled = titled or (name is not None and name.has_physician_title())
    for kind in kinds:
        f[f"cred:{kind.value.lower()}"] = 1.0
    if not kinds:
        f["cred:none"] = 1.0
    if titled:
        f["title:dr"] = 1.0
    own = frozenset(t for p in group for t in _tokens(p.normalized) + _tokens(p.value))
    names = _name_tokens(people)
    evidence = [ev for p in group for ev in p.evidence]
    f["count:mentions"] = math.log1p(len(evidence))
    placed = [x for x in (_place(document, ev, own) for ev in evidence) if x is not None]
    placed.sort(key=lambda x: (x.page.number, x.line))
    n_pages = max(1, len(document.pages))
    if placed:
        f["pos:top_first"] = placed[0].page.words[placed[0].first].bbox.top / placed[0].page.height
        f["pos:top_last"] = placed[-1].page.words[placed[-1].first].bbox.top / placed[-1].page.height
        f["size:height"] = max(x.height / max(_median_height(x.page), 1e-6) for x in placed)
        f["page:first"] = 1.0 if placed[0].page.number == 1 else 0.0
        f["page:last_rel"] = (placed[-1].page.number - 1) / n_pages
    else:
        f["pos:top_first"] = f["pos:top_last"] = 0.5
        f["size:height"] = 1.0
        f["page:first"] = 1.0 if any(ev.page == 1 for ev in evidence) else 0.0
        f["page:last_rel"] = 0.0
    for x in placed:
        before, after = _context(x)
        folded = fold(before)
        for cue, pattern in CUES.items():
            if pattern.search(folded):
                f[f"cue:{cue}"] = 1.0
        for t in _tokens(before):
            if len(t) > 1 and t not in names:
                f[f"ctx:{t}"] = 1.0
        for t in _tokens(after):
            if len(t) > 1 and t not in names:
                f[f"after:{t}"] = 1.0
    return f


# --------------------------------------------------------------------------------------------------------------
# The model file
# --------------------------------------------------------------------------------------------------------------

class TrainingInfo(StrictRuleModel):
    """What the model was trained on, when, and its cross-validated figures."""

    data: str = Field(min_length=1)
    documents: int = Field(ge=1)
    candidates: int = Field(ge=1)
    trained_on: dt.date
    cross_validation: dict[str, float]


class RankerModel(StrictRuleModel):
    """`models/role_ranker/model.json`: a standardised logistic regression over named features."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    format: Literal["docverify-role-ranker/1"]
    feature_names: list[str] = Field(min_length=1)
    means: list[float]
    scales: list[float]
    coefficients: list[float]
    intercept: float
    threshold: float = Field(ge=0.0, le=1.0)
    training: TrainingInfo

    @field_validator("feature_names")
    @classmethod
    def _known_families(cls, v: list[str]) -> list[str]:
        bad = [n for n in v if n.partition(":")[0] not in FAMILIES or not n.partition(":")[2]]
        if bad:
            raise ValueError(f"{len(bad)} feature names are not '<family>:<value>' with a known family")
        if len(set(v)) != len(v):
            raise ValueError("feature names must be unique")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> RankerModel:
        n = len(self.feature_names)
        for key in ("means", "scales", "coefficients"):
            if len(getattr(self, key)) != n:
                raise ValueError(f"{key} has {len(getattr(self, key))} values for {n} features")
        values = [*self.means, *self.scales, *self.coefficients, self.intercept]
        if not all(math.isfinite(x) for x in values):
            raise ValueError("every number must be finite")
        if any(s <= 0 for s in self.scales):
            raise ValueError("scales must be positive")
        return self

    def contributions(self, features: dict[str, float]) -> list[tuple[str, float]]:
        """(feature, coefficient × standardised value) for every feature of the model."""
        return [(name, coef * (features.get(name, 0.0) - mean) / scale)
                for name, mean, scale, coef in zip(self.feature_names, self.means, self.scales, self.coefficients,
                                                   strict=True)]

    def probability(self, features: dict[str, float]) -> float:
        """P(treating physician) for one person's features."""
        z = self.intercept + sum(c for _, c in self.contributions(features))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def parse_role_ranker(raw: bytes, path: Path) -> RankerModel:
    """Validate the bytes of a model file; ConfigError naming the file and the problem."""
    import json

    try:
        data = json.loads(raw)
    except ValueError as e:
        raise ConfigError(f"{path.name}: not valid JSON ({type(e).__name__})") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name}: top level must be a mapping")
    if isinstance(data.get("training"), dict) and isinstance(data["training"].get("trained_on"), str):
        # JSON has no date type: the ISO string is the one value strict mode must convert.
        try:
            data["training"]["trained_on"] = dt.date.fromisoformat(data["training"]["trained_on"])
        except ValueError as e:
            raise ConfigError(f"{path.name}: training.trained_on: not an ISO date") from e
    try:
        return RankerModel.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{path.name}: {validation_summary(e)}") from e


@functools.lru_cache(maxsize=4)
def load_role_ranker(path: Path = DEFAULT_MODEL_PATH) -> RankerModel:
    """The ranker saved at `path` (cached); raises ConfigError for a missing, unreadable or invalid file."""
    return parse_role_ranker(read_rule_file(path, "role ranker model"), path)


# --------------------------------------------------------------------------------------------------------------
# Ranking
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RankedChoice:
    """The ranker's treating physician (None below the threshold), its probability, why, and the runner-up's."""

    person: PersonMention | None
    probability: float
    reason: str
    runner_up_probability: float


_CUE_TEXT = {"sincerely": "'Sincerely'/'Regards' above or before the name", "signed": "a 'signed' cue before the name",
             "dear": "'Dear' before the name", "re": "'RE:' before the name", "cc": "'cc:' before the name",
             "from": "'From:' before the name", "to": "'To:'/'Attn:' before the name"}


def describe_feature(name: str) -> str:
    """A reader's phrase for a feature name."""
    family, _, value = name.partition(":")
    match family:
        case "role":
            return f"rule role {value.replace('_', ' ')}"
        case "rule":
            return f"rule '{value}'"
        case "rules":
            return "the rules' own choice" if value == "chosen" else "rule confidence"
        case "cred":
            return "no credential" if value == "none" else f"{value.replace('_', ' ')} credential"
        case "title":
            return "'Dr.' title"
        case "cue":
            return _CUE_TEXT.get(value, f"cue '{value}'")
        case "ctx":
            return f"'{value}' before the name"
        case "after":
            return f"'{value}' after the name"
        case "pos":
            return "position on the page" if value == "top_first" else "position of the last mention"
        case "size":
            return "word height"
        case "count":
            return "number of mentions"
        case _:
            return "page"


def _top(contribs: list[tuple[str, float]], k: int, positive: bool) -> str:
    ordered = sorted((c for c in contribs if (c[1] > 0) == positive and abs(c[1]) >= 0.05),
                     key=lambda c: (-abs(c[1]), c[0]))[:k]
    return ", ".join(f"{describe_feature(n)} ({v:+.2f})" for n, v in ordered) or "no single feature"


def _representative(group: Sequence[PersonMention]) -> PersonMention:
    treating = [p for p in group if p.role is Role.TREATING_PHYSICIAN]
    return max(treating or group, key=lambda p: p.confidence)


def rank_treating_physician(document: Document, people: Sequence[PersonMention],
                            model: RankerModel | None = None) -> RankedChoice:
    """The treating physician among `people` by the learned ranker, with the features that decided it.

    Raises ConfigError when the bundled model file is invalid."""
    model = model or load_role_ranker()
    groups = group_people(people)
    if not groups:
        return RankedChoice(None, 0.0, "No treating physician: no person is named.", 0.0)
    chosen = choose_treating_physician(people).person
    scored = []
    for i, g in enumerate(groups):
        feats = person_features(document, g, people, chosen)
        scored.append((model.probability(feats), -i, g, feats))
    scored.sort(key=lambda s: (s[0], s[1]), reverse=True)
    best_p, _, best_g, best_f = scored[0]
    runner = scored[1][0] if len(scored) > 1 else 0.0
    contribs = model.contributions(best_f)
    n = len(groups)
    if best_p >= model.threshold:
        reason = (f"Ranked first of {n} people named (p={best_p:.2f}, runner-up p={runner:.2f}, threshold "
                  f"{model.threshold:.2f}) by: {_top(contribs, 3, True)}.")
        against = _top(contribs, 2, False)
        if against != "no single feature":
            reason += f" Against: {against}."
        return RankedChoice(_representative(best_g), round(best_p, 4), reason, round(runner, 4))
    reason = (f"No treating physician: the best of {n} people named scores p={best_p:.2f}, below the threshold "
              f"{model.threshold:.2f}; held back by: {_top(contribs, 3, False)}.")
    return RankedChoice(None, round(best_p, 4), reason, round(runner, 4))
