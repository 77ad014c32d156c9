# ruff: noqa: E501 -- the referrer table reads best one referrer, one employment a line.
"""The demo data that `python manage.py seed_demo` loads: a small, fictional integrated care system.

Every name, ODS code and registration number here is invented (the places are Thomas Hardy's
Wessex). Nothing is random, so two runs, or two laptops, get the same data. Dates that must
stay meaningful whatever day the demo is loaded (registration expiry) are offsets in days from
the day of loading; everything else is a fixed date.
"""

import datetime
from dataclasses import dataclass, field

DEMO_PASSWORD = "demo-password-2026"
DEMO_URL = "http://127.0.0.1:8000/"

# --- Organisations -------------------------------------------------------------------------

ICS = "QZ9"
ACUTE_TRUST = "RZ9"
COMMUNITY_TRUST = "RZ8"
GP_MELCHESTER = "J99101"
GP_SANDBOURNE = "J99102"


@dataclass(frozen=True)
class OrganisationSpec:
    ods_code: str
    name: str
    kind: str
    parent: str | None = None


ORGANISATIONS = [
    OrganisationSpec(ICS, "South Wessex Integrated Care Board", "ics"),
    OrganisationSpec(
        ACUTE_TRUST, "Casterbridge University Hospitals NHS Foundation Trust", "nhs_trust", ICS
    ),
    OrganisationSpec(COMMUNITY_TRUST, "Wessex Vale Community Health NHS Trust", "nhs_trust", ICS),
    OrganisationSpec(GP_MELCHESTER, "Melchester Road Surgery", "gp_practice", ICS),
    OrganisationSpec(GP_SANDBOURNE, "Sandbourne Medical Centre", "gp_practice", ICS),
]

# (organisation, department name, site ODS code or "")
DEPARTMENTS = [
    (ACUTE_TRUST, "Emergency department", "RZ901"),
    (ACUTE_TRUST, "Minor injuries unit", "RZ902"),
    (ACUTE_TRUST, "Urgent treatment centre", "RZ901"),
    (ACUTE_TRUST, "Musculoskeletal outpatients", "RZ903"),
    (ACUTE_TRUST, "Respiratory", "RZ901"),
    (ACUTE_TRUST, "Acute oncology service", "RZ901"),
    (ACUTE_TRUST, "Breast care unit", "RZ903"),
    (ACUTE_TRUST, "Maternity", "RZ901"),
    (ACUTE_TRUST, "Radiology", ""),
    (COMMUNITY_TRUST, "Community musculoskeletal service", "RZ801"),
    (COMMUNITY_TRUST, "Minor injuries unit, Shottsford", "RZ802"),
    (COMMUNITY_TRUST, "Community frailty team", ""),
]

# --- People --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonSpec:
    key: str
    email: str
    full_name: str


# One sign-in per role; all share DEMO_PASSWORD. Order is the order printed.
DEMO_LOGINS = [
    ("Referrer", PersonSpec("referrer", "referrer@demo.example", "Aisha Rahman")),
    ("Clinical supervisor", PersonSpec("supervisor", "supervisor@demo.example", "Helen Okafor")),
    ("Entitlement delegate", PersonSpec("delegate", "delegate@demo.example", "Julian Ashby")),
    ("Governance lead", PersonSpec("governance", "governance@demo.example", "Margaret Holloway")),
    (
        "IR(ME)R practitioner",
        PersonSpec("practitioner", "practitioner@demo.example", "Sean Tregear"),
    ),
    ("Organisation administrator", PersonSpec("admin", "admin@demo.example", "Patrick Dunne")),
]
SUPERUSER = PersonSpec("superuser", "superuser@demo.example", "Demo Superuser")

