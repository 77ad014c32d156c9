"""A realistic integrated care system at scale, for the benchmark (`manage.py seed_scale`).

The few things each employer has (its organisation, departments, catalogue, written
procedure, delegate, governance lead, IR(ME)R practitioner, administrator) are made through
the services, exactly as an administrator would. The many (referrers, employments,
applications, decisions, entitlements with their scope items, events and letters, training
records) are loaded with COPY, history rows included, so 50,000 referrers load in minutes.

Each referrer has three entitlements: a referral granted about two years ago and superseded
by a variation, the live referral that replaced it, and either a live clinical-evaluation
entitlement or a referral that ended years ago. Nothing is random: a fixed seed, so two runs
make the same data. Dates are relative to `today`, and a share of referrers is due an
automatic action on that day (training lapsed or expiring, registration expired, review
overdue), about 10,000 actions for 50,000 referrers.
"""

import datetime
import random
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta
from django.db import connection, transaction
from django.utils import timezone

from entitlements import services as entitlement_services
from entitlements.modalities import IONISING_MODALITIES, Modality
from entitlements.models import (
    Application,
    ApplicationStatus,
    Decision,
    DecisionOutcome,
    Entitlement,
    EntitlementEvent,
    EntitlementKind,
    EntitlementState,
    EventAction,
    Examination,
    ExaminationGroup,
    Letter,
    ScopeItem,
)
from entitlements.models.letters import CODE_ALPHABET
from entitlements.models.scope import CareSetting
from entitlements.services.letters import letter_title
from referrers import demo_data
from referrers import services as people
from referrers.models import Employment, Organisation, ReferrerProfile, Role, User
from training.models import RecordKind, TrainingRecord

from .copy import copy_rows, next_ids

