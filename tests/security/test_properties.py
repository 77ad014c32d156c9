"""Bad input never breaks a page or half-saves: property-based tests (Hypothesis) on every
form of the site, the CSV imports and the API's parameters.

Forms are found, not listed: every URL whose view has a `form_class` and answers POST must be
in TARGETS (who may post there, and the objects its URL names) or in EXEMPT (with the reason),
so a new form is tested as soon as it exists. For each, the test signs in as that persona,
reads the form's fields from the page (as a browser would), and posts what the page would
send with any of the fields replaced by arbitrary text, unicode, huge values, the wrong type
or several values. It asserts: never a 5xx; and when the form is shown again (200: refused),
no row of any table of our apps, nor of any history table, was added, changed or removed.
Each example runs in a savepoint that is rolled back, so every example sees the same data.
"""

import datetime
import hashlib
import io
import re
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from entitlements.models import Examination
from referrers.models import Role
from tests.factories import EmploymentFactory, ReferrerProfileFactory, UserFactory, give_role
from tests.journeys import apply, grant

EXAMPLES = 6
HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # nothing written to .hypothesis/
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- What may be posted ---------------------------------------------------------------------

NASTY = [
    "",
    " ",
    "0",
    "-1",
    "1e309",
    "NaN",
    "Infinity",
    "2147483648",
    "-9223372036854775809",
    "9" * 400,
    "2026-02-30",
    "31/12/9999",
    "0000-00-00",
    "A" * 100_000,
    "\x00",
    "a\x00b",
    "\u202egnp.exe",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓ ü 日本語 🩻",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    '=HYPERLINK("http://example.com")',
    "\r\n\r\n",
    "true",
    "[]",
    "{}",
]
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
one_value = st.one_of(st.sampled_from(NASTY), texts, st.integers().map(str))
values = st.one_of(one_value, st.lists(one_value, min_size=2, max_size=3))


def uploads(name: str = "file") -> st.SearchStrategy:
    return st.builds(
        lambda content, filename: SimpleUploadedFile(filename, content),
        st.one_of(st.binary(max_size=2000), st.just(b"%PDF-1.4\n" + b"\x00" * 100)),
        st.sampled_from(["evidence.pdf", "x.csv", "../../etc/passwd", "日本.png", "a" * 300]),
    )


def csv_files(columns: tuple[str, ...], cells: list[str]) -> st.SearchStrategy:
    """A CSV upload with the right header (usually) and rows of likely and unlikely cells."""
    cell = st.one_of(st.sampled_from(cells), st.sampled_from(NASTY[:13]), texts)
    row = st.lists(cell, min_size=len(columns) - 1, max_size=len(columns) + 1)
    header = st.one_of(st.just(list(columns)), st.permutations(list(columns)), st.lists(texts))

    def build(header, rows, encoding, bom):
        out = io.StringIO()
        for line in [header, *rows]:
            out.write(",".join('"' + str(v).replace('"', '""') + '"' for v in line) + "\r\n")
        data = out.getvalue().encode(encoding, errors="replace")
        return SimpleUploadedFile("import.csv", (b"\xef\xbb\xbf" if bom else b"") + data)

    return st.builds(
        build,
        header,
        st.lists(row, max_size=8),
        st.sampled_from(["utf-8", "latin-1", "utf-16"]),
        st.booleans(),
    )


# --- Reading a form as a browser would ------------------------------------------------------


