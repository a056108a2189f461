"""Clinical content: pain diagnoses and their codes, hard negatives, and the per-document clinical picture."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Dx:
    """A diagnosis with the printed names it goes by and the ICD-10-CM code each name links to."""

    code: str
    names: tuple[str, ...]
    category: str | None = None  # pain category; None for non-pain diagnoses
    short: str = ""  # what a patient would call it ("CRPS", "migraines")
    lay: str = ""  # the symptom sentence used in HPI


# Pain diagnoses. Every name in `names` is specific enough to link to `code` without the code printed.
PAIN_DX: tuple[Dx, ...] = (
    Dx("G90.521", ("Complex regional pain syndrome I of right lower limb", "CRPS type I, right lower extremity",
                   "Reflex sympathetic dystrophy of right lower limb"), "crps", "CRPS",
       "burning pain, allodynia and color change of the right foot since an ankle fracture"),
    Dx("G90.522", ("Complex regional pain syndrome I of left lower limb", "CRPS I, left leg",
                   "RSD of the left lower limb"), "crps", "CRPS",
       "burning pain, swelling and temperature asymmetry of the left foot after ankle surgery"),
    Dx("G90.511", ("Complex regional pain syndrome I of right upper limb", "CRPS type 1, right upper extremity",
                   "Reflex sympathetic dystrophy of the right arm"), "crps", "CRPS",
       "burning pain and hypersensitivity of the right hand after a wrist fracture"),
    Dx("G90.512", ("Complex regional pain syndrome I of left upper limb", "RSD of the left upper limb",
                   "CRPS I of left upper extremity"), "crps", "RSD",
       "mottled skin, stiffness and burning pain of the left hand"),
    Dx("G56.41", ("Causalgia of right upper limb", "CRPS type II, right upper limb (median nerve)"), "crps",
       "CRPS II", "burning pain in the right hand following a median nerve laceration"),
    Dx("G56.42", ("Causalgia of left upper limb", "Complex regional pain syndrome II of left upper limb"),
       "crps", "CRPS II", "electric, burning pain in the left forearm after an ulnar nerve injury"),
    Dx("M79.7", ("Fibromyalgia", "Fibromyalgia syndrome", "Fibromyalgia (FMS)"), "fibromyalgia", "fibromyalgia",
       "widespread musculoskeletal pain with fatigue and unrefreshing sleep for several years"),
    Dx("G43.909", ("Migraine, unspecified, not intractable, without status migrainosus", "Migraine"),
       "migraine", "migraines", "episodic throbbing headaches with photophobia and nausea"),
    Dx("G43.719", ("Chronic migraine without aura, intractable, without status migrainosus",
                   "Intractable chronic migraine without aura"), "migraine", "chronic migraine",
       "headaches on more than 15 days a month despite two preventives"),
    Dx("G43.109", ("Migraine with aura, not intractable, without status migrainosus", "Migraine with aura"),
       "migraine", "migraine with aura", "visual aura followed by unilateral throbbing headache"),
    Dx("G43.009", ("Migraine without aura, not intractable, without status migrainosus",
                   "Migraine without aura"), "migraine", "migraines",
       "pulsating headaches lasting a day with nausea, no aura"),
    Dx("G50.0", ("Trigeminal neuralgia", "Trigeminal neuralgia, right V2 distribution"), "neuropathic_pain",
       "trigeminal neuralgia", "lancinating electric pain of the right cheek triggered by chewing"),
    Dx("B02.29", ("Postherpetic neuralgia", "Other postherpetic nervous system involvement (postherpetic neuralgia)"),
       "neuropathic_pain", "postherpetic neuralgia", "persistent burning pain along the T6 dermatome after shingles"),
    Dx("E11.42", ("Type 2 diabetes mellitus with diabetic polyneuropathy", "Diabetic peripheral neuropathy",
                  "Painful diabetic polyneuropathy (type 2 DM)"), "neuropathic_pain", "diabetic neuropathy",
       "burning, tingling pain in both feet worse at night"),
    Dx("M54.16", ("Radiculopathy, lumbar region", "Lumbar radiculopathy"), "neuropathic_pain", "radiculopathy",
       "low back pain radiating down the left leg to the foot"),
    Dx("M54.31", ("Sciatica, right side", "Right-sided sciatica"), "neuropathic_pain", "sciatica",
       "shooting pain from the right buttock down the posterior thigh"),
    Dx("M54.81", ("Occipital neuralgia", "Occipital neuralgia, bilateral"), "neuropathic_pain",
       "occipital neuralgia", "shooting pain from the base of the skull over the scalp"),
    Dx("G54.6", ("Phantom limb syndrome with pain", "Phantom limb pain"), "neuropathic_pain", "phantom limb pain",
       "cramping and burning pain felt in the amputated left foot"),
    Dx("G89.4", ("Chronic pain syndrome",), "other_pain", "chronic pain",
       "multifocal pain for over six months limiting work and sleep"),
    Dx("M54.50", ("Low back pain, unspecified", "Chronic low back pain"), "other_pain", "low back pain",
       "axial low back pain without radiation for more than a year"),
    Dx("G89.29", ("Other chronic pain",), "other_pain", "chronic pain", "persistent pain after a work injury"),
    Dx("M54.2", ("Cervicalgia", "Chronic neck pain (cervicalgia)"), "other_pain", "neck pain",
       "daily neck pain with stiffness after a motor vehicle collision"),
)

NON_PAIN_DX: tuple[Dx, ...] = (
    Dx("I10", ("Essential (primary) hypertension", "Hypertension", "HTN")),
    Dx("E78.5", ("Hyperlipidemia, unspecified", "Hyperlipidemia")),
    Dx("K21.9", ("Gastro-esophageal reflux disease without esophagitis", "GERD")),
    Dx("J45.909", ("Unspecified asthma, uncomplicated", "Asthma")),
    Dx("E11.9", ("Type 2 diabetes mellitus without complications", "Type 2 diabetes")),
    Dx("E03.9", ("Hypothyroidism, unspecified", "Hypothyroidism")),
    Dx("G47.00", ("Insomnia, unspecified", "Insomnia")),
    Dx("F17.210", ("Nicotine dependence, cigarettes, uncomplicated", "Tobacco use disorder")),
    Dx("E66.9", ("Obesity, unspecified", "Obesity")),
    Dx("N18.31", ("Chronic kidney disease, stage 3a",)),  # "chronic" without pain: a bare modifier
    Dx("J45.50", ("Severe persistent asthma, uncomplicated",)),  # "severe" without pain
    Dx("Z79.899", ("Other long term (current) drug therapy",)),
)

MH_DX: tuple[Dx, ...] = (
    Dx("F33.1", ("Major depressive disorder, recurrent, moderate", "MDD, recurrent, moderate")),
    Dx("F43.10", ("Post-traumatic stress disorder, unspecified", "PTSD")),
    Dx("F41.1", ("Generalized anxiety disorder", "GAD")),
    Dx("R45.851", ("Suicidal ideations", "Passive suicidal ideation")),
    Dx("F32.A", ("Depression, unspecified",)),
    Dx("F31.81", ("Bipolar II disorder",)),
)

PAIN_MEDS = {
    "crps": ("Gabapentin 600 mg three times daily", "Prednisone taper 40 mg", "Lidocaine 5% patch daily",
             "Amitriptyline 25 mg at bedtime"),
    "fibromyalgia": ("Duloxetine 60 mg daily", "Pregabalin 75 mg twice daily", "Cyclobenzaprine 5 mg at bedtime"),
    "migraine": ("Sumatriptan 50 mg as needed", "Topiramate 50 mg twice daily", "Rimegepant 75 mg as needed",
                 "Propranolol ER 80 mg daily"),
    "neuropathic_pain": ("Gabapentin 300 mg three times daily", "Carbamazepine 200 mg twice daily",
                         "Pregabalin 100 mg twice daily", "Nortriptyline 25 mg at bedtime"),
    "other_pain": ("Meloxicam 15 mg daily", "Tizanidine 4 mg at bedtime", "Acetaminophen 1000 mg three times daily",
                   "Diclofenac 1% gel four times daily"),
}
OTHER_MEDS = ("Lisinopril 10 mg daily", "Atorvastatin 20 mg daily", "Omeprazole 20 mg daily",
              "Albuterol HFA 2 puffs as needed", "Levothyroxine 75 mcg daily", "Metformin 500 mg twice daily",
              "Sertraline 100 mg daily", "Bupropion XL 150 mg daily", "Trazodone 50 mg at bedtime")

RELATIVES = ("Mother", "Father", "Sister", "Brother", "Maternal aunt", "Paternal grandmother")

# Symptom words that never name a diagnosis on their own: "bare modifiers".
MODIFIER_LINES = ("Chronic: yes", "Severity: severe", "Course: chronic, stable", "Department: Pain Medicine",
                  "Visit type: Pain Management follow-up", "Acuity: moderate")


@dataclass(frozen=True)
class Entry:
    """One row of a diagnosis/problem list as printed."""

    text: str
    code: str | None
    status: str = "Active"


@dataclass(frozen=True)
class Clinical:
    """What the document says clinically, in pieces each layout arranges its own way."""

    diagnoses: tuple[Entry, ...]  # visit diagnoses / problem list
    hpi: str
    notes: tuple[str, ...]  # history, ROS, assessment sentences (negations, uncertainty, resolved history)
    family_history: tuple[tuple[str, str], ...]
    meds: tuple[str, ...]
    plan: tuple[str, ...]
    reason: str  # reason for visit
    modifiers: tuple[str, ...]  # bare-modifier lines some layouts print in a details box
    pain: Dx | None  # the affirmed current pain diagnosis (the label), if any
    codes_shown: bool


PAIN_SCENARIOS = ("affirmed", "affirmed_mh", "affirmed_with_negatives")
NO_PAIN_SCENARIOS = ("mh_only", "negated", "family", "resolved", "non_pain", "modifiers_only")


def _negation(rng: random.Random, dx: Dx) -> str:
    s = dx.short
    return rng.choice((f"Denies {s}.", f"No evidence of {s}.", f"Negative for {s}.",
                       f"{s[:1].upper()}{s[1:]} ruled out.",
                       f"Patient denies any history of {s}.", f"No signs of {s} on exam."))


def _uncertain(rng: random.Random, dx: Dx) -> tuple[str, str]:
    """An uncertain mention: (list entry text, sentence)."""
    s = dx.short
    entry = rng.choice((f"R/O {s}", f"Possible {s}", f"?{s}", f"Suspected {s}", f"Rule out {s}"))
    sentence = rng.choice((f"Symptoms may represent early {s}; cannot exclude at this time.",
                           f"Differential includes {s}; further workup pending.",
                           f"Concern for possible {s}; will reassess after imaging.",
                           f"Rule out {s} versus musculoskeletal strain."))
    return entry, sentence


def _other(rng: random.Random, exclude: Dx | None = None) -> Dx:
    choices = [d for d in PAIN_DX if exclude is None or d.category != exclude.category]
    return rng.choice(choices)


def _entries(rng: random.Random, dxs: list[Dx], codes: bool, status: str = "Active") -> list[Entry]:
    return [Entry(rng.choice(d.names), d.code if codes else None, status) for d in dxs]


def make_clinical(rng: random.Random, scenario: str) -> Clinical:
    """The clinical picture for one scenario: affirmed pain, a hard negative, or uncertain only ("uncertain")."""
    codes = rng.random() < 0.6
    comorb = rng.sample(NON_PAIN_DX, rng.randint(1, 3))
    notes: list[str] = []
    fam: list[tuple[str, str]] = []
    meds = list(rng.sample(OTHER_MEDS, rng.randint(1, 3)))
    modifiers: tuple[str, ...] = ()
    pain: Dx | None = None
    entries: list[Entry] = []
    plan = ["Return to clinic in 4-6 weeks.", "Call the office for worsening symptoms."]
    if scenario in PAIN_SCENARIOS:
        pain = rng.choice(PAIN_DX)
        name = rng.choice(pain.names)
        entries.append(Entry(name, pain.code if codes else None))
        entries += _entries(rng, comorb, codes)
        hpi = f"Patient presents for follow-up of {pain.short}: {pain.lay}."
        reason = f"{pain.short[:1].upper()}{pain.short[1:]} follow-up"
        meds = [rng.choice(PAIN_MEDS[pain.category or "other_pain"]), *meds]
        notes.append(f"Assessment: {name}{f' ({pain.code})' if codes else ''}, ongoing; "
                     f"{rng.choice(('improving', 'stable', 'not at goal', 'partially controlled'))}.")
        if scenario == "affirmed_mh":
            mh = rng.sample(MH_DX[:3], rng.randint(1, 2))
            entries += _entries(rng, mh, codes)
            notes.append("Mood followed by behavioral health; PHQ-9 today 14.")
        if scenario == "affirmed_with_negatives":
            other = _other(rng, pain)
            notes.append(_negation(rng, other))
            fam.append((rng.choice(RELATIVES), rng.choice(_other(rng, pain).names).split(",")[0]))
        plan.insert(0, rng.choice(("Continue current regimen; titrate as tolerated.",
                                   "Schedule diagnostic nerve block.", "Refer to physical therapy, 2x weekly.",
                                   "Start graded exercise program and sleep hygiene.")))
        return Clinical(tuple(entries), hpi, tuple(notes), tuple(fam), tuple(meds), tuple(plan), reason, modifiers,
                        pain, codes)
    # Hard negatives and uncertain-only: no affirmed current pain diagnosis anywhere.
    reason = rng.choice(("Follow-up", "Annual wellness visit", "Medication review", "New patient visit",
                         "Blood pressure check"))
    hpi = rng.choice(("Here for routine follow-up of chronic conditions.",
                      "Presents for medication review; no new complaints.",
                      "Establishing care; records reviewed.",
                      "Follow-up after recent labs; feeling well overall."))
    entries += _entries(rng, comorb, codes)
    if scenario == "mh_only":
        mh = rng.sample(MH_DX, rng.randint(2, 3))
        entries = _entries(rng, mh, codes) + (entries[:1] if rng.random() < 0.4 else [])
        hpi = "Follow-up for depression and anxiety; sleep poor, appetite reduced."
        notes.append(rng.choice(("Passive suicidal ideation without plan or intent; safety plan reviewed.",
                                 "Nightmares and hypervigilance persist.", "PHQ-9 today 17, GAD-7 13.")))
        meds = ["Sertraline 100 mg daily", "Prazosin 2 mg at bedtime", *meds[:1]]
        reason = "Behavioral health follow-up"
    elif scenario == "negated":
        for d in rng.sample(PAIN_DX, 2):
            notes.append(_negation(rng, d))
    elif scenario == "family":
        for rel, d in zip(rng.sample(RELATIVES, 2), rng.sample(PAIN_DX, 2), strict=True):
            fam.append((rel, rng.choice(d.names).split(",")[0]))
    elif scenario == "resolved":
        d = rng.choice(PAIN_DX)
        entries.append(Entry(rng.choice(d.names), d.code if codes else None, "Resolved"))
        notes.append(rng.choice((f"History of {d.short} in adolescence, resolved.",
                                 f"{d.short[:1].upper()}{d.short[1:]} resolved after treatment in "
                                 f"{rng.randint(2009, 2019)}; "
                                 "no recurrence.", f"Past {d.short}, resolved; asymptomatic for years.")))
    elif scenario == "modifiers_only":
        modifiers = tuple(rng.sample(MODIFIER_LINES, 3))
        entries += [Entry("Chronic kidney disease, stage 3a", "N18.31" if codes else None)]
    elif scenario == "uncertain":
        d = rng.choice(PAIN_DX)
        entry, sentence = _uncertain(rng, d)
        entries.insert(0, Entry(entry, None, "Provisional"))
        notes.append(sentence)
        hpi = rng.choice(("Referred for further evaluation; outside records reviewed.",
                          "New consultation at the request of the referring clinician."))
        reason = "Evaluation"
    # Unique entries only: two draws may share a diagnosis.
    seen: set[str] = set()
    uniq = [e for e in entries if not (e.text in seen or seen.add(e.text))]  # type: ignore[func-returns-value]
    return Clinical(tuple(uniq), hpi, tuple(notes), tuple(fam), tuple(meds), tuple(plan), reason, modifiers, None,
                    codes)