# Clinical supervisors other than the demo one; they cannot sign in (no password).
SUPERVISORS = [
    PersonSpec("penrose", "marcus.penrose@casterbridge.nhs.example", "Marcus Penrose"),
    PersonSpec("osei", "daniel.osei@casterbridge.nhs.example", "Daniel Osei"),
    PersonSpec("lockhart", "fiona.lockhart@casterbridge.nhs.example", "Fiona Lockhart"),
    PersonSpec("rao", "anjali.rao@casterbridge.nhs.example", "Anjali Rao"),
    PersonSpec("morgan", "carys.morgan@casterbridge.nhs.example", "Carys Morgan"),
    PersonSpec("pascoe", "gwen.pascoe@wessexvale.nhs.example", "Gwen Pascoe"),
    PersonSpec("trevelyan", "rachel.trevelyan@melchester.nhs.example", "Rachel Trevelyan"),
    PersonSpec("siddiqui", "imran.siddiqui@sandbourne.nhs.example", "Imran Siddiqui"),
]


@dataclass(frozen=True)
class EmploymentSpec:
    organisation: str
    job_title: str
    level: str
    department: str | None
    supervisor: str  # a PersonSpec key
    starts_on: datetime.date
    ends_on: datetime.date | None = None


@dataclass(frozen=True)
class ReferrerSpec:
    key: str
    email: str
    full_name: str
    profession: str
    regulator: str
    registration_number: str
    # Days from the day of loading: negative means the registration has already lapsed.
    registration_expires_in_days: int
    employments: list[EmploymentSpec] = field(default_factory=list)


def _d(value: str) -> datetime.date:
    return datetime.date.fromisoformat(value)


def _emp(org, title, level, dept, supervisor, starts, ends=None) -> EmploymentSpec:
    return EmploymentSpec(
        org, title, level, dept, supervisor, _d(starts), _d(ends) if ends else None
    )


ED, MIU, UTC = "Emergency department", "Minor injuries unit", "Urgent treatment centre"
MSK, RESP = "Musculoskeletal outpatients", "Respiratory"
ONC, BREAST, MAT, RAD = "Acute oncology service", "Breast care unit", "Maternity", "Radiology"

