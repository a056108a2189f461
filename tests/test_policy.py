"""pipeline.policy: every row of docs/POLICY.md, specific-beats-broad, and strict validation of the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.policy import DEFAULT_POLICY_PATH, load_lexicon, load_policy, parse_lexicon, parse_policy
from pipeline.types import Category, Payer

ROWS = [
    # crps
    ("G90.50", Category.CRPS), ("G90.512", Category.CRPS), ("G56.41", Category.CRPS), ("G57.72", Category.CRPS),
    ("M89.00", Category.CRPS),
    # fibromyalgia
    ("M79.7", Category.FIBROMYALGIA),
    # migraine
    ("G43.009", Category.MIGRAINE), ("G43.909", Category.MIGRAINE), ("G43.709", Category.MIGRAINE),
    ("G43.B0", Category.MIGRAINE), ("G43.E01", Category.MIGRAINE),
    # neuropathic
    ("G50.0", Category.NEUROPATHIC_PAIN), ("G51.0", Category.NEUROPATHIC_PAIN), ("G53", Category.NEUROPATHIC_PAIN),
    ("G54.6", Category.NEUROPATHIC_PAIN), ("G55", Category.NEUROPATHIC_PAIN), ("G56.01", Category.NEUROPATHIC_PAIN),
    ("G57.11", Category.NEUROPATHIC_PAIN), ("G58.9", Category.NEUROPATHIC_PAIN), ("G60.0", Category.NEUROPATHIC_PAIN),
    ("G62.9", Category.NEUROPATHIC_PAIN), ("G64", Category.NEUROPATHIC_PAIN), ("E08.40", Category.NEUROPATHIC_PAIN),
    ("E10.42", Category.NEUROPATHIC_PAIN), ("E11.42", Category.NEUROPATHIC_PAIN), ("E13.44", Category.NEUROPATHIC_PAIN),
    ("B02.29", Category.NEUROPATHIC_PAIN), ("M54.16", Category.NEUROPATHIC_PAIN), ("M54.31", Category.NEUROPATHIC_PAIN),
    ("M54.42", Category.NEUROPATHIC_PAIN), ("M54.81", Category.NEUROPATHIC_PAIN), ("M79.2", Category.NEUROPATHIC_PAIN),
    ("G89.0", Category.NEUROPATHIC_PAIN),
    # other pain
    ("G89.11", Category.OTHER_PAIN), ("G89.29", Category.OTHER_PAIN), ("G89.3", Category.OTHER_PAIN),
    ("G89.4", Category.OTHER_PAIN), ("G44.209", Category.OTHER_PAIN), ("R51.9", Category.OTHER_PAIN),
    ("M54.50", Category.OTHER_PAIN), ("M54.2", Category.OTHER_PAIN), ("M79.10", Category.OTHER_PAIN),
    ("M79.601", Category.OTHER_PAIN), ("M25.561", Category.OTHER_PAIN), ("M96.1", Category.OTHER_PAIN),
    ("R52", Category.OTHER_PAIN), ("R07.9", Category.OTHER_PAIN), ("R10.9", Category.OTHER_PAIN),
    # mental health
    ("F20.9", Category.MENTAL_HEALTH), ("F32.9", Category.MENTAL_HEALTH), ("F33.2", Category.MENTAL_HEALTH),
    ("F31.9", Category.MENTAL_HEALTH), ("F43.10", Category.MENTAL_HEALTH), ("F41.1", Category.MENTAL_HEALTH),
    ("F48.9", Category.MENTAL_HEALTH), ("F50.00", Category.MENTAL_HEALTH), ("F69", Category.MENTAL_HEALTH),
    ("R45.851", Category.MENTAL_HEALTH), ("T14.91XA", Category.MENTAL_HEALTH),
    # other
    ("I10", Category.OTHER), ("E11.9", Category.OTHER), ("G47.00", Category.OTHER), ("F17.210", Category.OTHER),
    ("F70", Category.OTHER),
]


@pytest.mark.parametrize(("code", "category"), ROWS)
def test_when_a_code_of_a_policy_row_is_classified_then_it_gets_that_rows_category(code: str,
                                                                                   category: Category) -> None:
    assert load_policy().classify(code) is category


SPECIFIC_BEATS_BROAD = [
    ("G43.A0", Category.OTHER),  # cyclical vomiting is not migraine
    ("G56.40", Category.CRPS),  # causalgia beats mononeuropathy G56
    ("G57.70", Category.CRPS),
    ("G56.00", Category.NEUROPATHIC_PAIN),
    ("M54.10", Category.NEUROPATHIC_PAIN),  # radiculopathy beats M54
    ("M54.30", Category.NEUROPATHIC_PAIN),
    ("M54.40", Category.NEUROPATHIC_PAIN),
    ("M54.81", Category.NEUROPATHIC_PAIN),
    ("M54.89", Category.OTHER_PAIN),  # M54 otherwise
    ("M54.9", Category.OTHER_PAIN),
    ("G89.0", Category.NEUROPATHIC_PAIN),  # central pain beats nothing broader, but G89.1-4 are other_pain
    ("E11.40", Category.NEUROPATHIC_PAIN),
    ("E11.49", Category.OTHER),  # E11.49 other diabetic neurological complication is outside .40-.44
    ("E11.65", Category.OTHER),
    ("B02.1", Category.OTHER),  # zoster meningitis is not B02.2
]


@pytest.mark.parametrize(("code", "category"), SPECIFIC_BEATS_BROAD)
def test_when_a_specific_and_a_broad_row_both_match_then_the_specific_one_wins(code: str, category: Category) -> None:
    assert load_policy().classify(code) is category


@pytest.mark.parametrize("code", ["g90.512", "G90512", " G90.512 "])
def test_when_a_code_is_written_without_dot_or_in_lower_case_then_it_classifies_the_same(code: str) -> None:
    assert load_policy().classify(code) is Category.CRPS


def test_when_the_default_policy_loads_then_thresholds_payers_and_hash_are_exposed() -> None:
    policy = load_policy()
    assert policy.non_billable_payers == frozenset({Payer.MEDICARE, Payer.MEDICAID, Payer.TRICARE, Payer.CHAMPVA,
                                                    Payer.SELF_PAY})
    assert 0 < policy.thresholds.link_min_score <= policy.thresholds.link_min_score_table <= 1
    assert policy.thresholds.name_match_min == 0.85
    assert len(policy.sha256) == 64
    assert load_policy() is policy  # cached


def _broken(replace: str, by: str) -> bytes:
    text = DEFAULT_POLICY_PATH.read_text()
    assert replace in text
    return text.replace(replace, by, 1).encode()


BAD_FILES = [
    ("unknown top-level key", _broken("version: 1", "version: 1\nextra_key: 2"), "extra_key"),
    ("unknown threshold", _broken("  near_tie_margin: 0.1", "  near_tie_margin: 0.1\n  bogus: 1"), "bogus"),
    ("bad code", _broken("    - M79.7\n", "    - M79.99\n"), "M79.99"),
    ("bad category", _broken("  fibromyalgia:", "  fibro:"), "fibro"),
    ("bad range", _broken("    - G43.0-G43.9", "    - G43.9-G43.0"), "G43.9-G43.0"),
    ("duplicate code", _broken("    - M79.7\n", "    - M79.7\n    - G90.5\n"), "G905"),
    ("bad payer", _broken("self_pay]", "self_pay, martian]"), "non_billable_payers"),
    ("not yaml", b"categories: [", "not valid YAML"),
]


@pytest.mark.parametrize(("case", "raw", "needle"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_when_the_policy_file_is_invalid_then_config_error_names_file_and_problem(case: str, raw: bytes,
                                                                                 needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_policy(raw, Path("pain_policy.yaml"))
    assert "pain_policy.yaml" in str(err.value) and needle in str(err.value)


def test_when_the_lexicon_loads_then_every_entry_is_valid() -> None:
    lexicon = load_lexicon()
    assert len(lexicon.entries) > 30 and len(lexicon.sha256) == 64


LEXICON_BAD = [
    ("unknown key", b"version: 1\nlimb_window: 3\nlimb_words: {right: [], left: [], bilateral: [], upper: [], "
                    b"lower: [], side_limb: {}}\nentries: [{code: M79.7, terms: [x], colour: red}]", "colour"),
    ("bad code", b"version: 1\nlimb_window: 3\nlimb_words: {right: [], left: [], bilateral: [], upper: [], "
                 b"lower: [], side_limb: {}}\nentries: [{code: M79.99, terms: [x]}]", "M79.99"),
]


@pytest.mark.parametrize(("case", "raw", "needle"), LEXICON_BAD, ids=[c[0] for c in LEXICON_BAD])
def test_when_the_lexicon_file_is_invalid_then_config_error_names_file_and_problem(case: str, raw: bytes,
                                                                                  needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_lexicon(raw, Path("pain_lexicon.yaml"))
    assert "pain_lexicon.yaml" in str(err.value) and needle in str(err.value)


@pytest.mark.parametrize(("code", "category"), [
    ("M53.3", Category.OTHER_PAIN),     # sacrococcygeal disorders, coccygodynia
    ("M46.1", Category.OTHER_PAIN),     # sacroiliitis
    ("I83.813", Category.OTHER),        # varicose veins of the lower limb with pain: not a pain diagnosis by itself
    ("I83.899", Category.OTHER),
    ("G54.0", Category.NEUROPATHIC_PAIN),  # thoracic outlet syndrome, as the policy is written
])
def test_when_a_code_of_the_policy_decisions_is_classified_then_it_follows_docs_policy(code: str,
                                                                                      category: Category) -> None:
    assert load_policy().classify(code) is category
