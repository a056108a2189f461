"""pipeline/codes.py: the one ICD-10-CM formatting and the SNOMED CT identifier check."""

from __future__ import annotations

import pytest

from pipeline.codes import icd10_category, icd10_dotless, icd10_dotted, snomed_id_is_valid, verhoeff_valid


@pytest.mark.parametrize(("code", "dotted", "dotless"), [
    ("m5450", "M54.50", "M5450"),
    (" g90.512 ", "G90.512", "G90512"),
    ("G90", "G90", "G90"),
    ("S52501A", "S52.501A", "S52501A"),
    ("T40.2X1A", "T40.2X1A", "T402X1A"),
    ("", "", ""),
])
def test_when_a_code_is_formatted_then_it_has_one_dot_after_the_category_or_none(code: str, dotted: str,
                                                                                  dotless: str) -> None:
    assert icd10_dotted(code) == dotted
    assert icd10_dotless(code) == dotless
    assert icd10_dotted(icd10_dotted(code)) == dotted  # idempotent


def test_when_a_category_is_asked_then_it_is_the_first_three_characters_dotless() -> None:
    assert icd10_category("m54.50") == "M54" and icd10_category("R52") == "R52"


@pytest.mark.parametrize(("sctid", "valid"), [
    ("29857009", True),  # chest pain
    ("279039007", True),  # low back pain
    ("29857008", False),  # wrong check digit
    ("12345", False),  # too short
    ("0298570090", False),  # leading zero
    ("2985700x", False),
])
def test_when_a_snomed_id_is_checked_then_the_verhoeff_digit_and_length_decide(sctid: str, valid: bool) -> None:
    assert snomed_id_is_valid(sctid) is valid


def test_when_verhoeff_is_checked_then_the_published_example_passes() -> None:
    assert verhoeff_valid("2363") and not verhoeff_valid("2364")