# fmt: off
REFERRERS = [
    # The demo referrer: an advanced nurse practitioner in the emergency department.
    ReferrerSpec("referrer", "referrer@demo.example", "Aisha Rahman", "nurse", "NMC", "09A4821E", 540, [
        _emp(ACUTE_TRUST, "Advanced nurse practitioner", "advanced", ED, "supervisor", "2021-09-06"),
    ]),
    ReferrerSpec("carver", "ben.carver@casterbridge.nhs.example", "Ben Carver", "nurse", "NMC", "11C2045A", 402, [
        _emp(ACUTE_TRUST, "Emergency nurse practitioner", "enhanced", ED, "supervisor", "2022-03-14"),
    ]),
    ReferrerSpec("hartley", "chloe.hartley@casterbridge.nhs.example", "Chloe Hartley", "paramedic", "HCPC", "PA041873", 611, [
        _emp(ACUTE_TRUST, "Advanced clinical practitioner, paramedic", "advanced", ED, "supervisor", "2020-11-02"),
    ]),
    ReferrerSpec("adeyemi", "samuel.adeyemi@casterbridge.nhs.example", "Samuel Adeyemi", "physiotherapist", "HCPC", "PH112457", 288, [
        _emp(ACUTE_TRUST, "Advanced clinical practitioner, physiotherapy", "advanced", ED, "supervisor", "2023-01-09"),
    ]),
    ReferrerSpec("pemberton", "grace.pemberton@casterbridge.nhs.example", "Grace Pemberton", "nurse", "NMC", "98I1173E", 733, [
        _emp(ACUTE_TRUST, "Consultant nurse, emergency care", "consultant", ED, "supervisor", "2018-05-21"),
    ]),
    ReferrerSpec("oconnor", "liam.oconnor@casterbridge.nhs.example", "Liam O'Connor", "paramedic", "HCPC", "PA058214", -31, [
        _emp(ACUTE_TRUST, "Advanced clinical practitioner, paramedic", "advanced", ED, "supervisor", "2022-08-01"),
    ]),
    ReferrerSpec("price", "owen.price@casterbridge.nhs.example", "Owen Price", "nurse", "NMC", "14E3390W", 455, [
        _emp(ACUTE_TRUST, "Emergency nurse practitioner", "enhanced", MIU, "supervisor", "2024-10-07"),
        _emp(COMMUNITY_TRUST, "Emergency nurse practitioner", "enhanced", "Minor injuries unit, Shottsford", "pascoe", "2019-04-01", "2024-09-30"),
    ]),
    ReferrerSpec("finch", "laura.finch@casterbridge.nhs.example", "Laura Finch", "paramedic", "HCPC", "PA073311", 18, [
        _emp(ACUTE_TRUST, "Emergency care practitioner", "enhanced", MIU, "supervisor", "2023-06-19"),
    ]),
    ReferrerSpec("nair", "priya.nair@casterbridge.nhs.example", "Priya Nair", "nurse", "NMC", "16G0762E", 820, [
        _emp(ACUTE_TRUST, "Emergency nurse practitioner", "enhanced", MIU, "supervisor", "2021-02-01"),
    ]),
    ReferrerSpec("morrison", "jack.morrison@casterbridge.nhs.example", "Jack Morrison", "paramedic", "HCPC", "PA066902", 367, [
        _emp(ACUTE_TRUST, "Advanced clinical practitioner, paramedic", "advanced", UTC, "supervisor", "2022-12-05"),
    ]),
    ReferrerSpec("blake", "hannah.blake@casterbridge.nhs.example", "Hannah Blake", "nurse", "NMC", "05D7718E", 512, [
        _emp(ACUTE_TRUST, "Advanced clinical practitioner, nursing", "advanced", UTC, "supervisor", "2019-07-15"),
    ]),
    ReferrerSpec("mensah", "kwame.mensah@casterbridge.nhs.example", "Kwame Mensah", "doctor", "GMC", "7345128", 244, [
        _emp(ACUTE_TRUST, "Specialty doctor, urgent care", "advanced", UTC, "supervisor", "2023-08-02"),
    ]),
    ReferrerSpec("ashworth", "tom.ashworth@casterbridge.nhs.example", "Tom Ashworth", "physiotherapist", "HCPC", "PH087621", 590, [
        _emp(ACUTE_TRUST, "Advanced practice physiotherapist", "advanced", MSK, "osei", "2019-10-01"),
    ]),
    ReferrerSpec("lloyd", "megan.lloyd@casterbridge.nhs.example", "Megan Lloyd", "physiotherapist", "HCPC", "PH120384", 133, [
        _emp(ACUTE_TRUST, "Extended scope physiotherapist", "enhanced", MSK, "osei", "2024-02-12"),
        _emp(GP_SANDBOURNE, "First contact physiotherapist", "enhanced", None, "siddiqui", "2024-09-02"),
    ]),
    ReferrerSpec("griffiths", "rhys.griffiths@casterbridge.nhs.example", "Rhys Griffiths", "physiotherapist", "HCPC", "PH049956", 677, [
        _emp(ACUTE_TRUST, "Consultant physiotherapist, musculoskeletal", "consultant", MSK, "osei", "2017-03-06"),
    ]),
    ReferrerSpec("chandler", "sophie.chandler@casterbridge.nhs.example", "Sophie Chandler", "podiatrist", "HCPC", "CH031172", 301, [
        _emp(ACUTE_TRUST, "Advanced practice podiatrist, foot and ankle", "advanced", MSK, "osei", "2021-05-10"),
    ]),
    ReferrerSpec("brooks", "nathan.brooks@casterbridge.nhs.example", "Nathan Brooks", "podiatrist", "HCPC", "CH024410", 459, [
        _emp(ACUTE_TRUST, "Consultant podiatric surgeon", "consultant", MSK, "osei", "2016-09-12"),
    ]),
    ReferrerSpec("voss", "eleanor.voss@casterbridge.nhs.example", "Eleanor Voss", "nurse", "NMC", "08B5520E", 388, [
        _emp(ACUTE_TRUST, "Respiratory advanced nurse practitioner", "advanced", RESP, "lockhart", "2020-01-06"),
    ]),
    ReferrerSpec("quinn", "harriet.quinn@casterbridge.nhs.example", "Harriet Quinn", "nurse", "NMC", "99H2214E", 702, [
        _emp(ACUTE_TRUST, "Consultant nurse, respiratory", "consultant", RESP, "lockhart", "2015-11-02"),
    ]),
    ReferrerSpec("kerr", "daniel.kerr@casterbridge.nhs.example", "Daniel Kerr", "pharmacist", "GPhC", "2071846", 215, [
        _emp(ACUTE_TRUST, "Advanced pharmacist practitioner, respiratory", "advanced", RESP, "lockhart", "2022-04-04"),
    ]),
    ReferrerSpec("hussain", "yasmin.hussain@casterbridge.nhs.example", "Yasmin Hussain", "nurse", "NMC", "13F6642E", 27, [
        _emp(ACUTE_TRUST, "Acute oncology clinical nurse specialist", "advanced", ONC, "rao", "2021-06-28"),
    ]),
    ReferrerSpec("begum", "fatima.begum@casterbridge.nhs.example", "Fatima Begum", "pharmacist", "GPhC", "2089135", 330, [
        _emp(ACUTE_TRUST, "Advanced pharmacist practitioner, oncology", "advanced", ONC, "rao", "2023-03-20"),
    ]),
    ReferrerSpec("stanton", "isabel.stanton@casterbridge.nhs.example", "Isabel Stanton", "radiographer", "HCPC", "RA064519", 478, [
        _emp(ACUTE_TRUST, "Advanced practitioner radiographer, breast", "advanced", BREAST, "penrose", "2018-08-13"),
    ]),
    ReferrerSpec("reid", "callum.reid@casterbridge.nhs.example", "Callum Reid", "radiographer", "HCPC", "RA039288", 655, [
        _emp(ACUTE_TRUST, "Consultant radiographer", "consultant", RAD, "penrose", "2014-01-06"),
    ]),
    ReferrerSpec("roberts", "nia.roberts@casterbridge.nhs.example", "Nia Roberts", "midwife", "NMC", "02L4408W", 560, [
        _emp(ACUTE_TRUST, "Consultant midwife", "consultant", MAT, "morgan", "2019-02-04"),
    ]),
    # The community trust.
    ReferrerSpec("pike", "joanna.pike@wessexvale.nhs.example", "Joanna Pike", "physiotherapist", "HCPC", "PH098765", 412, [
        _emp(COMMUNITY_TRUST, "Advanced practice physiotherapist", "advanced", "Community musculoskeletal service", "pascoe", "2020-06-01"),
    ]),
    ReferrerSpec("doyle", "martin.doyle@wessexvale.nhs.example", "Martin Doyle", "nurse", "NMC", "10K3381E", 268, [
        _emp(COMMUNITY_TRUST, "Emergency nurse practitioner", "enhanced", "Minor injuries unit, Shottsford", "pascoe", "2021-10-11"),
    ]),
    ReferrerSpec("ellison", "ruth.ellison@wessexvale.nhs.example", "Ruth Ellison", "podiatrist", "HCPC", "CH045577", 521, [
        _emp(COMMUNITY_TRUST, "Advanced practice podiatrist", "advanced", "Community musculoskeletal service", "pascoe", "2018-04-16"),
    ]),
    ReferrerSpec("lam", "victoria.lam@wessexvale.nhs.example", "Victoria Lam", "nurse", "NMC", "07J9024E", 9, [
        _emp(COMMUNITY_TRUST, "Advanced nurse practitioner, frailty", "advanced", "Community frailty team", "pascoe", "2022-07-04"),
    ]),
    # GP practices: Melchester Road has a shared-responsibility agreement with the acute trust.
    ReferrerSpec("hughes", "peter.hughes@melchester.nhs.example", "Peter Hughes", "paramedic", "HCPC", "PA080146", 344, [
        _emp(GP_MELCHESTER, "Advanced clinical practitioner, paramedic", "advanced", None, "trevelyan", "2023-04-03"),
    ]),
    ReferrerSpec("marsh", "zoe.marsh@melchester.nhs.example", "Zoe Marsh", "nurse", "NMC", "04M1156E", 599, [
        _emp(GP_MELCHESTER, "Advanced nurse practitioner", "advanced", None, "trevelyan", "2020-09-01"),
    ]),
    ReferrerSpec("walsh", "kieran.walsh@melchester.nhs.example", "Kieran Walsh", "physiotherapist", "HCPC", "PH131209", 486, [
        _emp(GP_MELCHESTER, "First contact physiotherapist", "advanced", None, "trevelyan", "2024-01-15"),
    ]),
    ReferrerSpec("rowe", "amelia.rowe@sandbourne.nhs.example", "Amelia Rowe", "pharmacist", "GPhC", "2102257", 190, [
        _emp(GP_SANDBOURNE, "Advanced clinical pharmacist", "advanced", None, "siddiqui", "2023-11-06"),
    ]),
    ReferrerSpec("fry", "dominic.fry@sandbourne.nhs.example", "Dominic Fry", "nurse", "NMC", "06N2290E", -12, [
        _emp(GP_SANDBOURNE, "Advanced nurse practitioner", "advanced", None, "siddiqui", "2019-05-20"),
    ]),
    ReferrerSpec("trent", "lucy.trent@sandbourne.nhs.example", "Lucy Trent", "physiotherapist", "HCPC", "PH127730", 623, [
        _emp(GP_SANDBOURNE, "First contact physiotherapist", "enhanced", None, "siddiqui", "2024-03-04"),
    ]),
]
# fmt: on