SEED = 20260302
PASSWORD = "bench-password-2026"
DEPARTMENTS = [
    "Emergency department",
    "Minor injuries unit",
    "Musculoskeletal outpatients",
    "Acute oncology service",
    "Community frailty team",
]
SUPERVISORS_PER_EMPLOYER = 25
FIRST_NAMES = [
    "Aisha",
    "Alex",
    "Amara",
    "Ben",
    "Bethan",
    "Carys",
    "Chen",
    "Chloe",
    "Daniel",
    "Dev",
    "Eleanor",
    "Emeka",
    "Ffion",
    "Grace",
    "Hannah",
    "Harvey",
    "Imran",
    "Isla",
    "Jack",
    "Jade",
    "Kofi",
    "Laura",
    "Leah",
    "Liam",
    "Maya",
    "Megan",
    "Mohammed",
    "Nadia",
    "Niamh",
    "Oliver",
    "Olivia",
    "Omar",
    "Owen",
    "Priya",
    "Rhys",
    "Rosa",
    "Ruth",
    "Sam",
    "Sara",
    "Sean",
    "Sofia",
    "Tom",
    "Uma",
    "Victor",
    "Wen",
    "Yusuf",
    "Zara",
]
SURNAMES = [
    "Adeyemi",
    "Ahmed",
    "Ali",
    "Baker",
    "Begum",
    "Brown",
    "Campbell",
    "Chen",
    "Clarke",
    "Davies",
    "Edwards",
    "Evans",
    "Fraser",
    "Green",
    "Griffiths",
    "Hall",
    "Harris",
    "Hughes",
    "Jackson",
    "James",
    "Jones",
    "Kaur",
    "Khan",
    "Lewis",
    "Lloyd",
    "Martin",
    "Morgan",
    "Morris",
    "Murphy",
    "Nguyen",
    "Okafor",
    "Owen",
    "Patel",
    "Phillips",
    "Price",
    "Rahman",
    "Roberts",
    "Robinson",
    "Shah",
    "Singh",
    "Smith",
    "Taylor",
    "Thomas",
    "Thompson",
    "Turner",
    "Walker",
    "Ward",
    "Watson",
    "White",
    "Williams",
    "Wilson",
    "Wood",
    "Wright",
    "Young",
]
# (profession, regulator, HCPC prefix or "", share)
PROFESSIONS = [
    ("nurse", "NMC", "", 0.55),
    ("physiotherapist", "HCPC", "PH", 0.15),
    ("paramedic", "HCPC", "PA", 0.15),
    ("radiographer", "HCPC", "RA", 0.10),
    ("pharmacist", "GPhC", "", 0.05),
]
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
# Scope profiles: what a kind of referrer is typically entitled to (codes, or G:<group>).
APPENDICULAR = "G:Plain film, appendicular skeleton"
AXIAL = "G:Plain film, axial skeleton"
CHEST_ABDO = "G:Plain film, chest and abdomen"
PROFILES = [
    ["XCHES", APPENDICULAR, AXIAL, "XCSPI", "CHEAD"],  # emergency practitioner
    [APPENDICULAR, AXIAL, "MKNEL", "MKNER", "MLSPI", "USTLU"],  # first-contact MSK
    ["XCHES", "XABDO", "CCHEC", "CABPEC", "UABDO", "NBONW"],  # acute oncology
    [CHEST_ABDO, "G:Ultrasound, abdomen and pelvis", "UDVTL", "UDVTR", "XPELV"],  # frailty
    [APPENDICULAR, "XCHES", "XPELV", "XHIPL", "XHIPR", "XKNEL", "XKNER"],  # minor injuries
    ["XMAMB", "XMAML", "XMAMR", "USTLU", "UTHYR"],  # breast care
]
CLINICAL_EVALUATION_PROFILE = [APPENDICULAR, "XCHES"]
SETTINGS = [["ED", "MIU"], ["OUTPATIENT", "COMMUNITY"], ["ED", "MIU", "INPATIENT"], ["OUTPATIENT"]]
KINDS = [
    RecordKind.RADIATION_PROTECTION,
    RecordKind.REFERRAL_GUIDELINES,
    RecordKind.CONTRAST_SAFETY,
    RecordKind.MRI_SAFETY,
]
# Shares of referrers due an action on `today`.
TRAINING_LAPSED = 0.04
TRAINING_EXPIRING = 0.06
REGISTRATION_EXPIRED = 0.01
REVIEW_OVERDUE = 0.03


@dataclass
class Employer:
    organisation: Organisation
    departments: list
    examinations: dict  # code -> Examination
    groups: dict  # name -> (ExaminationGroup, [Examination])
    version: object
    delegate: User
    appointment: object
    supervisors: list[int] = field(default_factory=list)
    profile_rows: dict = field(default_factory=dict)  # profile index -> letter scope rows


def _aware(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), datetime.UTC)


def _code(n: int) -> str:
    """A unique 12-character verification code per letter id (a bijection of ids, mixed)."""
    value = (n * 1_000_003 + 7_919) % (30**12)
    chars = []
    for _ in range(12):
        value, digit = divmod(value, 30)
        chars.append(CODE_ALPHABET[digit])
    raw = "".join(chars)
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


def _registration(n: int, regulator: str, prefix: str) -> str:
    if regulator == "NMC":
        return f"{n % 100:02d}{LETTERS[(n // 100) % 23]}{(n // 2300) % 10000:04d}{LETTERS[n % 19]}"
    if regulator == "HCPC":
        return f"{prefix}{n:06d}"
    return f"{2_000_000 + n:07d}"


