"""The samples: each upload's content, rendering options and expected label, written side by side."""

from __future__ import annotations

from .model import CLINICS, Case, Dx, Person, Sample, expect, rejected
from .people import (
    ALVAREZ,
    ASANTE,
    BERGER,
    CHU,
    CRPS_CASE,
    CRPS_PLAN,
    DELACROIX,
    FAIRBANKS,
    HADDAD,
    HALVORSEN,
    HOLM,
    IBARRA,
    KOWALCZYK,
    MA_PRUITT,
    MARSH,
    MONTOYA,
    NP_FOSTER,
    NP_OKORO,
    NWOSU,
    OBRIEN,
    OYELARAN,
    PA_LEE,
    PCP_HALE,
    REF_SATO,
    REF_WHITMAN,
    REYES,
    RN_GREENE,
    ROUTINE_MEDS,
    TANAKA,
    VESTERGAARD,
    other,
)
from .rejected import blank_pdf, blank_png, encrypted_pdf, html_as_pdf, truncated_jpeg, truncated_pdf


def _samples() -> list[Sample]:
    s: list[Sample] = []
    add = s.append

    # ---- born-digital PDFs --------------------------------------------------------------------------------------
    c = CRPS_CASE
    add(Sample("visit_note_crps.pdf", "text_pdf", "Baseline: CRPS with ICD code, PCP/nurse/spouse distractors",
               expect(c, "complete", ("crps", "G90.512")), (c,), intake_name="Mary-Kate O'Neil"))

    c = Case(Person("José", "Núñez"), REYES, clinic=CLINICS[1], dob="07/30/1971", mrn="HV-228190",
             others=(NP_FOSTER, MA_PRUITT, other("Lucía", "Núñez", "emergency", relation="daughter")),
             dx=(Dx("Fibromyalgia"), Dx("Primary insomnia")), meds=("Pregabalin 75 mg PO BID", "Melatonin 3 mg QHS"),
             plan=("Ketamine infusion #1 scheduled 03/21/2026.", "Continue pregabalin; gentle aerobic exercise."))
    add(Sample("avs_fibromyalgia_nocodes.pdf", "text_pdf",
               "After-visit summary, fibromyalgia without codes; intake name lacks accents (Jose Nunez)",
               expect(c, "complete", ("fibromyalgia", "M79.7")), (c,), layout="avs", intake_name="Jose Nunez"))

    c = Case(Person("Zoë", "Lindqvist"), KOWALCZYK, clinic=CLINICS[3], provider_label="Attending", mrn="BR-55102",
             dob="11/02/1990",
             dx=(Dx("Chronic migraine w/o aura, not intractable", "G43.709", onset="2012"),
                 Dx("Essential hypertension", "I10", onset="2019"),
                 Dx("Appendicitis", "K37", "Resolved", "2004"),
                 Dx("Insomnia, unspecified", "G47.00", onset="2021")),
             others=(other("Erik", "Lindqvist", "emergency", relation="brother"),), signer=MA_PRUITT)
    add(Sample("problem_list_migraine.pdf", "text_pdf",
               "Problem-list table with codes and status column; attending named in header, printed by an MA",
               expect(c, "complete", ("migraine", "G43.709")), (c,), layout="problems", intake_name="Zoe Lindqvist"))

    c = Case(Person("Harold", "Jenkins", "P", style="natural_dot"), OYELARAN, clinic=CLINICS[2], dob="06/18/1951",
             mrn="DS-009871", provider_label="Rendering provider",
             hpi=("74-year-old man with RSD of the left arm after a crush injury; constant burning pain, cold "
                  "intolerance and stiffness of the fingers.",),
             dx=(Dx("RSD of the left upper limb"), Dx("Type 2 diabetes mellitus without complications")),
             signer=Person("Marcus", "Oyelaran", credentials="MD"), plan=CRPS_PLAN)
    add(Sample("visit_note_medicare_rsd.pdf", "text_pdf",
               "Medicare payer; 'RSD of the left upper limb' with no code; physician printed as 'Dr. First Last'",
               expect(c, "complete", ("crps", "G90.512")), (c,), intake_name="Harold Jenkins", payer="medicare"))

    c = Case(Person("Ana", "Garcia-Lopez", style="LAST_FIRST"), ALVAREZ, clinic=CLINICS[4], patient_label="PATIENT",
             dob="01/23/1968", mrn="LIP-77310", others=(REF_SATO, RN_GREENE),
             hpi=("Burning and numbness in both feet for 6 years, worse at night; A1c 7.4%.",),
             dx=(Dx("Type 2 diabetes mellitus with diabetic polyneuropathy", "E11.42"),
                 Dx("Major depressive disorder, recurrent, moderate", "F33.1")))
    add(Sample("visit_note_lastfirst_caps.pdf", "text_pdf",
               "Patient printed 'GARCIA-LOPEZ, ANA'; intake 'Ana Garcia-Lopez'; accented physician name",
               expect(c, "complete", ("neuropathic_pain", "E11.42")), (c,), intake_name="Ana Garcia-Lopez"))

    c = Case(Person("William", "Thompson", "J", style="LAST_FIRST"), OBRIEN, dob="09/05/1963", mrn="00588120",
             others=(other("Margaret", "Thompson", "emergency", relation="wife"), PCP_HALE),
             complaint="Low back pain radiating down the left leg.",
             dx=(Dx("Radiculopathy, lumbar region", "M54.16"), Dx("Nicotine dependence, cigarettes", "F17.210")))
    add(Sample("visit_note_nickname.pdf", "text_pdf",
               "Intake 'Bill Thompson' vs printed 'THOMPSON, WILLIAM J' (nickname + LAST, FIRST M) still matches",
               expect(c, "complete", ("neuropathic_pain", "M54.16")), (c,), intake_name="Bill Thompson"))

    c = Case(Person("Katherine", "Welsh"), CHU, clinic=CLINICS[1], dob="12/11/1958", mrn="HV-301177",
             hpi=("Shingles of the right T6 dermatome in 2024; persistent lancinating pain since.",),
             dx=(Dx("Postherpetic neuralgia", "B02.29"),), others=(RN_GREENE,))
    add(Sample("visit_note_name_mismatch.pdf", "text_pdf",
               "Intake says 'Karen Walsh' but the note is Katherine Welsh's: name mismatch",
               expect(c, "needs_review", ("neuropathic_pain", "B02.29")), (c,), intake_name="Karen Walsh"))

    c = Case(Person("Björn", "Eriksson"), None, title="Infusion Nursing Note", mrn="00611042", dob="03/03/1977",
             others=(REF_WHITMAN, other("Carla", "Mendes", "nurse", "RN"),
                     other("Astrid", "Eriksson", "emergency", relation="spouse")),
             complaint="Ketamine infusion #3 of 6.",
             hpi=("Tolerated infusion well. Reports widespread pain 6/10, down from 8/10.",),
             dx=(Dx("Fibromyalgia", "M79.7"),), dx_title="Diagnoses",
             plan=("Next infusion 03/17/2026.",), signer=other("Carla", "Mendes", "nurse", "RN"))
    add(Sample("visit_note_no_physician.pdf", "text_pdf",
               "Nursing note signed by an RN; only a REFERRING physician is named: no treating physician",
               expect(c, "incomplete", ("fibromyalgia", "M79.7")), (c,), intake_name="Björn Eriksson"))

    c = Case(None, HALVORSEN, clinic=CLINICS[3], mrn="BR-60021", dob="08/14/1969",
             others=(other("Marcus", "Lee", "family", relation="spouse"),), complaint="",
             dx=(Dx("Trigeminal neuralgia", "G50.0"),),
             plan=("Ketamine infusion series; continue carbamazepine 200 mg BID.",))
    add(Sample("visit_note_no_patient.pdf", "text_pdf",
               "Continuation page with MRN/DOB but no patient name; the spouse is named (must not become patient)",
               expect(c, "incomplete", ("neuropathic_pain", "G50.0")), (c,), intake_name="Naomi Okafor"))

    c = Case(Person("Dolores", "Fitzgerald"), MONTOYA, clinic=CLINICS[2], dob="05/27/1955", mrn="DS-011204",
             complaint="Follow-up; medication refills.", others=(MA_PRUITT,),
             dx=(Dx("Essential hypertension", "I10"), Dx("Insomnia, unspecified", "G47.00"),
                 Dx("Nicotine dependence, cigarettes", "F17.210")),
             plan=("Continue lisinopril 10 mg daily; sleep hygiene counseling.",))
    add(Sample("visit_note_no_diagnosis.pdf", "text_pdf",
               "Visit note with only non-pain diagnoses (hypertension, insomnia, nicotine): no pain diagnosis",
               expect(c, "incomplete", None), (c,), payer="unknown"))

    c = Case(Person("D'Andre", "Jackson"), HADDAD, dob="10/19/1994", mrn="00702253",
             complaint="Treatment-resistant depression; evaluation for ketamine.",
             others=(other("Tamara", "Jackson", "emergency", relation="mother"),),
             dx=(Dx("Major depressive disorder, recurrent, moderate", "F33.1"),
                 Dx("Post-traumatic stress disorder, unspecified", "F43.10"),
                 Dx("Suicidal ideation, passive, no plan", "R45.851")),
             plan=("Plan: ketamine infusion series for treatment-resistant depression; safety plan reviewed.",))
    add(Sample("visit_note_mental_health_only.pdf", "text_pdf",
               "Mental-health only (MDD F33.1, PTSD F43.10, SI): no pain diagnosis",
               expect(c, "incomplete", None), (c,), intake_name="D'Andre Jackson", payer="self_pay"))

    c = Case(Person("Siobhán", "Gallagher"), BERGER, clinic=CLINICS[1], dob="04/01/1982", mrn="HV-118733",
             dx=(Dx("Major depressive disorder, recurrent, moderate", "F33.1"), Dx("Fibromyalgia", "M79.7"),
                 Dx("Generalized anxiety disorder", "F41.1")), others=(NP_OKORO,))
    add(Sample("visit_note_mh_plus_pain.pdf", "text_pdf",
               "Mental health plus fibromyalgia: the pain diagnosis decides",
               expect(c, "complete", ("fibromyalgia", "M79.7")), (c,), intake_name="Siobhan Gallagher"))

    c = Case(Person("François", "Dubois"), ASANTE, dob="02/14/1973", mrn="00731120",
             complaint="Referred for ketamine therapy for depression.",
             hpi=("Denies migraines. Denies neuropathic symptoms. Mild low mood for 2 years.",),
             extra=(("Physical Exam",
                     ("Extremities: no edema, no allodynia, no trophic changes. No evidence of CRPS.",)),),
             dx=(Dx("Generalized anxiety disorder", "F41.1"), Dx("Insomnia, unspecified", "G47.00")),
             plan=("Plan: ketamine infusion series for mood; sleep hygiene.",))
    add(Sample("visit_note_negated.pdf", "text_pdf",
               "Pain named only negated ('Denies migraines', 'No evidence of CRPS'): no pain diagnosis",
               expect(c, "incomplete", None), (c,), intake_name="Francois Dubois", font="serif"))

    c = Case(Person("Renée", "Castillo"), TANAKA, clinic=CLINICS[4], dob="09/09/1988", mrn="LIP-80044",
             others=(other("Esperanza", "Ruiz", "emergency", relation="mother"),),
             family=("Mother: fibromyalgia.", "Father: migraine with aura.", "Sister: depression."),
             dx=(Dx("Bipolar II disorder", "F31.81"), Dx("Insomnia, unspecified", "G47.00")),
             signer=Person("Hiroshi", "Tanaka", credentials="MD"))
    add(Sample("visit_note_family_history.pdf", "text_pdf",
               "Fibromyalgia and migraine only in Family History (mother/father): no pain diagnosis",
               expect(c, "incomplete", None), (c,), intake_name="Renee Castillo"))

    c = Case(Person("Tomás", "Ortega"), NWOSU, dob="12/30/1979", mrn="00745518",
             hpi=("Right ankle sprain 5 months ago; persistent pain and swelling, intermittent color change.",),
             dx=(Dx("R/O CRPS of right lower limb - Budapest criteria incomplete, bone scan ordered"),
                 Dx("Possible fibromyalgia - widespread tenderness, labs pending")),
             plan=("Plan: bone scan; reassess in 2 weeks before any ketamine infusion.",))
    add(Sample("visit_note_uncertain.pdf", "text_pdf",
               "Only uncertain pain diagnoses ('R/O CRPS', 'Possible fibromyalgia'): review",
               expect(c, "needs_review", None), (c,), intake_name="Tomas Ortega"))

    c = Case(Person("Aisha", "Rahman"), MARSH, clinic=CLINICS[3], dob="06/06/1991", mrn="BR-61877",
             pmh=("Migraines in adolescence, resolved.", "Asthma, mild intermittent."),
             dx=(Dx("Major depressive disorder, recurrent, severe without psychotic features", "F33.2"),
                 Dx("Generalized anxiety disorder", "F41.1")))
    add(Sample("visit_note_resolved.pdf", "text_pdf",
               "Pain only as resolved history ('Migraines in adolescence, resolved'): no pain diagnosis",
               expect(c, "incomplete", None), (c,), intake_name="Aisha Rahman"))

    c = Case(Person("Eleanor", "Vance"), HOLM, dob="03/22/1967", mrn="00760093",
             hpi=("58-year-old woman with a history of fibromyalgia presents for ketamine infusion consultation. "
                  "Widespread pain 7/10, non-restorative sleep.",),
             dx=(Dx("History of fibromyalgia - ongoing widespread pain, FIQR 64"),),
             others=(other("Robert", "Vance", "emergency", relation="husband"),))
    add(Sample("visit_note_history_of_fibro.pdf", "text_pdf",
               "'History of fibromyalgia' in a current note names an ongoing condition: counts",
               expect(c, "complete", ("fibromyalgia", "M79.7")), (c,), intake_name="Eleanor Vance"))

    a = Case(Person("Nikolai", "Petrov"), CHU, clinic=CLINICS[1], dob="01/15/1970", mrn="HV-400112",
             dx=(Dx("Complex regional pain syndrome I of right lower limb", "G90.521"),))
    b = Case(Person("Fatima", "Al-Sayed"), BERGER, clinic=CLINICS[1], dob="08/08/1985", mrn="HV-400967",
             dx=(Dx("Fibromyalgia", "M79.7"),))
    add(Sample("two_patients.pdf", "text_pdf",
               "Two patients' notes in one file (page 1 Nikolai Petrov, page 2 Fatima Al-Sayed): review",
               expect(a, "needs_review", ("crps", "G90.521")), (a, b), intake_name="Nikolai Petrov"))

    c = Case(Person("Connor", "O'Malley"), Person("Rafael", "Montoya", credentials="DO", style="dr"),
             clinic=CLINICS[2], dob="05/05/1984", mrn="DS-014450", others=(PA_LEE,),
             dx=(Dx("Trigeminal neuralgia, left V2"),), signer=MONTOYA)
    add(Sample("visit_note_trigeminal_dr.pdf", "text_pdf",
               "TRICARE; 'Dr. Rafael Montoya' in header with a PA-C co-provider; trigeminal neuralgia, no code",
               expect(c, "complete", ("neuropathic_pain", "G50.0")), (c,), intake_name="Connor O'Malley",
               payer="tricare"))

    c = Case(Person("Keisha", "Washington"), FAIRBANKS, clinic=CLINICS[4], dob="02/28/1976", mrn="LIP-82210",
             others=(PCP_HALE, other("Andre", "Washington", "emergency", relation="son")),
             dx=(Dx("Chronic pain syndrome", "G89.4"), Dx("Postlaminectomy syndrome, not elsewhere classified",
                                                         "M96.1")),
             meds=("Oxycodone 5 mg PO q6h PRN", "Naloxone 4 mg nasal spray"))
    add(Sample("avs_chronic_pain_medicaid.pdf", "text_pdf", "Medicaid; AVS with chronic pain syndrome G89.4",
               expect(c, "complete", ("other_pain", "G89.4")), (c,), layout="avs", intake_name="Keisha Washington",
               payer="medicaid"))

    # ---- scans ---------------------------------------------------------------------------------------------------
    c = Case(Person("Olusegun", "Adeyemi"), NWOSU, clinic=CLINICS[0], dob="10/10/1960", mrn="00377210",
             hpi=("Right below-knee amputation 2019 after trauma; phantom limb pain, cramping and burning, 7/10.",),
             dx=(Dx("Phantom limb pain, right lower extremity"),), others=(RN_GREENE,))
    add(Sample("scanned_note_phantom_limb.pdf", "scanned_pdf",
               "Image-only PDF (200 dpi, 1.2 deg), phantom limb pain without code; no intake name",
               expect(c, "complete", ("neuropathic_pain", "G54.6")), (c,), angle=1.2))

    c = Case(Person("Grace", "Kim", style="CAPS"), VESTERGAARD, clinic=CLINICS[3], dob="07/07/1992", mrn="BR-70001",
             provider_label="Attending", others=(other("Daniel", "Kim", "emergency", relation="brother"), PCP_HALE),
             dx=(Dx("Complex regional pain syndrome I of right lower limb", "G90.521"),))
    add(Sample("scanned_note_crps_codes.pdf", "scanned_pdf",
               "Image-only PDF, 1.8 deg skew, patient name in CAPS, CRPS G90.521",
               expect(c, "complete", ("crps", "G90.521")), (c,), intake_name="Grace Kim", angle=-1.8, font="serif"))

    c = Case(Person("Patrick", "Delaney"), DELACROIX, dob="11/11/1981", mrn="00789932",
             hpi=("Denies migraines or chronic headaches. No neuropathic pain.",),
             extra=(("Physical Exam", ("Right hand: full range of motion, no color change. No evidence of CRPS.",)),),
             dx=(Dx("Major depressive disorder, single episode, moderate", "F32.1"),))
    add(Sample("scanned_note_negated.pdf", "scanned_pdf", "Scanned note where pain appears only negated",
               expect(c, "incomplete", None), (c,), intake_name="Patrick Delaney", angle=0.7))

    c = Case(Person("Carmen", "Villanueva", "R", style="LAST_FIRST"), IBARRA, clinic=CLINICS[2],
             provider_label="Attending", mrn="DS-020093", dob="04/04/1974",
             dx=(Dx("Migraine without aura", "G43.009", "Resolved", "1995"), Dx("Fibromyalgia", "M79.7", onset="2016"),
                 Dx("Hypothyroidism", "E03.9", onset="2010")))
    add(Sample("scanned_problem_list_resolved.pdf", "scanned_pdf",
               "Scanned problem list: migraine marked Resolved, fibromyalgia Active (fibromyalgia decides)",
               expect(c, "complete", ("fibromyalgia", "M79.7")), (c,), layout="problems",
               intake_name="VILLANUEVA, CARMEN", angle=0.9))

    c = Case(Person("Yolanda", "Brooks"), FAIRBANKS, clinic=CLINICS[4], dob="12/01/1965", mrn="LIP-83302",
             dx=(Dx("Chronic pain syndrome"), Dx("Lumbar spinal stenosis")), others=(MA_PRUITT,))
    add(Sample("jpeg_scan_chronic_pain.jpg", "jpeg_scan", "JPEG scan; 'chronic pain syndrome' without code",
               expect(c, "complete", ("other_pain", "G89.4")), (c,), intake_name="Yolanda Brooks", angle=0.6))

    c = Case(Person("Trevor", "Haskins"), KOWALCZYK, clinic=CLINICS[3], dob="03/17/1987", mrn="BR-71455",
             dx=(Dx("?CRPS left foot - swelling and allodynia after fracture"),
                 Dx("Possible complex regional pain syndrome; thermography pending")))
    add(Sample("jpeg_scan_uncertain.jpg", "jpeg_scan", "JPEG scan; only '?CRPS' / 'possible CRPS': review",
               expect(c, "needs_review", None), (c,), intake_name="Trevor Haskins", angle=-1.4, font="serif"))

    c = Case(Person("Wei", "Zhang"), ASANTE, dob="08/21/1983", mrn="00801234", provider_label="Attending",
             others=(other("Lin", "Zhang", "emergency", relation="wife"),),
             dx=(Dx("Chronic migraine without aura, intractable, without status migrainosus", "G43.719"),))
    add(Sample("jpeg_scan_migraine.jpg", "jpeg_scan", "JPEG scan; intractable chronic migraine G43.719",
               expect(c, "complete", ("migraine", "G43.719")), (c,), intake_name="Wei Zhang", angle=1.9))

    # ---- faxes ---------------------------------------------------------------------------------------------------
    c = Case(Person("Margaret", "Ellison"), HALVORSEN, dob="01/09/1957", mrn="00812001", others=(REF_WHITMAN,),
             title="New Patient Consultation", complaint="Burning pain in both feet.",
             dx=(Dx("Diabetic peripheral neuropathy"), Dx("Type 2 diabetes mellitus")))
    add(Sample("fax_referral_neuropathy.tif", "tiff_fax",
               "2-page G4 fax: referring MD's cover sheet, then the consult; diabetic peripheral neuropathy, no code",
               expect(c, "complete", ("neuropathic_pain", "E11.42")), (c,), layout="fax_referral",
               intake_name="Margaret Ellison", angle=0.4))

    c = Case(Person("Dmitri", "Volkov"), ASANTE, dob="06/30/1972", mrn="00820417",
             hpi=("Army veteran; chronic widespread pain and nightmares since deployment.",),
             pmh=("Post-traumatic stress disorder", "Lumbar strain (2008)"), meds=ROUTINE_MEDS,
             extra=(("Physical Exam", ("Tender points in 14 of 18 sites.",)),),
             dx=(Dx("Post-traumatic stress disorder, chronic", "F43.12"), Dx("Fibromyalgia", "M79.7")),
             break_before_assessment=True)
    add(Sample("fax_fibro_ptsd.tif", "tiff_fax", "CHAMPVA; 1-bit fax, PTSD plus fibromyalgia: fibromyalgia decides",
               expect(c, "complete", ("fibromyalgia", "M79.7")), (c,), intake_name="Dmitri Volkov",
               payer="champva", font="mono"))

    # ---- phone photos (HEIC) -------------------------------------------------------------------------------------
    c = Case(Person("Lucía", "Fernández"), IBARRA, clinic=CLINICS[2], dob="09/14/1989", mrn="DS-021100",
             dx=(Dx("Chronic migraine without aura, not intractable", "G43.709"),))
    add(Sample("photo_visit_note_migraine.heic", "heic_photo", "iPhone HEIC photo of a printed note; migraine",
               expect(c, "complete", ("migraine", "G43.709")), (c,), intake_name="Lucia Fernandez", angle=1.1))

    c = Case(Person("Beatriz", "Souza"), OBRIEN, clinic=CLINICS[0], mrn="00833310", dob="02/02/1980",
             provider_label="Attending", dx=(Dx("Lumbar radiculopathy", onset="2023"),
                                             Dx("Obesity, unspecified", "E66.9", onset="2018")))
    add(Sample("photo_problem_list_mismatch.heic", "heic_photo",
               "HEIC photo of a problem list; intake 'Patricia Souza' differs from Beatriz Souza: review",
               expect(c, "needs_review", ("neuropathic_pain", "M54.16")), (c,), layout="problems",
               intake_name="Patricia Souza", angle=-0.8))

    # ---- portal screenshots ----------------------------------------------------------------------------------------
    c = Case(Person("Samuel", "Whitfield"), REYES, dob="05/16/1978",
             others=(other("Gregory", "Hale", "pcp", "MD", style="last_first"), NP_OKORO),
             dx=(Dx("Complex regional pain syndrome type 1 of left lower limb"), Dx("Anxiety")))
    add(Sample("mychart_phone_crps.png", "screenshot_phone",
               "Phone portal (light): account holder in header, CRPS in health issues; intake 'WHITFIELD, SAMUEL'",
               expect(c, "complete", ("crps", "G90.522")), (c,), intake_name="WHITFIELD, SAMUEL"))

    c = Case(Person("Astrid", "Nilsen"), OBRIEN, dob="10/31/1993",
             family=("Mother - Fibromyalgia", "Father - Migraines"), dx=(Dx("Insomnia"), Dx("Anxiety disorder")))
    add(Sample("mychart_phone_family_history.png", "screenshot_phone",
               "Phone portal: fibromyalgia/migraine only in the Family History card: no pain diagnosis",
               expect(c, "incomplete", None), (c,), intake_name="Astrid Nilsen"))

    c = Case(Person("Hyun", "Seo"), CHU, others=(PCP_HALE,),
             extra=(("Upcoming Appointments", ("Tue Mar 24 - Infusion visit 9:00 AM", "Fri Apr 10 - Follow-up")),))
    add(Sample("mychart_phone_no_diagnosis.png", "screenshot_phone",
               "Phone portal with visits and care team only, no diagnoses listed: no pain diagnosis",
               expect(c, "incomplete", None), (c,), intake_name="Hyun Seo"))

    c = Case(Person("Priscilla", "Duarte"), BERGER, others=(MA_PRUITT,),
             dx=(Dx("Fibromyalgia"), Dx("Irritable bowel syndrome")))
    add(Sample("mychart_phone_dark_fibro.png", "screenshot_phone_dark", "Phone portal in dark mode; fibromyalgia",
               expect(c, "complete", ("fibromyalgia", "M79.7")), (c,), intake_name="Priscilla Duarte"))

    c = Case(Person("Wendell", "Price"), HADDAD,
             dx=(Dx("Major depressive disorder, recurrent"), Dx("PTSD"), Dx("Alcohol use disorder, in remission")))
    add(Sample("mychart_phone_dark_mh_only.png", "screenshot_phone_dark",
               "Dark-mode phone portal, mental-health issues only: no pain diagnosis",
               expect(c, "incomplete", None), (c,), intake_name="Wendell Price"))

    c = Case(Person("Esperanza", "Ruiz"), DELACROIX, others=(NP_FOSTER, RN_GREENE),
             dx=(Dx("Chronic migraine without aura", "G43.709"), Dx("Vitamin D deficiency", "E55.9")))
    add(Sample("portal_desktop_migraine.png", "screenshot_desktop", "Desktop portal (16 px text) with codes; migraine",
               expect(c, "complete", ("migraine", "G43.709")), (c,), ui_px=16))

    c = Case(Person("Ruth", "Abernathy"), TANAKA, others=(PCP_HALE,),
             dx=(Dx("Postherpetic neuralgia", "B02.29"), Dx("Hyperlipidemia", "E78.5")))
    add(Sample("portal_desktop_small_text.jpg", "screenshot_desktop",
               "Desktop portal JPEG with deliberately small 13 px text; postherpetic neuralgia",
               expect(c, "complete", ("neuropathic_pain", "B02.29")), (c,), intake_name="Ruth Abernathy", ui_px=13))

    c = Case(Person("Gabriel", "Moreau"), VESTERGAARD, others=(PA_LEE,),
             dx=(Dx("Possible fibromyalgia"), Dx("Rule out CRPS, right hand"), Dx("Seasonal allergic rhinitis")))
    add(Sample("portal_desktop_uncertain.png", "screenshot_desktop",
               "Desktop portal (15 px): 'Possible fibromyalgia', 'Rule out CRPS' only: review",
               expect(c, "needs_review", None), (c,), intake_name="Gabriel Moreau", ui_px=15))

    c = Case(Person("Daniel", "Kowalski"), NWOSU, others=(NP_FOSTER,),
             dx=(Dx("Occipital neuralgia", "M54.81"), Dx("Cervicalgia", "M54.2")))
    add(Sample("mychart_phone.webp", "webp", "Phone portal screenshot saved as WEBP; occipital neuralgia",
               expect(c, "complete", ("neuropathic_pain", "M54.81")), (c,), intake_name="Dan Kowalski"))

    # ---- rejected ------------------------------------------------------------------------------------------------
    add(Sample("empty.pdf", "corrupt", "0-byte upload", rejected("empty_file"), raw=lambda r: b""))
    add(Sample("truncated.pdf", "corrupt", "First 1 KiB of a valid PDF (no xref/trailer)",
               rejected("unreadable_file"), raw=truncated_pdf))
    add(Sample("html_disguised.pdf", "corrupt", "An HTML error page saved with a .pdf name",
               rejected("unsupported_type"), raw=html_as_pdf))
    add(Sample("truncated_scan.jpg", "corrupt", "First 1 KiB of a JPEG scan: headers only",
               rejected("unreadable_file"), raw=truncated_jpeg))
    add(Sample("encrypted.pdf", "encrypted_pdf", "Visit note PDF behind a user password",
               rejected("pdf_encrypted"), intake_name="Mary-Kate O'Neil", raw=encrypted_pdf))
    add(Sample("blank_page.pdf", "blank_page", "A PDF whose only page is empty", rejected("no_readable_text"),
               raw=blank_pdf))
    add(Sample("blank_white.png", "blank_page", "A blank white phone-size PNG", rejected("no_readable_text"),
               raw=blank_png))
    return s


SAMPLES = _samples()