# --- The acute trust's examination catalogue ------------------------------------------------


@dataclass(frozen=True)
class ExaminationSpec:
    code: str
    name: str
    modality: str
    body_area: str
    contrast: bool = False


def _x(code, name, modality, body_area, contrast=False) -> ExaminationSpec:
    return ExaminationSpec(code, name, modality, body_area, contrast)


# NICIP-style codes. `ionising` and `mri` follow from the modality; `contrast` is set where
# contrast may be given (it drives the contrast-safety training rule).
EXAMINATIONS = [
    # Plain X-ray
    _x("XCHES", "XR Chest", "XR", "Chest"),
    _x("XABDO", "XR Abdomen", "XR", "Abdomen"),
    _x("XPELV", "XR Pelvis", "XR", "Pelvis"),
    _x("XCSPI", "XR Cervical spine", "XR", "Spine"),
    _x("XTSPI", "XR Thoracic spine", "XR", "Spine"),
    _x("XLSPI", "XR Lumbar spine", "XR", "Spine"),
    _x("XSHOL", "XR Shoulder left", "XR", "Upper limb"),
    _x("XSHOR", "XR Shoulder right", "XR", "Upper limb"),
    _x("XELBL", "XR Elbow left", "XR", "Upper limb"),
    _x("XELBR", "XR Elbow right", "XR", "Upper limb"),
    _x("XWRIL", "XR Wrist left", "XR", "Upper limb"),
    _x("XWRIR", "XR Wrist right", "XR", "Upper limb"),
    _x("XSCAL", "XR Scaphoid left", "XR", "Upper limb"),
    _x("XSCAR", "XR Scaphoid right", "XR", "Upper limb"),
    _x("XHANL", "XR Hand left", "XR", "Upper limb"),
    _x("XHANR", "XR Hand right", "XR", "Upper limb"),
    _x("XHIPL", "XR Hip left", "XR", "Lower limb"),
    _x("XHIPR", "XR Hip right", "XR", "Lower limb"),
    _x("XKNEL", "XR Knee left", "XR", "Lower limb"),
    _x("XKNER", "XR Knee right", "XR", "Lower limb"),
    _x("XANKL", "XR Ankle left", "XR", "Lower limb"),
    _x("XANKR", "XR Ankle right", "XR", "Lower limb"),
    _x("XFOOL", "XR Foot left", "XR", "Lower limb"),
    _x("XFOOR", "XR Foot right", "XR", "Lower limb"),
    # Computed tomography
    _x("CHEAD", "CT Head", "CT", "Head"),
    _x("CCSPI", "CT Cervical spine", "CT", "Spine"),
    _x("CKUB", "CT Kidneys, ureters and bladder", "CT", "Abdomen"),
    _x("CCHEC", "CT Chest with contrast", "CT", "Chest", True),
    _x("CPULA", "CT Pulmonary angiogram", "CT", "Chest", True),
    _x("CABPEC", "CT Abdomen and pelvis with contrast", "CT", "Abdomen and pelvis", True),
    _x(
        "CCAPC",
        "CT Chest, abdomen and pelvis with contrast",
        "CT",
        "Chest, abdomen and pelvis",
        True,
    ),
    # Magnetic resonance
    _x("MKNEL", "MR Knee left", "MR", "Lower limb"),
    _x("MKNER", "MR Knee right", "MR", "Lower limb"),
    _x("MLSPI", "MR Lumbar spine", "MR", "Spine"),
    _x("MCSPI", "MR Cervical spine", "MR", "Spine"),
    _x("MWSPI", "MR Whole spine", "MR", "Spine"),
    _x("MHEAD", "MR Head", "MR", "Head", True),
    _x("MPROS", "MR Prostate", "MR", "Pelvis", True),
    # Ultrasound
    _x("UABDO", "US Abdomen", "US", "Abdomen"),
    _x("UPELV", "US Pelvis", "US", "Pelvis"),
    _x("UURTR", "US Urinary tract", "US", "Abdomen"),
    _x("UTHYR", "US Thyroid", "US", "Neck"),
    _x("UDVTL", "US Doppler deep veins leg left", "US", "Lower limb"),
    _x("UDVTR", "US Doppler deep veins leg right", "US", "Lower limb"),
    _x("USTLU", "US Soft tissue lump", "US", "Soft tissue"),
    # Nuclear medicine
    _x("NBONW", "NM Bone scan whole body", "NM", "Whole body"),
    _x("NLUVQ", "NM Lung ventilation and perfusion", "NM", "Chest"),
    _x("NTHYR", "NM Thyroid", "NM", "Neck"),
    # Fluoroscopy
    _x("FBASW", "FL Barium swallow", "FL", "Oesophagus", True),
    _x("FWSSW", "FL Water-soluble contrast swallow", "FL", "Oesophagus", True),
    _x("FVIDS", "FL Videofluoroscopy swallow", "FL", "Oropharynx", True),
    # Bone densitometry
    _x("DXHIP", "DEXA Hip", "DEXA", "Hip"),
    _x("DXLSP", "DEXA Lumbar spine", "DEXA", "Spine"),
    _x("DXHSP", "DEXA Hip and lumbar spine", "DEXA", "Hip and spine"),
    # Mammography
    _x("XMAMB", "MG Mammogram bilateral", "MG", "Breast"),
    _x("XMAML", "MG Mammogram left", "MG", "Breast"),
    _x("XMAMR", "MG Mammogram right", "MG", "Breast"),
]

