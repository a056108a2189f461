"""Read the public NER corpora (BC5CDR, NCBI-disease) and write spaCy DocBins with the corpora's own splits.

Both corpora are PubTator files: `PMID|t|title`, `PMID|a|abstract`, then one tab-separated line per mention
(PMID, start, end, mention, type, concept id) with character offsets into `title + " " + abstract`; relation lines
(`PMID<TAB>CID<TAB>…`) are skipped. Types map to the two labels scispaCy's en_ner_bc5cdr_md used: DISEASE and
CHEMICAL (every NCBI-disease type — SpecificDisease, DiseaseClass, Modifier, CompositeMention — is DISEASE).

Documents are whole abstracts tokenised by the model's own tokenizer (scispaCy's rule tokenizer, which splits
"[3H]-naloxone" and "5-HT-induced" where the annotators put boundaries). A gold span that does not fall on token
boundaries is widened to the covering tokens for training (`alignment_mode="expand"`) and counted; evaluation
always compares exact character offsets against the original annotation, so a misalignment costs recall there.

Licences: both corpora are US Government works under the NCBI public-domain notice (see each SOURCE.md); the
citations they request are in training/README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span
from spacy.util import registry

from pipeline.settings import Settings


def default_root() -> Path:
    """The corpora folder of the settings (DOCVERIFY_CORPORA, default ../shared/corpora beside the clone). The
    training modules are run as scripts, so each is an entry point: the settings are built when a script asks."""
    return Settings().corpora

# corpus → split → file name under <corpora root>/<corpus>/
SPLITS: dict[str, dict[str, str]] = {
    "bc5cdr": {"train": "CDR_TrainingSet.PubTator.txt", "dev": "CDR_DevelopmentSet.PubTator.txt",
               "test": "CDR_TestSet.PubTator.txt"},
    "ncbi": {"train": "NCBItrainset_corpus.txt", "dev": "NCBIdevelopset_corpus.txt",
             "test": "NCBItestset_corpus.txt"},
}
CORPUS_DIR = {"bc5cdr": "bc5cdr", "ncbi": "ncbi-disease"}
TYPE_TO_LABEL = {"Chemical": "CHEMICAL", "Disease": "DISEASE", "SpecificDisease": "DISEASE",
                 "DiseaseClass": "DISEASE", "Modifier": "DISEASE", "CompositeMention": "DISEASE"}


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    text: str
    label: str


@dataclass
class Abstract:
    pmid: str
    text: str
    mentions: list[Mention] = field(default_factory=list)


def corpus_path(corpus: str, split: str, root: Path | None = None) -> Path:
    """The file of one split of one corpus under `root` (default: `default_root()`)."""
    return (root or default_root()) / CORPUS_DIR[corpus] / SPLITS[corpus][split]


def read_pubtator(path: Path) -> Iterator[Abstract]:
    """Yield each abstract with its mentions; a mention whose text disagrees with its offsets is an error."""
    title: dict[str, str] = {}
    current: Abstract | None = None
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.rstrip("\n")
        if not line.strip():
            continue
        if "|t|" in line[:20]:
            pmid, _, text = line.split("|", 2)
            title[pmid] = text
            continue
        if "|a|" in line[:20]:
            pmid, _, text = line.split("|", 2)
            if current is not None:
                yield current
            current = Abstract(pmid, title.pop(pmid) + " " + text)
            continue
        parts = line.split("\t")
        if len(parts) >= 5 and parts[1].isdigit() and current is not None and parts[0] == current.pmid:
            start, end, mention, kind = int(parts[1]), int(parts[2]), parts[3], parts[4]
            if current.text[start:end].strip() != mention.strip():  # NCBI pads a few mentions with spaces
                raise ValueError(f"{path.name}:{lineno}: offsets {start}-{end} do not hold the mention text")
            current.mentions.append(Mention(start, end, mention, TYPE_TO_LABEL[kind]))
        # relation lines (PMID CID chem disease) and anything else are not NER annotation
    if current is not None:
        yield current


def read_split(corpus: str, split: str, root: Path | None = None) -> list[Abstract]:
    """One split, each PMID once (NCBI's training file holds PMID 8528200 twice; the first copy is kept)."""
    seen: set[str] = set()
    out = []
    for abstract in read_pubtator(corpus_path(corpus, split, root)):
        if abstract.pmid in seen:
            continue
        seen.add(abstract.pmid)
        out.append(abstract)
    return out


def test_pmids(root: Path | None = None) -> set[str]:
    """Every PMID in any corpus's test split: never trained on, never used as raw text for vectors."""
    return {a.pmid for corpus in SPLITS for a in read_split(corpus, "test", root)}


@dataclass
class Alignment:
    mentions: int = 0
    exact: int = 0
    expanded: int = 0
    overlapping_dropped: int = 0


def to_doc(nlp: Language, abstract: Abstract, stats: Alignment, labels: frozenset[str]) -> Doc:
    doc = nlp.make_doc(abstract.text)
    spans: list[Span] = []
    for m in sorted(abstract.mentions, key=lambda m: (m.start, -m.end)):
        if m.label not in labels:
            continue
        stats.mentions += 1
        span = doc.char_span(m.start, m.end, label=m.label)
        if span is not None:
            stats.exact += 1
        else:
            span = doc.char_span(m.start, m.end, label=m.label, alignment_mode="expand")
            stats.expanded += 1
        if span is None:
            continue
        if spans and span.start < spans[-1].end:  # nested/overlapping gold (rare): keep the first, longest
            stats.overlapping_dropped += 1
            continue
        spans.append(span)
    doc.ents = spans
    doc.user_data["pmid"] = abstract.pmid
    return doc


# Split on every hyphen, slash, bracket, plus, comma, colon, semicolon, equals and quote, wherever it is: annotators put
# boundaries inside "doxorubicin-induced", "ergotamine/caffeine", "[3H]-naloxone" and "Mg+2", and spaCy's NER can only
# predict whole tokens. spaCy's English rules keep such words whole (9% of BC5CDR gold spans would not align;
# scispaCy's rule tokenizer is no better, by design). The rules are saved in the model's tokenizer file, so loading
# a trained model needs no code from here.
SPLIT_CHARS = r"""\-/()\[\]{}+,:;=<>~*'"%&|"""


def configure_tokenizer(nlp: Language) -> Language:
    """Give `nlp` the NER tokenizer: spaCy's English rules plus SPLIT_CHARS as affixes and infixes, and a final full
    stop always split off ("protein S." → "protein S", ".")."""
    from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex

    split = f"[{SPLIT_CHARS}]"
    tokenizer: Any = nlp.tokenizer
    defaults: Any = nlp.Defaults
    tokenizer.prefix_search = compile_prefix_regex([split, *defaults.prefixes]).search
    tokenizer.suffix_search = compile_suffix_regex([split, r"\.", *defaults.suffixes]).search
    tokenizer.infix_finditer = compile_infix_regex([split, *defaults.infixes]).finditer
    tokenizer.rules = {}  # no special cases: "can't"-style exceptions would keep punctuation inside tokens
    return nlp


def blank_nlp() -> Language:
    return configure_tokenizer(spacy.blank("en"))


@registry.callbacks("docverify.ner_tokenizer.v1")  # type: ignore[untyped-decorator]
def ner_tokenizer_callback() -> Callable[[Language], Language]:
    """[initialize.before_init] callback of training/ner.cfg: training runs with the tokenizer the corpus was
    converted with, and the trained model saves it (no code is needed to load the model)."""
    return configure_tokenizer


def convert(corpus: str, out_dir: Path, root: Path | None = None) -> dict[str, dict[str, int]]:
    nlp = blank_nlp()
    labels = frozenset({"DISEASE", "CHEMICAL"} if corpus == "bc5cdr" else {"DISEASE"})
    held_out = test_pmids(root)
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, dict[str, int]] = {}
    for split in ("train", "dev", "test"):
        stats = Alignment()
        abstracts = read_split(corpus, split, root)
        if split != "test":  # another corpus's test abstract must not be trained on (BC5CDR and NCBI share PMIDs)
            abstracts = [a for a in abstracts if a.pmid not in held_out]
        db = DocBin(store_user_data=True)
        for abstract in abstracts:
            db.add(to_doc(nlp, abstract, stats, labels))
        db.to_disk(out_dir / f"{corpus}-{split}.spacy")
        report[split] = {"abstracts": len(abstracts), **stats.__dict__}
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("var/ner/corpus"))
    ap.add_argument("--corpora", type=Path, default=None, help="default: DOCVERIFY_CORPORA or ../shared/corpora")
    args = ap.parse_args(argv)
    for corpus in SPLITS:
        print(corpus, json.dumps(convert(corpus, args.out, args.corpora)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
