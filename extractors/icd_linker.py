"""Link a diagnosis mention to ICD-10-CM codes.

scispaCy's candidate generation (character 3-gram TF-IDF, nearest neighbours by cosine), rebuilt on scikit-learn
over the billable ICD-10-CM descriptions of simple_icd_10_cm plus the lexicon's terms and abbreviations. The lexicon
outranks the table: its rows get `LEXICON_BOOST` when ranking (the reported score stays the plain cosine).

Index: built lazily once per process. Decision: the WHOLE billable table (~74k descriptions) is indexed, not a few
chapters — mental-health and "other" diagnoses must link too so diagnoses[] is informative, and building takes about
1.5 s (measured; under the 3 s budget), so no on-disk cache is needed. `char_wb` n-grams are taken inside word
boundaries padded with spaces, so OCR slips ("fibromyalgla", "paln") still share most 3-grams with the right term.

Printed codes ("G90.512", "(M79.7)") are found by regex, validated against the table and take precedence over text
linking for the mention next to them (see extractors.diagnosis). The category always comes from `Policy.classify`.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from dataclasses import dataclass

import numpy as np
import simple_icd_10_cm as cm
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.policy import Lexicon, Policy, is_valid_code, load_lexicon, load_policy
from pipeline.types import Category

LEXICON_BOOST = 0.05  # ranking bonus of a lexicon row over a table row of about the same similarity
PRINTED_CODE = re.compile(r"(?<![A-Za-z0-9.])([A-TV-Z][0-9][0-9AB](?:\.[0-9A-Z]{1,4})?)(?![A-Za-z0-9])")

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One linked code. `score` is the cosine similarity 0..1 (1.0 for a printed, validated code)."""

    code: str
    description: str
    score: float
    category: Category
    source: str  # "lexicon" | "icd10cm" | "printed"


def describe(code: str) -> str | None:
    """The ICD-10-CM description of `code` (dots optional), None when the code is not in the table."""
    return str(cm.get_description(code.strip().upper())) if is_valid_code(code) else None


def with_dot(code: str) -> str:
    """Canonical dotted form ("G90512" → "G90.512")."""
    c = code.strip().upper().replace(".", "")
    return c if len(c) <= 3 else f"{c[:3]}.{c[3:]}"


def printed_codes(text: str) -> list[tuple[int, int, str]]:
    """(start, end, dotted code) of every printed ICD-10-CM code in `text` that exists in the table."""
    out: list[tuple[int, int, str]] = []
    for m in PRINTED_CODE.finditer(text):
        if is_valid_code(m.group(1)):
            out.append((m.start(1), m.end(1), with_dot(m.group(1))))
    return out


def _normalise(s: str) -> str:
    return " ".join(s.lower().split())


class IcdIndex:
    """The TF-IDF index; rows are (code, description, source)."""

    def __init__(self, lexicon: Lexicon) -> None:
        t0 = time.perf_counter()
        rows: list[tuple[str, str, str]] = []
        for entry in lexicon.entries:
            code = with_dot(entry.code)
            for term in (*entry.terms, *entry.abbreviations):
                rows.append((code, term, "lexicon"))
        for code in cm.get_all_codes(True):
            if "-" not in code and cm.is_category_or_subcategory(code) and cm.is_leaf(code):
                rows.append((code, str(cm.get_description(code)), "icd10cm"))
        self.codes = [r[0] for r in rows]
        self.texts = [r[1] for r in rows]
        self.sources = [r[2] for r in rows]
        self._boost = np.array([LEXICON_BOOST if s == "lexicon" else 0.0 for s in self.sources])
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), lowercase=True,
                                          preprocessor=_normalise, dtype=np.float32)
        self.matrix: csr_matrix = self.vectorizer.fit_transform(self.texts).tocsr()  # rows are L2-normalised
        self._matrix_t: csr_matrix = self.matrix.T.tocsr()  # transposed once: a per-query transpose costs ~40 ms
        self.build_seconds = time.perf_counter() - t0
        log.info("icd index: %d rows built in %.2f s", len(rows), self.build_seconds)

    def query(self, texts: list[str], k: int) -> list[list[tuple[int, float]]]:
        """Top-k (row, cosine) per query text, ranked with the lexicon boost."""
        q = self.vectorizer.transform(texts)
        sims = (q @ self._matrix_t).tocsr()  # cosine: both sides are L2-normalised; stays sparse (fast)
        out: list[list[tuple[int, float]]] = []
        for r in range(sims.shape[0]):
            lo, hi = sims.indptr[r], sims.indptr[r + 1]
            cols, vals = sims.indices[lo:hi], sims.data[lo:hi]
            if len(cols) == 0:
                out.append([])
                continue
            ranked = vals + self._boost[cols]
            n = min(k * 4, len(cols))
            top = np.argpartition(-ranked, n - 1)[:n]
            top = top[np.argsort(-ranked[top])]
            out.append([(int(cols[i]), float(vals[i])) for i in top])
        return out


class Linker:
    """Links mention text to ICD-10-CM candidates, classified by the policy."""

    def __init__(self, policy: Policy, lexicon: Lexicon) -> None:
        self.policy = policy
        self.lexicon = lexicon
        self._index: IcdIndex | None = None

    @property
    def index(self) -> IcdIndex:
        """The index, built on first use."""
        if self._index is None:
            self._index = IcdIndex(self.lexicon)
        return self._index

    def link_many(self, texts: list[str], k: int = 5, min_score: float | None = None) -> list[list[Candidate]]:
        """`link` for several texts in one matrix product."""
        if not texts:
            return []
        t = self.policy.thresholds
        # A lexicon row links at link_min_score; a table row needs link_min_score_table (table descriptions are long
        # and share 3-grams with everyday words: "left knee" is 0.75 from "bursitis of knee, left knee").
        lex_min = t.link_min_score if min_score is None else min_score
        table_min = t.link_min_score_table if min_score is None else min_score
        idx = self.index
        results: list[list[Candidate]] = []
        for hits in idx.query(texts, k):
            seen: set[str] = set()
            cands: list[Candidate] = []
            for row, score in hits:
                code = idx.codes[row]
                if score < (lex_min if idx.sources[row] == "lexicon" else table_min) or code in seen:
                    continue
                seen.add(code)
                cands.append(Candidate(code, describe(code) or idx.texts[row], round(score, 4),
                                       self.policy.classify(code), idx.sources[row]))
                if len(cands) == k:
                    break
            results.append(cands)
        return results

    def link(self, mention_text: str, k: int = 5, min_score: float | None = None) -> list[Candidate]:
        """Candidates for `mention_text`, best first, at or above the policy's link_min_score (or `min_score`)."""
        return self.link_many([mention_text], k, min_score)[0]

    def printed(self, code: str) -> Candidate | None:
        """A Candidate for a printed code when it exists in ICD-10-CM, else None."""
        desc = describe(code)
        if desc is None:
            return None
        return Candidate(with_dot(code), desc, 1.0, self.policy.classify(code), "printed")


@functools.cache
def get_linker() -> Linker:
    """The process-wide linker for the default policy and lexicon (index built on first `link`)."""
    return Linker(load_policy(), load_lexicon())


def link(mention_text: str) -> list[Candidate]:
    """Link with the process-wide linker (see `Linker.link`)."""
    return get_linker().link(mention_text)