EXAMINATION_GROUPS = {
    "Plain film, chest and abdomen": ["XCHES", "XABDO"],
    "Plain film, axial skeleton": ["XCSPI", "XTSPI", "XLSPI", "XPELV"],
    "Plain film, appendicular skeleton": [
        "XSHOL",
        "XSHOR",
        "XELBL",
        "XELBR",
        "XWRIL",
        "XWRIR",
        "XSCAL",
        "XSCAR",
        "XHANL",
        "XHANR",
        "XHIPL",
        "XHIPR",
        "XKNEL",
        "XKNER",
        "XANKL",
        "XANKR",
        "XFOOL",
        "XFOOR",
    ],  # fmt: skip
    "MR, musculoskeletal": ["MKNEL", "MKNER", "MLSPI", "MCSPI"],
    "CT, emergency": ["CHEAD", "CCSPI", "CKUB", "CPULA"],
    "Ultrasound, abdomen and pelvis": ["UABDO", "UPELV", "UURTR"],
}

# --- The acute trust's written procedure -----------------------------------------------------

PROCEDURE_TITLE = "Employer's procedure 7: entitlement of non-medical referrers"
PROCEDURE_VERSION = {
    "number": 1,
    "document_reference": "RZ9-IRMER-EP-07 issue 3",
    "effective_from": _d("2025-04-01"),
    "warning_lead_days": [60, 30, 7],
    "lapse_action": "suspend_items",
    "grace_days": 14,
    "renewal_action": "reinstate",
    "review_interval_months": 24,
    "review_overdue_action": "suspend",
    "audit_frequency_months": 24,
    "audit_minimum_sample": 20,
    "audit_compliance_standard_percent": 90,
    "audit_overdue_action": "warn",
    "feedback_threshold_count": 3,
    "feedback_window_months": 12,
    "feedback_action": "flag",
    "cpd_hours_per_year": 10,
}
PROCEDURE_PUBLISHED_ON = _d("2025-03-17")
# (training kind, required for, validity in months)
TRAINING_RULES = [
    ("radiation_protection", "ionising", 36),
    ("contrast_safety", "contrast", 24),
    ("mri_safety", "mri", 12),
    ("referral_guidelines", "all", 36),
]