class FormFields(HTMLParser):
    """The fields of the page's POST forms, and what a browser would send untouched."""

    def __init__(self, method: str = "post"):
        super().__init__()
        self.method = method
        self.in_post_form = False
        self.baseline: dict[str, list] = {}
        self.files: set[str] = set()
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.in_post_form = (attrs.get("method") or "get").lower() == self.method
        if not self.in_post_form:
            return
        name = attrs.get("name")
        if tag == "input" and name and name != "csrfmiddlewaretoken":
            kind = (attrs.get("type") or "text").lower()
            if kind == "file":
                self.files.add(name)
                self.baseline.setdefault(name, [])
            elif kind in ("checkbox", "radio"):
                self.baseline.setdefault(name, [])
                if "checked" in attrs:
                    self.baseline[name].append(attrs.get("value") or "on")
            elif kind not in ("submit", "button"):
                self.baseline.setdefault(name, []).append(attrs.get("value") or "")
        elif tag == "select" and name:
            self._select = name
            self.baseline.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in attrs:
            self.baseline[self._select].append(attrs.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.baseline.setdefault(name, [""])

    def handle_data(self, data):
        if self._textarea:
            self.baseline[self._textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_post_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_fields(html: str) -> FormFields:
    """The page's POST form, or (a search or check page) its GET form."""
    for method in ("post", "get"):
        parser = FormFields(method)
        parser.feed(html)
        if parser.baseline:
            return parser
    return parser


def post_data(fields: FormFields, overrides: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    """What the page would send, with any field replaced by something arbitrary."""
    strategies = {}
    for name, baseline in fields.baseline.items():
        if name in overrides:
            strategies[name] = st.one_of(overrides[name], st.just(None))
        elif name in fields.files:
            strategies[name] = st.one_of(st.just(None), uploads())
        else:
            strategies[name] = st.one_of(st.just(baseline), values, st.just(None))
    return st.fixed_dictionaries(strategies).map(
        lambda data: {k: v for k, v in data.items() if v is not None and v != []}
    )


# --- Nothing half-saved ---------------------------------------------------------------------


def _tables() -> list:
    models = []
    for label in ("referrers", "entitlements", "training", "audits"):
        models.extend(apps.get_app_config(label).get_models())
    return models


def snapshot() -> dict:
    """Every table of our apps and their history: how many rows and a digest of them all."""
    state = {}
    with connection.cursor() as cursor:
        for model in _tables():
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT * FROM {table} ORDER BY 1")  # noqa: S608 - our own tables
            rows = cursor.fetchall()
            state[model._meta.label] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return state


def changed(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after[label]]


# --- Who posts where ------------------------------------------------------------------------


@pytest.fixture
def world(
    trust,
    referrer,
    supervisor,
    delegate,
    org_admin,
    governance_lead,
    practitioner,
    catalogue,
    procedure,
):
    """An entitlement (granted), an application under review, a draft and one awaiting
    endorsement, a second referrer with a training record, and a delegate appointment."""
    entitlement = grant(
        apply(referrer, trust, [catalogue["xr_chest"]], supervisor=supervisor, until="endorsed"),
        delegate,
    )
    people = {}
    for key, name in (("reviewed", "Ravi"), ("endorsing", "Esi"), ("drafting", "Dana")):
        profile = ReferrerProfileFactory(
            user=UserFactory(email=f"{name.lower()}@example.nhs.uk", full_name=f"{name} Test")
        )
        EmploymentFactory(referrer=profile, organisation=trust, clinical_supervisor=supervisor)
        give_role(profile.user, trust, Role.REFERRER)
        people[key] = profile
    under_review = apply(
        people["reviewed"].user,
        trust,
        [catalogue["ct_head"]],
        supervisor=supervisor,
        until="endorsed",
    )
    endorsing = apply(
        people["endorsing"].user, trust, [catalogue["xr_chest"]], supervisor=supervisor
    )
    draft = apply(
        people["drafting"].user,
        trust,
        [catalogue["xr_chest"]],
        supervisor=supervisor,
        until="draft",
    )
    from training import services as training_services

    record = training_services.training_record_add(
        referrer=people["drafting"],
        by=people["drafting"].user,
        kind="radiation_protection",
        provider="e-LfH",
        completed_on=datetime.date(2025, 6, 1),
    )
    # The audits pages: an audit of the entitlement, and an inappropriate-referral report.
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from audits import services as audit_services

    submitted = audit_services.audit_cycle_schedule(entitlement=entitlement, by=delegate)
    type(submitted).objects.filter(pk=submitted.pk).update(minimum_sample=1)
    submitted.refresh_from_db()
    extract = (
        "request_date,examination_code,patient_age,setting,clinical_indication,"
        f"referrer_registration\n{timezone.localdate():%Y-%m-%d},"
        f"{catalogue['xr_chest'].code},40,OUTPATIENT,,{referrer.referrer_profile.registration_number}\n"
    )
    audit_services.audit_extract_upload(
        cycle=submitted,
        by=referrer,
        file=SimpleUploadedFile("extract.csv", extract.encode(), "text/csv"),
    )
    # Submitting it opens the next audit: one to review, one to upload to.
    submitted = audit_services.audit_cycle_submit(
        cycle=submitted, by=referrer, reflection="Within scope."
    )
    cycle = type(submitted).objects.get(entitlement=entitlement, number=submitted.number + 1)
    report = audit_services.inappropriate_referral_record(
        organisation=trust,
        by=practitioner,
        referrer=referrer.referrer_profile,
        examination=catalogue["xr_chest"],
        referred_on=datetime.date(2026, 1, 5),
        category="not_meeting_guidelines",
        details="Requested without a clinical question.",
    )
    return {
        "trust": trust,
        "cycle": cycle,
        "submitted": submitted,
        "report": report,
        "personas": {
            "practitioner": practitioner,
            "referrer": referrer,
            "supervisor": supervisor,
            "delegate": delegate,
            "org_admin": org_admin,
            "governance_lead": governance_lead,
            "drafting": people["drafting"].user,
        },
        "entitlement": entitlement,
        "under_review": under_review,
        "endorsing": endorsing,
        "draft": draft,
        "draft_item": draft.scope_items.first(),
        "drafting_profile": people["drafting"],
        "record": record,
        "examination": Examination.objects.filter(organisation=trust).first(),
        "appointment": delegate.delegate_appointments.first(),
        "procedure": procedure,
    }


R = "RDZ"
TARGETS = {
    # name: (persona, URL args from the world[, the query that opens the form])
    "login": (None, lambda w: []),
    "password_forgotten": (None, lambda w: []),
    "referrer_registration": ("referrer", lambda w: []),
    "delegate_appointment_add": ("org_admin", lambda w: [R]),
    "delegate_appointment_end": ("org_admin", lambda w: [R, w["appointment"].pk]),
    "role_grant": ("org_admin", lambda w: [R]),
    "departments": ("org_admin", lambda w: [R]),
    "agreement_add": ("org_admin", lambda w: [R]),
    "examination_add": ("org_admin", lambda w: [R]),
    "examination_edit": ("org_admin", lambda w: [R, w["examination"].pk]),
    "catalogue_import": ("org_admin", lambda w: [R]),
    "procedure_version_add": ("org_admin", lambda w: [R]),
    "application_start": ("drafting", lambda w: []),
    "application_employment": ("drafting", lambda w: [w["draft"].pk]),
    "application_service_need": ("drafting", lambda w: [w["draft"].pk]),
    "application_scope_add": ("drafting", lambda w: [w["draft"].pk]),
    "application_scope_edit": ("drafting", lambda w: [w["draft"].pk, w["draft_item"].pk]),
    "application_supervision": ("drafting", lambda w: [w["draft"].pk]),
    "application_evidence": ("drafting", lambda w: [w["draft"].pk]),
    "employment_add": ("drafting", lambda w: [], {"organisation": R}),
    "endorsement": ("supervisor", lambda w: [w["endorsing"].pk]),
    "application_decide": ("delegate", lambda w: [R, w["under_review"].pk]),
    "application_narrow": ("delegate", lambda w: [R, w["under_review"].pk]),
    "change_notify": ("referrer", lambda w: [w["entitlement"].pk]),
    "entitlement_suspend": ("delegate", lambda w: [R, w["entitlement"].pk]),
    "entitlement_revoke": ("delegate", lambda w: [R, w["entitlement"].pk]),
    "letter_verify": ("governance_lead", lambda w: []),
    "letter_bundles": ("governance_lead", lambda w: [R]),
    "training_record_add": ("drafting", lambda w: []),
    "training_import": ("delegate", lambda w: [R]),
    "training_record_add_for": ("delegate", lambda w: [R, w["drafting_profile"].pk]),
    "registration_mark_lapsed": ("delegate", lambda w: [R, w["drafting_profile"].pk]),
    "registration_confirm_renewed": ("delegate", lambda w: [R, w["drafting_profile"].pk]),
    "training_record_reject": ("delegate", lambda w: [R, w["record"].pk]),
    "audit": ("referrer", lambda w: [w["cycle"].pk]),
    "audit_submit": ("referrer", lambda w: [w["cycle"].pk]),
    "audit_review": ("delegate", lambda w: [R, w["submitted"].pk]),
    "audit_action_add": ("delegate", lambda w: [R, w["submitted"].pk]),
    "inappropriate_referral_new": (
        "practitioner",
        lambda w: [R, w["personas"]["referrer"].referrer_profile.pk],
    ),
    "inappropriate_referral_review": ("delegate", lambda w: [R, w["report"].pk]),
}
EXEMPT = {
    "password_set": "needs a one-time token in its URL; Django's own SetPasswordForm",
    "mfa_verify": "the second-factor step (helper B1's tests/security/test_mfa.py)",
    "mfa_setup": "the second-factor step (helper B1's tests/security/test_mfa.py)",
    "procedure_version_edit": "same form and service as procedure_version_add",
    "entitlement_reinstate": "same form as entitlement_suspend; needs a suspended entitlement",
}


def _catalogue_cells():
    return ["XR", "CT", "MR", "US", "yes", "no", "Y", "N", "XCHES", "Chest", "Head"]


def _training_cells():
    return ["HCPC", "NMC", "RN123456", "PA12345", "radiation_protection", "2025-06-01", "3.5"]


OVERRIDES = {
    "catalogue_import": {
        "file": csv_files(
            ("code", "name", "modality", "body_area", "ionising", "contrast", "mri"),
            _catalogue_cells(),
        )
    },
    "training_import": {
        "file": csv_files(
            (
                "regulator",
                "registration_number",
                "training_kind",
                "provider",
                "title",
                "completed_on",
                "certificate_expires_on",
                "hours",
                "lms_record_id",
            ),
            _training_cells(),
        )
    },
}


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def form_views() -> dict[str, type]:
    found = {}
    for route, pattern in _walk(get_resolver().url_patterns):
        view = getattr(pattern.callback, "view_class", None)
        if route.startswith("django-admin/") or view is None:
            continue
        if getattr(view, "form_class", None) is not None and hasattr(view, "post"):
            found[pattern.name] = view
    return found


def test_every_form_of_the_site_is_tested_or_exempt_with_a_reason():
    found = set(form_views())
    assert found - set(TARGETS) - set(EXEMPT) == set(), "add these forms to TARGETS"
    assert set(TARGETS) - found == set(), "these are no longer forms"


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_a_form_never_fails_or_half_saves_whatever_is_posted(name, world, client):
    persona, args, *query = TARGETS[name]
    if persona:
        client.force_login(world["personas"][persona])
    url = reverse(name, args=args(world))
    # (A form shown on another page, e.g. an audit's actions on its review page, is read
    # there: the GET redirects to it.)
    page = client.get(url, *query, follow=True)
    assert page.status_code == 200, f"{name}: {persona} cannot open {url}"
    fields = form_fields(page.content.decode())
    assert fields.baseline, f"{name}: no form fields found on {url}"

    @HYPOTHESIS
    @given(data=post_data(fields, OVERRIDES.get(name, {})))
    def posting(data):
        with transaction.atomic():
            before = snapshot()
            send = client.post if fields.method == "post" else client.get
            response = send(url, data)
            assert response.status_code < 500
            if response.status_code == 200:  # the form again, with its errors: nothing saved
                assert changed(before, snapshot()) == []
            transaction.set_rollback(True)

    posting()


def test_the_end_appointment_page_opens(world, client):
    client.force_login(world["personas"]["org_admin"])
    url = reverse("delegate_appointment_end", args=[R, world["appointment"].pk])
    assert client.get(url).status_code == 200


# --- CSV parsers, directly ------------------------------------------------------------------


@HYPOTHESIS
@given(data=st.one_of(st.binary(max_size=3000), texts.map(lambda t: t.encode("utf-8"))))
def test_the_csv_parsers_never_raise_on_any_bytes(data):
    """Any bytes at all: each parser returns its problems, it never raises."""
    from audits.csv_import import parse_extract_csv
    from entitlements.csv_import import parse_catalogue_csv
    from training.csv_import import parse_training_csv

    today = datetime.date(2026, 3, 2)
    for parsed in (
        parse_catalogue_csv(data),
        parse_training_csv(data, today=today),
        parse_extract_csv(data, today=today),
    ):
        assert parsed is not None


# --- API parameters -------------------------------------------------------------------------

api_values = st.one_of(one_value, st.lists(one_value, min_size=2, max_size=3))


@pytest.fixture
def api_token(trust, entitlement):
    from entitlements.services import api_client_create

    return api_client_create(organisation=trust, name="RIS", rate_limit_per_minute=100_000)[1]


def _identifiers():
    from entitlements.api.fhir import UK_CORE_SYSTEMS

    systems = [*UK_CORE_SYSTEMS.values(), "", "urn:x", "|"]
    return st.builds(lambda system, value: f"{system}|{value}", st.sampled_from(systems), one_value)


CHECK = ["registration", "examination", "employer", "patient_age", "setting", "as_of"]


@pytest.mark.parametrize("path", ["/api/v1/entitlement-check", "/api/fhir/PractitionerRole"])
def test_the_api_never_fails_and_never_says_entitled_to_nonsense(client, api_token, path):
    names = CHECK if "entitlement-check" in path else ["identifier", "_count", "_format"]
    param = st.one_of(api_values, _identifiers()) if "fhir" in path else api_values

    @HYPOTHESIS
    @given(params=st.dictionaries(st.sampled_from([*names, "x"]), param, max_size=5))
    def asking(params):
        with transaction.atomic():
            response = client.get(path, params, HTTP_AUTHORIZATION=f"Bearer {api_token}")
            transaction.set_rollback(True)
        assert response.status_code < 500
        assert "json" in response["Content-Type"]
        if response.status_code != 200:
            assert response.json().get("entitled") is not True
            assert not re.search(r'"entitled":\s*true', response.content.decode())

    asking()


def test_a_nul_character_in_a_request_is_a_400_never_a_500(client, api_token, referrer):
    """What Hypothesis found on PostgreSQL: `/employments/add/?organisation=%00` was a 500."""
    client.force_login(referrer)
    page = client.post(reverse("employment_add"), {"organisation": "\x00"})
    assert page.status_code == 400
    assert "not allowed (NUL)" in page.content.decode()
    assert len(re.findall(r"<h1[ >]", page.content.decode())) == 1
    api = client.get(
        "/api/v1/entitlement-check",
        {"registration": "AB\x00", "examination": "XCHES"},
        HTTP_AUTHORIZATION=f"Bearer {api_token}",
    )
    assert api.status_code == 400 and api.json()["entitled"] is False
