"""Synthetic people for varied documents: name populations, display forms, physicians, staff and intake spellings."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, replace

# --- name populations ------------------------------------------------------------------------------------------------
# Each population: female given names, male given names, surnames. Combinations are drawn at random, so no
# generated name is meant to be a real person.


@dataclass(frozen=True)
class Population:
    """One naming tradition: given names by sex, surnames, and how it orders and joins them."""

    key: str
    female: tuple[str, ...]
    male: tuple[str, ...]
    surnames: tuple[str, ...]
    family_first: bool = False  # displayed family name first in the culture (used in some documents only)
    double_surname: float = 0.0  # share of people carrying two surnames ("García López")


POPULATIONS: tuple[Population, ...] = (
    Population(
        "anglo",
        ("Katherine", "Deborah", "Margaret", "Jennifer", "Elizabeth", "Shannon", "Brooke", "Tamsin", "Holly", "Renee"),
        ("William", "Robert", "James", "Richard", "Michael", "Thomas", "Gregory", "Dale", "Curtis", "Wesley"),
        ("Whitfield", "Hollis", "Pruitt", "Lindley", "Fairbanks", "Thornbury", "Ashworth", "Kimble", "Haskett",
         "Brantley", "Winslow", "Colby"),
    ),
    Population(
        "african_american",
        ("Latoya", "Keisha", "Imani", "Tanisha", "Shaniqua", "Ebony", "Aaliyah", "Jasmine"),
        ("DeShawn", "Marcus", "Tyrone", "Darnell", "Jamal", "Terrence", "Andre", "Cornelius"),
        ("Washington", "Jefferson", "Booker", "Coleman", "Merriweather", "Gaines", "Toussaint", "Rucker"),
    ),
    Population(
        "hispanic",
        ("Ana", "María", "Guadalupe", "Inés", "Ximena", "Marisol", "Luz", "Rocío", "Yesenia", "Itzel"),
        ("José", "Alejandro", "Francisco", "Joaquín", "Rubén", "Héctor", "Efraín", "Ramiro", "Iván", "Julio"),
        ("García", "López", "Ramírez", "Núñez", "Ortega", "Villaseñor", "Castañeda", "Ibarra", "de la Vega",
         "Echeverría", "Zúñiga", "Montoya"),
        double_surname=0.55,
    ),
    Population(
        "arabic",
        ("Fatima", "Layla", "Noor", "Samira", "Yasmin", "Rania", "Huda", "Mariam"),
        ("Omar", "Khalid", "Tariq", "Yusuf", "Abdullah", "Karim", "Hassan", "Nabil"),
        ("al-Rashid", "El-Amin", "Al-Sayed", "Haddad", "Nasser", "el-Khoury", "Abu-Zeid", "Mansour", "Al-Farsi"),
    ),
    Population(
        "dutch_german",
        ("Anneke", "Sanne", "Liesbeth", "Gretchen", "Katrin", "Mareike", "Femke", "Ute"),
        ("Pieter", "Jurgen", "Maarten", "Dieter", "Stefan", "Joost", "Lukas", "Wolfgang"),
        ("van den Berg", "von Hassel", "de Vries", "Müller", "Schröder", "van der Linden", "ter Horst",
         "Weißmann", "van Dijk", "von Bülow"),
    ),
    Population(
        "french",
        ("Inès", "Céline", "Mathilde", "Élodie", "Noémie", "Josiane", "Amélie", "Brigitte"),
        ("René", "Thierry", "Étienne", "Jérôme", "Benoît", "Gaëtan", "Lucien", "Hervé"),
        ("Dubois", "Lefèvre", "de la Croix", "Beaumont", "Desrosiers", "Thibodeaux", "LeBlanc", "Delacroix"),
    ),
    Population(
        "irish",
        ("Siobhan", "Aoife", "Niamh", "Maeve", "Bridget", "Colleen", "Deirdre", "Roisin"),
        ("Declan", "Cormac", "Padraig", "Seamus", "Liam", "Eoin", "Brendan", "Kieran"),
        ("O'Sullivan", "McCarthy", "O'Brien", "MacNeil", "McGuinness", "O'Donoghue", "Fitzgerald", "McKenna"),
    ),
    Population(
        "nigerian",
        ("Chiamaka", "Ngozi", "Folasade", "Oluwakemi", "Adaeze", "Funmilayo", "Ifeoma", "Yetunde"),
        ("Oluwaseun", "Chinedu", "Emeka", "Adebayo", "Olumide", "Ikechukwu", "Babatunde", "Obinna"),
        ("Adeyemi", "Okonkwo", "Nwosu", "Balogun", "Eze", "Okafor", "Oyelaran", "Chukwuemeka", "Adebisi"),
    ),
    Population(
        "chinese",
        ("Xiuying", "Mei", "Lihua", "Jing", "Yan", "Xiaoling"),
        ("Wei", "Jian", "Hao", "Zhiwei", "Jun", "Guoqiang"),
        ("Wang", "Zhang", "Liu", "Chen", "Huang", "Zhou", "Xu", "Lin"),
        family_first=True,
    ),
    Population(
        "korean",
        ("Seo-yeon", "Ji-woo", "Hye-jin", "Min-seo", "Eun-ji", "Soo-ah"),
        ("Min-jun", "Ji-ho", "Seung-hoon", "Dong-hyun", "Jae-won", "Hyun-woo"),
        ("Kim", "Park", "Choi", "Jung", "Kang", "Yoon", "Han", "Seo"),
        family_first=True,
    ),
    Population(
        "vietnamese",
        ("Lan", "Huong", "Thanh", "Mai", "Ngoc", "Phuong"),
        ("Minh", "Tuan", "Duc", "Quang", "Khoa", "Long"),
        ("Nguyen", "Tran", "Pham", "Le", "Vu", "Hoang", "Dang", "Bui"),
        family_first=True,
    ),
    Population(
        "indian",
        ("Priya", "Ananya", "Lakshmi", "Deepika", "Sunita", "Kavya", "Meenakshi", "Shreya"),
        ("Rahul", "Arjun", "Venkatesh", "Sanjay", "Vikram", "Raghav", "Pranav", "Suresh"),
        ("Patel", "Reddy", "Iyer", "Krishnamurthy", "Chatterjee", "Singh", "Venkataraman", "Bhattacharya",
         "Subramanian"),
    ),
    Population(
        "slavic",
        ("Małgorzata", "Agnieszka", "Zuzana", "Jelena", "Kateřina", "Bożena", "Milica", "Dagmar"),
        ("Tomáš", "Zdeněk", "Łukasz", "Jiří", "Dušan", "Grzegorz", "Miroslav", "Radosław"),
        ("Dvořák", "Wiśniewski", "Kowalczyk", "Novák", "Šimić", "Jovanović", "Procházka", "Wróbel", "Krejčí"),
    ),
    Population(
        "scandinavian",
        ("Åsa", "Ingrid", "Linnéa", "Sigrid", "Solveig", "Maja", "Kirsten", "Ragnhild"),
        ("Bjørn", "Søren", "Øystein", "Anders", "Håkon", "Nils", "Torbjörn", "Mikkel"),
        ("Søndergaard", "Åberg", "Lindqvist", "Håkansson", "Bjørnstad", "Østergaard", "Sjöberg", "Dahl"),
    ),
    Population(
        "portuguese",
        ("Conceição", "Inês", "Beatriz", "Leonor", "Graça", "Fernanda"),
        ("João", "Gonçalo", "Thiago", "Sebastião", "Rui", "Vasco"),
        ("Gonçalves", "Magalhães", "Assunção", "da Silva", "dos Santos", "Figueiredo", "Ferreira", "Carvalho"),
    ),
)

SUFFIXES = ("Jr", "Sr", "II", "III", "IV")

# Intake spellings use these: the patient often types the name they go by.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "William": ("Bill", "Will", "Billy"), "Robert": ("Bob", "Rob", "Bobby"), "James": ("Jim", "Jimmy"),
    "Richard": ("Rick", "Dick", "Rich"), "Michael": ("Mike",), "Thomas": ("Tom", "Tommy"), "Gregory": ("Greg",),
    "Katherine": ("Kate", "Kathy", "Katie"), "Elizabeth": ("Liz", "Beth", "Betsy"), "Margaret": ("Peggy", "Maggie"),
    "Jennifer": ("Jen", "Jenny"), "Deborah": ("Debbie", "Deb"), "Alejandro": ("Alex",), "Francisco": ("Paco", "Frank"),
    "José": ("Pepe", "Joe"), "Guadalupe": ("Lupe",), "Oluwaseun": ("Seun",), "Babatunde": ("Tunde",),
    "Abdullah": ("Abdul",), "Venkatesh": ("Venky",), "Cornelius": ("Neil",), "Terrence": ("Terry",),
    "Wolfgang": ("Wolf",), "Małgorzata": ("Gosia",), "Joaquín": ("Joaco",),
}


@dataclass(frozen=True)
class Person:
    """A synthetic person; `family` holds the whole surname as printed (particles, hyphens, two surnames)."""

    given: str
    family: str
    sex: str  # "F" or "M": only used to pick matching names and pronouns
    population: str
    middle: str = ""  # a full middle name or a single initial letter
    suffix: str = ""
    family_first: bool = False

    def label(self) -> str:
        """The label form "First [Middle] Last [Suffix]": natural case, no periods."""
        return " ".join(p for p in (self.given, self.middle, self.family, self.suffix) if p)

    def _middle_print(self) -> str:
        return f"{self.middle}." if len(self.middle) == 1 else self.middle

    def natural(self, periods: bool = True) -> str:
        """How a letter or portal prints it: "René A. Dubois, Jr."."""
        mid = self._middle_print() if periods else self.middle
        base = " ".join(p for p in (self.given, mid, self.family) if p)
        if self.suffix:
            base += f", {self.suffix}." if periods and self.suffix in ("Jr", "Sr") else f" {self.suffix}"
        return base

    def first_last(self) -> str:
        """Given and family name only (portal account headers)."""
        return f"{self.given} {self.family}"

    def last_first(self) -> str:
        """ "Dubois Jr, René A" as EHR lists print it in mixed case."""
        fam = f"{self.family} {self.suffix}" if self.suffix else self.family
        rest = " ".join(p for p in (self.given, self.middle) if p)
        return f"{fam}, {rest}"

    def ehr_caps(self) -> str:
        """ "DUBOIS JR, RENÉ A": the all-caps EHR header style."""
        return self.last_first().upper()

    def family_first_form(self) -> str:
        """ "NGUYEN Thi Lan": family name first, capitalised, as some clinics print East Asian names."""
        return " ".join(p for p in (self.family.upper(), self.middle, self.given) if p)

    def initials(self) -> str:
        """Avatar initials."""
        return (self.given[:1] + self.family.replace("de la ", "").replace("van ", "")[:1]).upper()

    def without_middle(self) -> Person:
        """The same person shown without a middle name."""
        return replace(self, middle="")

    def with_middle_initial(self) -> Person:
        """The same person with the middle name cut to its initial."""
        return replace(self, middle=self.middle[:1]) if self.middle else self


def strip_accents(s: str) -> str:
    """ASCII-fold letters the way intake forms and old EHRs often do ("Núñez" -> "Nunez", "Søren" -> "Soren")."""
    s = s.replace("ø", "o").replace("Ø", "O").replace("ł", "l").replace("Ł", "L").replace("ß", "ss")
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def _pick_population(rng: random.Random) -> Population:
    return rng.choice(POPULATIONS)


def make_person(rng: random.Random, *, sex: str | None = None, population: str | None = None,
                family: str | None = None, allow_suffix: bool = True) -> Person:
    """A random person: given name(s), surname form and suffix drawn with realistic shares."""
    pop = next(p for p in POPULATIONS if p.key == population) if population else _pick_population(rng)
    sex = sex or rng.choice("FM")
    givens = pop.female if sex == "F" else pop.male
    given = rng.choice(givens)
    middle = ""
    r = rng.random()
    if pop.key == "vietnamese":
        middle = "Thi" if sex == "F" else "Van"  # the common Vietnamese middle names, carried into US records
    elif r < 0.25:
        middle = rng.choice([g for g in givens if g != given])  # two given names
    elif r < 0.55:
        middle = rng.choice("ABCDEJKLMRST")
    if family is None:
        family = rng.choice(pop.surnames)
        if pop.double_surname and rng.random() < pop.double_surname:
            second = rng.choice([s for s in pop.surnames if s != family and " " not in s])
            family = f"{family} {second}" if rng.random() < 0.6 else f"{family}-{second}"
        elif rng.random() < 0.08:
            other = rng.choice(rng.choice(POPULATIONS).surnames)
            if " " not in other and " " not in family and other != family:
                family = f"{family}-{other}"
    suffix = ""
    if allow_suffix and sex == "M" and pop.key in ("anglo", "african_american", "french", "irish") and \
            rng.random() < 0.2:
        suffix = rng.choice(SUFFIXES)
    return Person(given=given, family=family, sex=sex, population=pop.key, middle=middle, suffix=suffix,
                  family_first=pop.family_first)


def relative_of(rng: random.Random, person: Person, *, sex: str | None = None) -> Person:
    """A family member: often the same surname, sometimes not (married names), same population."""
    fam = person.family if rng.random() < 0.65 else None
    rel = make_person(rng, sex=sex, population=person.population, family=fam, allow_suffix=False)
    while rel.given == person.given:
        rel = make_person(rng, sex=sex, population=person.population, family=fam, allow_suffix=False)
    return rel.without_middle() if rel.population != "vietnamese" else rel


def similar_person(rng: random.Random, person: Person) -> Person:
    """A different person whose name resembles this one (a sibling, a near-namesake): intake mismatches."""
    pop = next(p for p in POPULATIONS if p.key == person.population)
    givens = pop.female if person.sex == "F" else pop.male
    given = rng.choice([g for g in givens if g != person.given])
    family = person.family
    vowels = [i for i, ch in enumerate(family) if ch in "aeiou" and i > 0]
    if rng.random() < 0.5 and vowels and " " not in family:
        i = rng.choice(vowels)  # one vowel changed: Walsh/Welsh, Hollis/Hallis
        family = family[:i] + rng.choice([v for v in "aeiou" if v != family[i]]) + family[i + 1:]
    return replace(person, given=given, family=family, middle="", suffix="")


# --- clinicians ------------------------------------------------------------------------------------------------------

CREDENTIALS = ("MD", "MD", "MD", "DO", "DO", "MBBS", "MD, PhD", "MD, FAAPMR", "MD, FIPP", "DO, DABPM",
               "MD, MPH", "MD, DABPM", "DO, FAAPMR")
SPECIALTIES = ("Pain Medicine", "Interventional Pain Management", "Physical Medicine & Rehabilitation",
               "Neurology", "Headache Medicine", "Anesthesiology - Pain Management", "Rheumatology",
               "Physical Medicine and Rehabilitation / Pain Medicine")
PCP_SPECIALTIES = ("Family Medicine", "Internal Medicine", "Primary Care")


@dataclass(frozen=True)
class Clinician:
    """A person with a credential and a specialty line."""

    person: Person
    credential: str
    specialty: str

    def signed(self) -> str:
        """ "Chiamaka O. Adeyemi, DO": natural name with credential."""
        return f"{self.person.natural()}, {self.credential}"

    def dr(self) -> str:
        """ "Dr. Chiamaka O. Adeyemi"."""
        return f"Dr. {self.person.natural(periods=True)}"

    def caps(self) -> str:
        """ "ADEYEMI, CHIAMAKA O MD"."""
        return f"{self.person.ehr_caps()} {self.credential.split(',')[0]}"

    def last_first(self) -> str:
        """ "Adeyemi, Chiamaka O, DO"."""
        return f"{self.person.last_first()}, {self.credential.split(',')[0]}"

    def surname_only(self) -> str:
        """ "Dr. Adeyemi"."""
        return f"Dr. {self.person.family}"


def make_physician(rng: random.Random, specialty: str | None = None) -> Clinician:
    """A physician with a credential; a middle initial now and then, never a suffix (keeps signatures simple)."""
    p = make_person(rng, allow_suffix=False)
    p = p.with_middle_initial() if rng.random() < 0.3 else p.without_middle()
    return Clinician(p, rng.choice(CREDENTIALS), specialty or rng.choice(SPECIALTIES))


STAFF_CREDENTIALS = {
    "nurse": ("RN", "BSN, RN", "LPN", "RN, CPAN"),
    "np_pa": ("FNP-C", "NP", "PA-C", "AGNP-C", "DNP, APRN", "PA-C"),
    "ma": ("CMA", "MA", "RMA"),
}


def make_staff(rng: random.Random, role: str) -> Clinician:
    """A nurse, NP/PA or medical assistant; shown with a credential but never a physician."""
    p = make_person(rng, allow_suffix=False).without_middle()
    spec = {"nurse": "Nursing", "np_pa": "Pain Medicine", "ma": "Clinical Support"}[role]
    return Clinician(p, rng.choice(STAFF_CREDENTIALS[role]), spec)


# --- intake spellings ------------------------------------------------------------------------------------------------


def intake_same_person(rng: random.Random, shown: Person, full: Person) -> tuple[str, str]:
    """What the patient typed for themself: same person, another form. Returns (typed name, how it differs)."""
    options: list[tuple[str, str]] = [(shown.first_last(), "same name")]
    if shown.middle:
        options.append((shown.natural(periods=False), "exact"))
    if full.middle and len(full.middle) > 1 and shown.middle != full.middle:
        options.append((f"{full.given} {full.middle} {full.family}", "intake adds the full middle name"))
    if strip_accents(full.label()) != full.label():
        options += [(strip_accents(shown.first_last()), "intake without accents")] * 3
    if full.given in NICKNAMES:
        options += [(f"{rng.choice(NICKNAMES[full.given])} {full.family}", "intake uses a nickname")] * 3
    options.append((f"{full.family}, {full.given}", "intake typed 'Last, First'"))
    options.append((shown.first_last().upper(), "intake in capitals"))
    options.append((shown.first_last().lower(), "intake in lower case"))
    if " " in full.family and full.population == "hispanic":
        options.append((f"{full.given} {full.family.split(' ')[0]}", "intake gives the first surname only"))
    if full.suffix:
        options.append((f"{full.given} {full.family} {full.suffix}", "intake keeps the suffix"))
    return rng.choice(options)