# --- Appointments and agreements -----------------------------------------------------------

DELEGATE_APPOINTMENT = {
    "valid_from": _d("2025-04-01"),
    "document_reference": "RZ9 Imaging governance committee, 17 March 2025, minute 6",
}
AGREEMENT = {
    "imaging_provider": ACUTE_TRUST,
    "referring_organisation": GP_MELCHESTER,
    "valid_from": _d("2025-04-01"),
    "document_reference": "SWICB-SRA-2025-004",
}


# Applications at the acute trust, at each stage, so every role has something to look at.
# (referrer key, examination codes and groups asked for, how far it has got)
@dataclass(frozen=True)
class ApplicationSpec:
    referrer: str
    examinations: tuple[str, ...]
    groups: tuple[str, ...]
    stage: str  # "awaiting_endorsement", "under_review", "granted", "granted_item_suspended"
    service_need: str


APPLICATIONS = [
    ApplicationSpec(
        "carver",
        ("XCHES",),
        ("Plain film, appendicular skeleton",),
        "granted",
        "Emergency nurse practitioner in ED seeing minor injuries; plain film requests for "
        "limb injuries and chest radiographs.",
    ),
    ApplicationSpec(
        "pemberton",
        ("XCHES", "XPELV"),
        ("Plain film, appendicular skeleton",),
        "granted_item_suspended",
        "Consultant nurse leading the ED advanced practice team.",
    ),
    ApplicationSpec(
        "hartley",
        ("XCHES",),
        ("Plain film, axial skeleton",),
        "under_review",
        "Advanced paramedic practitioner in ED: trauma and chest presentations.",
    ),
    ApplicationSpec(
        "adeyemi",
        (),
        ("Plain film, appendicular skeleton",),
        "awaiting_endorsement",
        "First-contact physiotherapist for musculoskeletal injuries in ED.",
    ),
]


