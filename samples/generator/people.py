"""The invented clinicians and care-team distractors, and the baseline CRPS case several samples share."""

from __future__ import annotations

from .model import Case, Dx, Person


def md(first: str, last: str, creds: str = "MD", style: str = "natural") -> Person:
    return Person(first, last, credentials=creds, style=style)


def other(first: str, last: str, role: str, creds: str = "", relation: str = "", style: str = "natural") -> Person:
    return Person(first, last, credentials=creds, role=role, relation=relation, style=style)


RAMAN, REYES, KOWALCZYK = md("Priya", "Raman"), md("Alan", "Reyes"), md("Hannah", "Kowalczyk", "DO")
OYELARAN, ALVAREZ, OBRIEN = md("Marcus", "Oyelaran", style="dr"), md("Sofía", "Álvarez-Ruiz"), md("Thomas", "O'Brien")
CHU, MONTOYA, HALVORSEN = md("Evelyn", "Chu"), md("Rafael", "Montoya", "DO"), md("Ingrid", "Halvorsen")
HADDAD, ASANTE, BERGER = md("Nadia", "Haddad"), md("Kwame", "Asante"), md("Jean-Luc", "Berger")
TANAKA, NWOSU, MARSH = md("Hiroshi", "Tanaka", style="dr"), md("Amara", "Nwosu"), md("Gideon", "Marsh")
HOLM, FAIRBANKS, VESTERGAARD = md("Beatrix", "Holm"), md("Owen", "Fairbanks"), md("Lars", "Vestergaard")
IBARRA, DELACROIX = md("Marisol", "Ibarra"), md("Yvette", "Delacroix", "DO")

PCP_HALE = other("Gregory", "Hale", "pcp", "MD")
NP_FOSTER = other("Linda", "Foster", "pcp", "NP")
RN_GREENE = other("Tasha", "Greene", "nurse", "RN")
MA_PRUITT = other("Devon", "Pruitt", "nurse", "MA")
PA_LEE = other("Jordan", "Lee", "app", "PA-C")
NP_OKORO = other("Chidi", "Okoro", "app", "NP")
REF_WHITMAN = other("Paul", "Whitman", "referring", "MD")
REF_SATO = other("Kenji", "Sato", "referring", "DO")

CRPS_PLAN = ("Plan: ketamine infusion series for CRPS; continue desensitization therapy; follow up in 4 weeks.",)
ROUTINE_MEDS = ("Gabapentin 600 mg PO TID", "Duloxetine 60 mg PO daily", "Ondansetron 4 mg ODT PRN nausea")

CRPS_CASE = Case(
    patient=Person("Mary-Kate", "O'Neil"), physician=RAMAN, mrn="00417736", dob="02/09/1986",
    others=(PCP_HALE, other("Sean", "O'Neil", "emergency", relation="spouse"), RN_GREENE),
    hpi=("40-year-old woman with burning pain, allodynia, swelling and color change of the left hand since a distal "
         "radius fracture in 2024. Failed stellate ganglion blocks x3. Pain 8/10.",),
    pmh=("Distal radius fracture, left (2024), ORIF", "Generalized anxiety disorder"),
    family=("Father: hypertension. Mother: hypothyroidism.",), meds=ROUTINE_MEDS, allergies="Penicillin (rash)",
    dx=(Dx("Complex regional pain syndrome I of left upper limb", "G90.512"),
        Dx("Generalized anxiety disorder", "F41.1")),
    plan=CRPS_PLAN)