class ScaleSeeder:
    def __init__(self, *, referrers: int, employers: int, today: datetime.date, out=None):
        self.referrer_count = referrers
        self.employer_count = employers
        self.today = today
        self.out = out
        self.random = random.Random(SEED)  # noqa: S311 -- repeatable data, no secrets
        self.employers: list[Employer] = []
        self.counts: dict[str, int] = {}

    def say(self, message: str) -> None:
        if self.out is not None:
            self.out.write(message + "\n")
            self.out.flush()

    # --- The few, through the services -------------------------------------------------------

    def setup(self) -> None:
        if User.objects.filter(email="bench-admin@bench.example").exists():
            raise RuntimeError(
                "This database already has benchmark data: seed_scale loads into an empty "
                "database (drop and create it, then migrate)"
            )
        self.admin = people.user_create(
            email="bench-admin@bench.example",
            full_name="Benchmark Administrator",
            password=PASSWORD,
            by=None,
        )
        ics = people.organisation_create(
            ods_code="QY0", name="Benchmark Integrated Care Board", kind="ics", by=self.admin
        )
        for e in range(self.employer_count):
            self.employers.append(self._employer(e, ics))
        self.say(f"  {len(self.employers)} employers set up through the services")

    def _employer(self, e: int, ics: Organisation) -> Employer:
        ods = f"T{LETTERS[e // 10]}{e % 10}"
        organisation = people.organisation_create(
            ods_code=ods,
            name=f"Benchmark Hospitals {e + 1} NHS Trust",
            kind="nhs_trust",
            parent=ics,
            by=self.admin,
        )
        departments = [
            people.department_create(organisation=organisation, name=name, by=self.admin)
            for name in DEPARTMENTS
        ]
        staff = {}
        for key, role in (
            ("admin", Role.ORGANISATION_ADMINISTRATOR),
            ("governance", Role.GOVERNANCE_LEAD),
            ("practitioner", Role.IRMER_PRACTITIONER),
            ("delegate", None),
        ):
            user = people.user_create(
                email=f"{key}.{ods.lower()}@bench.example",
                full_name=f"{key.title()} of {ods}",
                password=PASSWORD,
                by=self.admin,
            )
            if role:
                people.role_assign(user=user, organisation=organisation, role=role, by=self.admin)
            staff[key] = user
        for spec in demo_data.EXAMINATIONS:
            entitlement_services.examination_create(
                organisation=organisation,
                code=spec.code,
                name=spec.name,
                modality=spec.modality,
                body_area=spec.body_area,
                ionising=spec.modality in IONISING_MODALITIES,
                contrast=spec.contrast,
                mri=spec.modality == Modality.MR,
                by=staff["admin"],
            )
        examinations = {x.code: x for x in Examination.objects.filter(organisation=organisation)}
        for name, codes in demo_data.EXAMINATION_GROUPS.items():
            entitlement_services.examination_group_create(
                organisation=organisation,
                name=name,
                examinations=[examinations[c] for c in codes],
                by=staff["admin"],
            )
        groups = {
            g.name: (g, [examinations[c] for c in demo_data.EXAMINATION_GROUPS[g.name]])
            for g in ExaminationGroup.objects.filter(organisation=organisation)
        }
        rules = dict(demo_data.PROCEDURE_VERSION)
        rules.pop("number")
        rules["document_reference"] = f"{ods}-IRMER-EP-07 issue 3"
        version = entitlement_services.procedure_version_create_draft(
            organisation=organisation,
            rules=rules,
            training_rules=[
                entitlement_services.TrainingRuleData(kind, required_for, months)
                for kind, required_for, months in demo_data.TRAINING_RULES
            ],
            by=staff["admin"],
            procedure_title=demo_data.PROCEDURE_TITLE,
        )
        version = entitlement_services.procedure_version_publish(
            version=version, by=staff["admin"], today=demo_data.PROCEDURE_PUBLISHED_ON
        )
        appointment = people.delegate_appointment_create(
            organisation=organisation,
            delegate=staff["delegate"],
            valid_from=datetime.date(2020, 1, 1),
            document_reference=f"{ods} imaging governance committee, minute 6",
            all_modalities=True,
            by=staff["admin"],
        )
        return Employer(
            organisation=organisation,
            departments=departments,
            examinations=examinations,
            groups=groups,
            version=version,
            delegate=staff["delegate"],
            appointment=appointment,
        )

    # --- The many, with COPY ---------------------------------------------------------------

    def load(self) -> dict[str, int]:
        n = self.referrer_count
        rnd = self.random
        now = timezone.now()
        supervisors_total = SUPERVISORS_PER_EMPLOYER * len(self.employers)
        user_ids = iter(next_ids(User, n + supervisors_total))
        users, profiles, employments = [], [], []
        for employer in self.employers:
            for s in range(SUPERVISORS_PER_EMPLOYER):
                uid = next(user_ids)
                employer.supervisors.append(uid)
                users.append(
                    {
                        "id": uid,
                        "password": "!",
                        "email": f"supervisor{s}.{employer.organisation.ods_code.lower()}"
                        "@bench.example",
                        "full_name": f"Dr {rnd.choice(FIRST_NAMES)} {rnd.choice(SURNAMES)}",
                        "is_active": True,
                        "is_staff": False,
                        "is_superuser": False,
                        "date_joined": now,
                    }
                )
        profile_ids = iter(next_ids(ReferrerProfile, n))
        employment_ids = iter(next_ids(Employment, n))
        people_rows = []  # (profile id, employment id, employer, status flags)
        weights = [p[3] for p in PROFESSIONS]
        for i in range(n):
            uid, pid, eid = next(user_ids), next(profile_ids), next(employment_ids)
            employer = self.employers[i % len(self.employers)]
            profession, regulator, prefix, _ = rnd.choices(PROFESSIONS, weights)[0]
            name = f"{rnd.choice(FIRST_NAMES)} {rnd.choice(SURNAMES)}"
            draw = rnd.random()
            status = (
                "lapsed"
                if draw < TRAINING_LAPSED
                else "expiring"
                if draw < TRAINING_LAPSED + TRAINING_EXPIRING
                else "registration"
                if draw < TRAINING_LAPSED + TRAINING_EXPIRING + REGISTRATION_EXPIRED
                else "review"
                if draw
                < TRAINING_LAPSED + TRAINING_EXPIRING + REGISTRATION_EXPIRED + REVIEW_OVERDUE
                else "ok"
            )
            joined = self.today - datetime.timedelta(days=rnd.randint(900, 2500))
            users.append(
                {
                    "id": uid,
                    "password": "!",
                    "email": f"referrer{i}@bench.example",
                    "full_name": name,
                    "is_active": True,
                    "is_staff": False,
                    "is_superuser": False,
                    "date_joined": _aware(joined),
                }
            )
            expires = (
                self.today - datetime.timedelta(days=rnd.randint(1, 30))
                if status == "registration"
                else self.today + datetime.timedelta(days=rnd.randint(60, 700))
            )
            profiles.append(
                {
                    "id": pid,
                    "user_id": uid,
                    "profession": profession,
                    "regulator": regulator,
                    "registration_number": _registration(i, regulator, prefix),
                    "registration_expires_on": expires,
                    "registration_lapsed": False,
                    "_when": _aware(joined),
                }
            )
            department = employer.departments[i % len(employer.departments)]
            employments.append(
                {
                    "id": eid,
                    "referrer_id": pid,
                    "organisation_id": employer.organisation.pk,
                    "job_title": f"Advanced {profession.replace('_', ' ')} practitioner",
                    "level": rnd.choice(["enhanced", "advanced", "advanced", "consultant"]),
                    "department_id": department.pk,
                    "clinical_supervisor_id": rnd.choice(employer.supervisors),
                    "starts_on": joined,
                    "ends_on": None,
                }
            )
            people_rows.append((pid, eid, employer, status, uid, name, profession, regulator, i))
        self.counts["users"] = copy_rows(User, users, history_date="date_joined")
        del users
        self.counts["referrer profiles"] = copy_rows(
            ReferrerProfile, profiles, history_date="_when"
        )
        profile_by_id = {p["id"]: p for p in profiles}
        del profiles
        self.counts["employments"] = copy_rows(Employment, employments, history_date="starts_on")
        employment_by_id = {e["id"]: e for e in employments}
        del employments
        self.say(f"  {n} referrers, their users and employments")
        self._entitlements(people_rows, profile_by_id, employment_by_id)
        self._training(people_rows)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        return self.counts

    def _scope(self, employer: Employer, profile: list[str], settings: list[str], age_min: int):
        items = []
        for subject in profile:
            item = {
                "age_min": age_min,
                "age_max": None,
                "settings": settings,
                "clinical_indications": "As iRefer guidance for the presenting complaint",
                "exclusions": "Pregnancy not excluded" if subject.startswith("X") else "",
                "state": "active",
                "suspended_at": None,
                "suspended_reason": "",
            }
            if subject.startswith("G:"):
                item["group_id"] = employer.groups[subject[2:]][0].pk
                item["examination_id"] = None
            else:
                item["examination_id"] = employer.examinations[subject].pk
                item["group_id"] = None
            items.append(item)
        return items

    def _scope_rows(self, employer: Employer, profile: list[str], settings, age_min: int):
        """What a letter says of a scope (as `services.letters._scope_row` writes it)."""
        labels = dict(CareSetting.choices)
        rows = []
        for subject in profile:
            if subject.startswith("G:"):
                _group, members = employer.groups[subject[2:]]
                head = {
                    "name": f"{subject[2:]} (group)",
                    "code": "",
                    "modality": ", ".join(sorted({Modality(x.modality).label for x in members})),
                }
            else:
                x = employer.examinations[subject]
                head = {"name": x.name, "code": x.code, "modality": Modality(x.modality).label}
            rows.append(
                {
                    **head,
                    "age_range": f"{age_min} years and over" if age_min else "Any age",
                    "settings": ", ".join(labels[s] for s in settings),
                    "clinical_indications": "As iRefer guidance for the presenting complaint",
                    "exclusions": "",
                    "state": "Active",
                    "suspended_reason": "",
                }
            )
        return rows

    def _entitlements(self, people_rows, profile_by_id, employment_by_id) -> None:
        rnd = self.random
        n = len(people_rows)
        application_ids = iter(next_ids(Application, 3 * n))
        decision_ids = iter(next_ids(Decision, 3 * n))
        entitlement_ids = iter(next_ids(Entitlement, 3 * n))
        event_ids = iter(next_ids(EntitlementEvent, 6 * n))
        letter_ids = iter(next_ids(Letter, 3 * n))
        item_ids = iter(next_ids(ScopeItem, 30 * n))
        applications, decisions, entitlements, events, letters, items = [], [], [], [], [], []
        training_by_version = {}
        for employer in self.employers:
            training_by_version[employer.version.pk] = [
                {
                    "training": rule.get_training_kind_display(),
                    "required_for": rule.get_required_for_display(),
                    "validity_months": rule.validity_months,
                }
                for rule in employer.version.training_rules.all()
            ]
        self.due_reviews = 0
        for pid, eid, employer, status, _uid, name, profession, regulator, i in people_rows:
            organisation = employer.organisation
            delegate = employer.delegate
            supervisor = employment_by_id[eid]["clinical_supervisor_id"]
            live_granted = self.today - datetime.timedelta(days=rnd.randint(30, 700))
            if status == "review":
                review_due = self.today - datetime.timedelta(days=rnd.randint(1, 30))
                live_granted = review_due - relativedelta(months=24)
            else:
                review_due = live_granted + relativedelta(months=24)
            old_granted = live_granted - datetime.timedelta(days=rnd.randint(500, 800))
            third_is_evaluation = i % 2 == 0
            plan = [
                # (kind, state, granted, ended, profile, supersedes-previous)
                (
                    EntitlementKind.REFERRAL,
                    EntitlementState.SUPERSEDED,
                    old_granted,
                    live_granted,
                    PROFILES[i % len(PROFILES)][:-1],
                    False,
                ),
                (
                    EntitlementKind.REFERRAL,
                    EntitlementState.ACTIVE,
                    live_granted,
                    None,
                    PROFILES[i % len(PROFILES)],
                    True,
                ),
            ]
            if third_is_evaluation:
                plan.append(
                    (
                        EntitlementKind.CLINICAL_EVALUATION,
                        EntitlementState.ACTIVE,
                        live_granted + datetime.timedelta(days=7),
                        None,
                        CLINICAL_EVALUATION_PROFILE,
                        False,
                    )
                )
            else:
                start = old_granted - datetime.timedelta(days=rnd.randint(400, 900))
                plan.insert(
                    0,
                    (
                        EntitlementKind.REFERRAL,
                        EntitlementState.EXPIRED,
                        start,
                        start + datetime.timedelta(days=300),
                        PROFILES[(i + 1) % len(PROFILES)][:3],
                        False,
                    ),
                )
            settings = SETTINGS[i % len(SETTINGS)]
            age_min = 16 if i % 3 else 0
            previous = None
            for kind, state, granted, ended, profile, supersedes in plan:
                aid, did, ent = next(application_ids), next(decision_ids), next(entitlement_ids)
                granted_at = _aware(granted)
                applications.append(
                    {
                        "id": aid,
                        "referrer_id": pid,
                        "employment_id": eid,
                        "organisation_id": organisation.pk,
                        "kind": kind,
                        "status": ApplicationStatus.GRANTED,
                        "variation_of_id": previous if supersedes else None,
                        "service_need": "Requests imaging for patients seen in the service.",
                        "expected_volume": rnd.randint(5, 60),
                        "clinical_supervisor_id": supervisor,
                        "decision_line": "Clinical supervisor, then service lead",
                        "accountability_line": "Service lead, then clinical director",
                        "created_at": granted_at - datetime.timedelta(days=20),
                        "updated_at": granted_at,
                        "submitted_at": granted_at - datetime.timedelta(days=14),
                        "under_review_since": granted_at - datetime.timedelta(days=7),
                        "closed_at": granted_at,
                    }
                )
                decisions.append(
                    {
                        "id": did,
                        "application_id": aid,
                        "delegate_id": delegate.pk,
                        "appointment_id": employer.appointment.pk,
                        "outcome": DecisionOutcome.GRANTED,
                        "rationale": "Meets the criteria of the employer's procedure.",
                        "created_at": granted_at,
                    }
                )
                changed = _aware(ended) if ended else granted_at
                reason = {
                    EntitlementState.SUPERSEDED: "Replaced by a variation",
                    EntitlementState.EXPIRED: "The referrer moved to another role",
                }.get(state, "")
                history = [
                    {
                        "history_date": granted_at,
                        "history_type": "+",
                        "state": "active",
                        "state_changed_at": granted_at,
                        "state_reason": "",
                    }
                ]
                if state != EntitlementState.ACTIVE:
                    history.append(
                        {
                            "history_date": changed,
                            "history_type": "~",
                            "state": state,
                            "state_changed_at": changed,
                            "state_reason": reason,
                        }
                    )
                entitlements.append(
                    {
                        "id": ent,
                        "referrer_id": pid,
                        "employment_id": eid,
                        "organisation_id": organisation.pk,
                        "kind": kind,
                        "state": state,
                        "application_id": aid,
                        "decision_id": did,
                        "granted_by_id": delegate.pk,
                        "delegate_appointment_id": employer.appointment.pk,
                        "procedure_version_id": employer.version.pk,
                        "granted_at": granted_at,
                        "review_due_on": review_due
                        if state == EntitlementState.ACTIVE
                        else granted + relativedelta(months=24),
                        "clinical_supervisor_id": supervisor,
                        "decision_line": "Clinical supervisor, then service lead",
                        "accountability_line": "Service lead, then clinical director",
                        "supersedes_id": previous if supersedes else None,
                        "state_changed_at": changed,
                        "state_reason": reason,
                        "_history": [{**change} for change in history],
                    }
                )
                for item in self._scope(employer, profile, settings, age_min):
                    items.append(
                        {
                            **item,
                            "id": next(item_ids),
                            "entitlement_id": ent,
                            "_when": granted_at,
                        }
                    )
                event = next(event_ids)
                events.append(
                    {
                        "id": event,
                        "entitlement_id": ent,
                        "action": EventAction.GRANTED,
                        "to_state": "active",
                        "actor_id": delegate.pk,
                        "reason": "Granted as applied for",
                        "occurred_at": granted_at,
                        "idempotency_key": None,
                    }
                )
                letter = next(letter_ids)
                letters.append(
                    {
                        "id": letter,
                        "entitlement_id": ent,
                        "event_id": event,
                        "status": "pending",
                        "verification_code": _code(letter),
                        "content": self._letter(
                            employer,
                            ent=ent,
                            kind=kind,
                            granted_at=granted_at,
                            supersedes=previous if supersedes else None,
                            name=name,
                            profession=profession,
                            profile=profile,
                            settings=settings,
                            age_min=age_min,
                            registration=f"{regulator}:"
                            + profile_by_id[pid]["registration_number"],
                            employment=employment_by_id[eid],
                            review_due=review_due,
                            training=training_by_version[employer.version.pk],
                        ),
                        "created_at": granted_at,
                        "attempts": 0,
                    }
                )
                if state != EntitlementState.ACTIVE:
                    events.append(
                        {
                            "id": next(event_ids),
                            "entitlement_id": ent,
                            "action": state,
                            "from_state": "active",
                            "to_state": state,
                            "actor_id": delegate.pk,
                            "reason": reason,
                            "occurred_at": changed,
                            "idempotency_key": None,
                        }
                    )
                if kind == EntitlementKind.REFERRAL:
                    previous = ent
        self.counts["applications"] = copy_rows(Application, applications)
        del applications
        self.counts["decisions"] = copy_rows(Decision, decisions)
        del decisions
        self.counts["entitlements"] = copy_rows(
            Entitlement, entitlements, history_date="granted_at"
        )
        del entitlements
        self.counts["scope items"] = copy_rows(ScopeItem, items, history_date="_when")
        del items
        self.counts["entitlement events"] = copy_rows(EntitlementEvent, events)
        del events
        self.counts["letters"] = copy_rows(Letter, letters)
        self.say(
            f"  {self.counts['entitlements']} entitlements, {self.counts['scope items']} scope "
            f"items, {self.counts['letters']} letters"
        )

    def _letter(self, employer, **values) -> dict:
        """What the letter of a grant states (keys as `services.letters.letter_content`)."""
        return self._letter_content(employer, **values)

    def _letter_content(
        self,
        employer,
        *,
        ent,
        kind,
        granted_at,
        supersedes,
        name,
        profession,
        profile,
        settings,
        age_min,
        registration,
        employment,
        review_due,
        training,
    ) -> dict:
        organisation = employer.organisation
        appointment = employer.appointment
        return {
            "title": letter_title(EventAction.GRANTED, varied=bool(supersedes)),
            "reference": f"ENT-{ent:06d}",
            "supersedes": f"ENT-{supersedes:06d}" if supersedes else "",
            "kind": EntitlementKind(kind).label,
            "state": "Active",
            "event": {
                "code": "granted",
                "action": "Granted",
                "reason": "Granted as applied for",
                "by": employer.delegate.full_name,
                "occurred_at": timezone.localtime(granted_at).isoformat(),
            },
            "employer": {"name": organisation.name, "ods_code": organisation.ods_code},
            "referrer": {
                "name": name,
                "profession": profession.replace("_", " ").capitalize(),
                "registration": registration,
            },
            "employment": {
                "employer": organisation.name,
                "job_title": employment["job_title"],
                "level": employment["level"].capitalize(),
                "department": next(
                    d.name for d in employer.departments if d.pk == employment["department_id"]
                ),
            },
            "scope": self._scope_rows(employer, profile, settings, age_min),
            "supervision": {
                "clinical_supervisor": "",
                "decision_line": "Clinical supervisor, then service lead",
                "accountability_line": "Service lead, then clinical director",
            },
            "training": training,
            "review_due_on": review_due.isoformat(),
            "granted_at": timezone.localtime(granted_at).date().isoformat(),
            "delegate": {
                "name": employer.delegate.full_name,
                "appointment": appointment.document_reference,
                "appointment_from": appointment.valid_from.isoformat(),
                "appointment_to": "",
                "modalities": appointment.modality_labels(),
            },
            "procedure": {
                "label": employer.version.label,
                "document_reference": employer.version.document_reference,
                "effective_from": employer.version.effective_from.isoformat(),
            },
            "issued_on": timezone.localtime(granted_at).date().isoformat(),
        }

    def _training(self, people_rows) -> None:
        rnd = self.random
        records = []
        ids = iter(next_ids(TrainingRecord, 7 * len(people_rows)))
        for pid, _eid, employer, status, uid, *_rest in people_rows:
            delegate = employer.delegate.pk
            for kind in KINDS:
                if kind == RecordKind.RADIATION_PROTECTION and status == "lapsed":
                    completed = (
                        self.today
                        - relativedelta(months=36)
                        - datetime.timedelta(days=rnd.randint(1, 20))
                    )
                elif kind == RecordKind.RADIATION_PROTECTION and status == "expiring":
                    completed = (
                        self.today
                        - relativedelta(months=36)
                        + datetime.timedelta(days=rnd.randint(10, 55))
                    )
                else:
                    completed = self.today - datetime.timedelta(days=rnd.randint(10, 250))
                records.append(self._record(next(ids), pid, kind, completed, uid, delegate))
                if kind == RecordKind.RADIATION_PROTECTION and rnd.random() < 0.5:
                    # The record this one renewed: history the queue and letters ignore.
                    records.append(
                        self._record(
                            next(ids),
                            pid,
                            kind,
                            completed - relativedelta(months=36),
                            uid,
                            delegate,
                        )
                    )
            cpd = self._record(
                next(ids),
                pid,
                RecordKind.CPD,
                self.today - datetime.timedelta(days=90),
                uid,
                delegate,
            )
            cpd["hours"] = 12
            records.append(cpd)
        self.counts["training records"] = copy_rows(
            TrainingRecord, records, history_date="recorded_at"
        )
        self.say(f"  {self.counts['training records']} training records")

    @staticmethod
    def _record(rid, pid, kind, completed, uid, delegate) -> dict:
        recorded = _aware(completed + datetime.timedelta(days=2))
        return {
            "id": rid,
            "referrer_id": pid,
            "kind": kind,
            "title": f"{RecordKind(kind).label} e-learning",
            "provider": "e-Learning for Healthcare",
            "completed_on": completed,
            "certificate_expires_on": None,
            "hours": None,
            "certificate": "",
            "source": "entered",
            "training_import_id": None,
            "recorded_by_id": uid,
            "recorded_at": recorded,
            "verified_by_id": delegate,
            "verified_at": recorded + datetime.timedelta(days=1) if delegate else None,
            "rejected_by_id": None,
            "rejected_at": None,
        }


def seed_scale(*, referrers: int, employers: int, today: datetime.date, out=None) -> dict:
    """Load the benchmark data set into an empty PostgreSQL database (one transaction)."""
    if connection.vendor != "postgresql":
        raise RuntimeError("seed_scale loads with PostgreSQL's COPY: set DATABASE_URL")
    seeder = ScaleSeeder(referrers=referrers, employers=employers, today=today, out=out)
    with transaction.atomic():
        seeder.setup()
        counts = seeder.load()
    return counts
