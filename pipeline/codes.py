"""Pure code helpers: the printed forms of an ICD-10-CM code and the SNOMED CT identifier check (no tables here)."""

from __future__ import annotations


def icd10_dotless(code: str) -> str:
    """Dotless, upper-case, stripped form of an ICD-10-CM code ("g90.512 " → "G90512")."""
    return code.strip().upper().replace(".", "")


def icd10_dotted(code: str) -> str:
    """Canonical printed form: upper-case, with the dot after the category ("m5450" → "M54.50", "g90" → "G90")."""
    c = icd10_dotless(code)
    return c if len(c) <= 3 else f"{c[:3]}.{c[3:]}"


def icd10_category(code: str) -> str:
    """The three-character category of an ICD-10-CM code, dotless ("M54.50" → "M54")."""
    return icd10_dotless(code)[:3]


# Verhoeff's dihedral-group tables: _D is the group's multiplication, _P the position permutation (applied i mod 8
# times to the i-th digit from the right).
_VERHOEFF_D = ((0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5), (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
               (3, 4, 0, 1, 2, 8, 9, 5, 6, 7), (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
               (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3), (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
               (9, 8, 7, 6, 5, 4, 3, 2, 1, 0))
_VERHOEFF_P = ((0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4), (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
               (8, 9, 1, 6, 0, 4, 3, 5, 2, 7), (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
               (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8))


def verhoeff_valid(digits: str) -> bool:
    """True when the last of `digits` (ASCII digits only) is the Verhoeff check digit of the others."""
    check = 0
    for i, ch in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[i % 8][int(ch)]]
    return check == 0


def snomed_id_is_valid(sctid: str) -> bool:
    """True when `sctid` is 6–18 digits and its last digit is the Verhoeff check digit (SNOMED CT identifiers)."""
    if not (6 <= len(sctid) <= 18 and sctid.isdigit() and sctid[0] != "0"):
        return False
    return verhoeff_valid(sctid)