# Training records (principle 4), dated from the day of loading so their state stays the same
# whatever day the demo is loaded. The acute trust's procedure gives radiation protection and
# referral guidelines 36 months and warns 60 days before expiry, so Ben Carver's radiation
# protection is about to expire; Grace Pemberton's contrast safety waits for a delegate.
@dataclass(frozen=True)
class TrainingRecordSpec:
    referrer: str  # a ReferrerSpec key
    kind: str
    provider: str
    title: str
    months_ago: int  # completed this many months before the day of loading...
    days_later: int = 0  # ...plus this many days
    verified: bool = True
    hours: str | None = None


TRAINING_RECORDS = [
    TrainingRecordSpec(
        "referrer",
        "referral_guidelines",
        "Royal College of Radiologists",
        "iRefer: making the best use of clinical radiology",
        14,
    ),
    TrainingRecordSpec(
        "carver",
        "radiation_protection",
        "NHS England e-Learning for Healthcare",
        "IR(ME)R for referrers",
        36,
        days_later=20,  # expires in 20 days
    ),
    TrainingRecordSpec(
        "carver",
        "referral_guidelines",
        "Royal College of Radiologists",
        "iRefer: making the best use of clinical radiology",
        10,
    ),
    TrainingRecordSpec(
        "carver",
        "cpd",
        "Wessex Imaging Network",
        "Plain film interpretation study day",
        3,
        hours="6",
    ),
    TrainingRecordSpec(
        "pemberton",
        "radiation_protection",
        "NHS England e-Learning for Healthcare",
        "IR(ME)R for referrers",
        12,
    ),
    TrainingRecordSpec(
        "pemberton",
        "referral_guidelines",
        "Royal College of Radiologists",
        "iRefer: making the best use of clinical radiology",
        6,
    ),
    TrainingRecordSpec(
        "pemberton",
        "contrast_safety",
        "Casterbridge radiology department",
        "Contrast media safety for referrers",
        0,
        days_later=-7,
        verified=False,  # waiting for a delegate
    ),
]
