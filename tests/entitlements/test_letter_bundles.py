"""Letters in bulk: a governance lead downloads the current letter of every live entitlement
of the employer (or a filtered set) as one ZIP with a manifest, built by a Celery task.

The seeded employer (`employer`) has entitlements in every state, some with several
letters, one whose current letter is not rendered yet, and another trust's entitlement
beside it; the ZIP must hold exactly the current letters of the live ones, and its
manifest must match the register row for row.
"""

import csv
import datetime
import hashlib
import io
import re
import time
import zipfile
from dataclasses import dataclass

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config.celery import app
from entitlements import selectors, services
from entitlements.models import (
    BundleStatus,
    Entitlement,
    EntitlementEvent,
    EntitlementState,
    EventAction,
    Letter,
    LetterBundle,
    LetterStatus,
)
from entitlements.services import letter_bundles as bundle_services
from entitlements.services.letters import letter_render
from entitlements.tasks import letter_bundle_build as letter_bundle_build_task
from referrers.models import Role
from referrers.regulators import Profession, Regulator
from tests.factories import (
    DepartmentFactory,
    EmploymentFactory,
    ReferrerProfileFactory,
    UserFactory,
    give_role,
)
from tests.journeys import apply, catalogue_at, grant, pdf_upload, procedure_at

pytestmark = pytest.mark.django_db

LIVE = (EntitlementState.ACTIVE, EntitlementState.SUSPENDED)


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Letters and bundles of these tests go to a folder of their own."""
    default = {**settings.STORAGES["default"], "OPTIONS": {"location": str(tmp_path)}}
    settings.STORAGES = {**settings.STORAGES, "default": default}


# --- A seeded employer --------------------------------------------------------------------


def referrer_at(organisation, name, email, profession, regulator, number, *, department, boss):
    profile = ReferrerProfileFactory(
        user=UserFactory(email=email, full_name=name),
        profession=profession,
        regulator=regulator,
        registration_number=number,
    )
    EmploymentFactory(
        referrer=profile,
        organisation=organisation,
        department=department,
        clinical_supervisor=boss,
    )
    give_role(profile.user, organisation, Role.REFERRER)
    return profile.user


def vary(entitlement, referrer, supervisor, delegate):
    application = services.variation_start(entitlement=entitlement, by=referrer)
    services.evidence_add(
        application=application, by=referrer, upload=pdf_upload(), kind="competency"
    )
    services.application_submit(application=application, by=referrer)
    services.application_endorse(application=application, by=supervisor, outcome="endorsed")
    application.refresh_from_db()
    return grant(application, delegate, rationale="Scope confirmed at review")


@dataclass
class Employer:
    priya: Entitlement  # active, grant letter ready
    priya_evaluation: Entitlement  # active (clinical evaluation), grant letter ready
    bob: Entitlement  # suspended: current letter is the suspension letter, ready
    cara: Entitlement  # revoked
    dev_old: Entitlement  # superseded by dev
    dev: Entitlement  # active variation, letter ready
    eve: Entitlement  # active, its only letter not rendered yet
    theirs: Entitlement  # another trust's, ready
    emergency: object  # a department
    msk: object


@pytest.fixture
def employer(
    trust,
    catalogue,
    procedure,
    delegate,
    referrer,
    supervisor,
    other_trust,
    other_trust_admin,
    other_trust_delegate,
    other_referrer,
):
    emergency = DepartmentFactory(organisation=trust, name="Emergency department")
    msk = DepartmentFactory(organisation=trust, name="Musculoskeletal outpatients")
    exams = [catalogue["xr_chest"]]

    def granted(person, kind="referral", organisation=trust, by=delegate, examinations=exams):
        application = apply(
            person, organisation, examinations, supervisor=supervisor, until="endorsed", kind=kind
        )
        return grant(application, by)

    priya = granted(referrer)
    priya_evaluation = granted(referrer, kind="clinical_evaluation")

    bob = granted(
        referrer_at(
            trust,
            "Bob Baker",
            "bob@example.nhs.uk",
            Profession.PHYSIOTHERAPIST,
            Regulator.HCPC,
            "PH12345",
            department=emergency,
            boss=supervisor,
        )
    )
    services.entitlement_suspend(entitlement=bob, by=delegate, reason="Training lapsed")

    cara = granted(
        referrer_at(
            trust,
            "Cara Cole",
            "cara@example.nhs.uk",
            Profession.PARAMEDIC,
            Regulator.HCPC,
            "PA23456",
            department=msk,
            boss=supervisor,
        )
    )
    services.entitlement_revoke(entitlement=cara, by=delegate, reason="Left the trust")

    dev_user = referrer_at(
        trust,
        "Dev Desai",
        "dev@example.nhs.uk",
        Profession.NURSE,
        Regulator.NMC,
        "12B3456C",
        department=emergency,
        boss=supervisor,
    )
    dev_old = granted(dev_user)
    dev = vary(dev_old, dev_user, supervisor, delegate)

    # A name a spreadsheet would run as a formula.
    eve = granted(
        referrer_at(
            trust,
            "=Eve Ellis",
            "eve@example.nhs.uk",
            Profession.RADIOGRAPHER,
            Regulator.HCPC,
            "RA34567",
            department=msk,
            boss=supervisor,
        )
    )

    procedure_at(other_trust, by=other_trust_admin)
    theirs = granted(
        other_referrer,
        organisation=other_trust,
        by=other_trust_delegate,
        examinations=[catalogue_at(other_trust)["xr_chest"]],
    )

    for entitlement in (priya, priya_evaluation, bob, dev, theirs):
        letter_render(letter_id=current(entitlement).pk)
    for entitlement in (priya, priya_evaluation, bob, cara, dev_old, dev, eve, theirs):
        entitlement.refresh_from_db()
    return Employer(priya, priya_evaluation, bob, cara, dev_old, dev, eve, theirs, emergency, msk)


def current(entitlement) -> Letter:
    return entitlement.letters.order_by("-created_at", "-id").first()


def build(trust, governance_lead, **filters) -> LetterBundle:
    bundle = services.letter_bundle_request(organisation=trust, by=governance_lead, filters=filters)
    return services.letter_bundle_build(bundle=bundle)


def stored(name: str) -> bytes:
    with default_storage.open(name, "rb") as file:
        return file.read()


@dataclass
class Opened:
    data: bytes
    archive: zipfile.ZipFile
    manifest: list[list[str]]

    @property
    def letters(self) -> dict[str, bytes]:
        return {
            name: self.archive.read(name)
            for name in self.archive.namelist()
            if name.startswith("letters/")
        }


def opened(bundle: LetterBundle) -> Opened:
    data = stored(bundle.file.name)
    archive = zipfile.ZipFile(io.BytesIO(data))
    text = archive.read("manifest.csv").decode("utf-8-sig")
    return Opened(data, archive, list(csv.reader(io.StringIO(text))))


def neutral(text: str) -> str:
    return "'" + text if text[:1] in "=+-@" else text


# --- What the ZIP holds -------------------------------------------------------------------


def test_the_zip_holds_exactly_the_current_letters_of_live_entitlements(
    employer, trust, governance_lead
):
    bundle = build(trust, governance_lead)

    assert bundle.status == BundleStatus.READY
    zipped = opened(bundle)
    expected = {
        e: current(e)
        for e in (employer.priya, employer.priya_evaluation, employer.bob, employer.dev)
    }
    assert set(zipped.letters) == {
        f"letters/{e.reference}-{letter.verification_code}.pdf" for e, letter in expected.items()
    }
    for entitlement, letter in expected.items():
        data = zipped.letters[f"letters/{entitlement.reference}-{letter.verification_code}.pdf"]
        assert data.startswith(b"%PDF-")
        assert hashlib.sha256(data).hexdigest() == letter.sha256
        assert data == stored(letter.file.name)
    # Bob's suspension letter is in, not the grant letter it replaced.
    assert current(employer.bob).content["title"] == "Entitlement suspended"
    # The ZIP itself is stored with its SHA-256 and size, and counted as done.
    assert hashlib.sha256(zipped.data).hexdigest() == bundle.sha256
    assert bundle.size == len(zipped.data)
    assert bundle.total == bundle.done == 5
    assert bundle.percent == 100
    assert bundle.finished_at is not None


def test_the_manifest_matches_the_register_row_for_row(employer, trust, governance_lead):
    zipped = opened(build(trust, governance_lead))

    header, *rows = zipped.manifest
    assert header == [
        "Entitlement reference",
        "Referrer name",
        "Registration",
        "State",
        "Letter verification code",
        "Letter SHA-256",
        "File name in ZIP",
        "Letter",
    ]
    register = [e for e in selectors.entitlements_at(trust) if e.state in LIVE]
    assert len(rows) == len(register) == 5
    for row, entitlement in zip(rows, register, strict=True):
        letter = current(entitlement)
        ready = letter.status == LetterStatus.READY
        name = f"letters/{entitlement.reference}-{letter.verification_code}.pdf"
        assert row == [
            entitlement.reference,
            neutral(entitlement.referrer.user.full_name),
            entitlement.referrer.registration,
            entitlement.get_state_display(),
            letter.verification_code,
            letter.sha256,
            name if ready else "",
            "Included" if ready else "Missing: still being prepared",
        ]
        if ready:
            assert hashlib.sha256(zipped.archive.read(name)).hexdigest() == row[5]


def test_a_letter_not_rendered_yet_is_listed_as_missing_and_the_page_says_so(
    client, employer, trust, governance_lead
):
    bundle = build(trust, governance_lead)
    rows = {row[0]: row for row in opened(bundle).manifest[1:]}

    eve = rows[employer.eve.reference]
    assert eve[1] == "'=Eve Ellis"  # a spreadsheet shows it, never runs it
    assert eve[4] == current(employer.eve).verification_code
    assert eve[6:] == ["", "Missing: still being prepared"]

    client.force_login(governance_lead)
    page = client.get(reverse("letter_bundle", args=["RDZ", bundle.pk])).content.decode()
    assert "Your ZIP of letters is ready" in page
    assert "1 letter is not in the ZIP" in page
    words = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "Entitlements 5 Letters in the ZIP 4 Letters missing 1" in words
    assert reverse("letter_bundle_download", args=["RDZ", bundle.pk]) in page


def test_a_stored_letter_that_no_longer_matches_its_sha256_is_left_out_and_said(
    employer, trust, governance_lead
):
    letter = current(employer.priya)
    with default_storage.open(letter.file.name, "wb") as file:
        file.write(b"%PDF-1.7 tampered")

    zipped = opened(build(trust, governance_lead))

    assert not any(
        name.startswith(f"letters/{employer.priya.reference}-") for name in zipped.letters
    )
    assert all(b"tampered" not in data for data in zipped.letters.values())
    row = next(r for r in zipped.manifest if r[0] == employer.priya.reference)
    assert row[6:] == ["", "Missing: the stored file does not match its SHA-256"]


@pytest.mark.parametrize(
    ("filters", "who"),
    [
        ({"state": "suspended"}, {"bob"}),
        ({"state": "active"}, {"priya", "priya_evaluation", "dev", "eve"}),
        ({"kind": "clinical_evaluation"}, {"priya_evaluation"}),
        ({"profession": "nurse"}, {"priya", "priya_evaluation", "dev"}),
        ({"department": "emergency"}, {"bob", "dev"}),
        ({"department": "msk", "state": "active"}, {"eve"}),
    ],
)
def test_filters_narrow_it(employer, trust, governance_lead, filters, who):
    if "department" in filters:
        filters = {**filters, "department": getattr(employer, filters["department"]).pk}

    bundle = build(trust, governance_lead, **filters)

    references = [row[0] for row in opened(bundle).manifest[1:]]
    assert sorted(references) == sorted(getattr(employer, key).reference for key in who)
    assert bundle.total == len(who)
    assert bundle.filters == filters


def test_a_filter_that_is_not_offered_changes_nothing(employer, trust, governance_lead):
    with pytest.raises(ValidationError) as refused:
        services.letter_bundle_request(
            organisation=trust,
            by=governance_lead,
            filters={"state": "revoked", "department": employer.msk.pk + 999},
        )
    assert refused.value.message_dict == {
        "state": ["Select which entitlements from the list"],
        "department": ["Select a department from the list"],
    }
    assert not LetterBundle.objects.exists()


def test_only_a_governance_lead_may_ask(employer, trust, delegate):
    with pytest.raises(PermissionDenied):
        services.letter_bundle_request(organisation=trust, by=delegate, filters={})
    assert not LetterBundle.objects.exists()


# --- Building: once, and failures on record --------------------------------------------------


def test_a_rerun_on_a_ready_bundle_does_nothing(employer, trust, governance_lead):
    bundle = build(trust, governance_lead)
    before = (bundle.file.name, bundle.sha256, bundle.finished_at, bundle.history.count())
    files = set(default_storage.listdir("letter-bundles")[1])

    letter_bundle_build_task.run(bundle_id=bundle.pk)  # the task, run again

    bundle.refresh_from_db()
    assert (bundle.file.name, bundle.sha256, bundle.finished_at, bundle.history.count()) == before
    assert set(default_storage.listdir("letter-bundles")[1]) == files


def test_the_sweep_enqueues_bundles_whose_task_was_lost(
    employer, trust, governance_lead, monkeypatch, django_capture_on_commit_callbacks
):
    from django.conf import settings

    from entitlements import tasks

    queued = []
    monkeypatch.setattr(tasks.letter_bundle_build, "delay", lambda **kw: queued.append(kw))
    with django_capture_on_commit_callbacks(execute=False):  # the broker "was down"
        bundle = services.letter_bundle_request(organisation=trust, by=governance_lead, filters={})
    assert tasks.letter_bundles_build_pending.apply().get() == 0  # too recent to be lost
    LetterBundle.objects.filter(pk=bundle.pk).update(
        requested_at=bundle.requested_at - datetime.timedelta(hours=1)
    )
    assert tasks.letter_bundles_build_pending.apply().get() == 1
    assert queued == [{"bundle_id": bundle.pk}]
    schedule = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert schedule["entitlements.letter_bundles_build_pending"] == 15 * 60


def test_a_redelivered_task_rebuilds_a_bundle_left_building(employer, trust, governance_lead):
    """A worker that died mid-build leaves the bundle "building"; the task, delivered again
    (it is acknowledged late), builds it from the start."""
    bundle = services.letter_bundle_request(organisation=trust, by=governance_lead, filters={})
    LetterBundle.objects.filter(pk=bundle.pk).update(status=BundleStatus.BUILDING, done=3)

    bundle = services.letter_bundle_build(bundle=bundle)

    assert bundle.status == BundleStatus.READY
    assert bundle.done == bundle.total == 5
    assert len(opened(bundle).manifest) == 6


def test_a_failure_is_recorded_and_the_page_says_so(
    client, employer, trust, governance_lead, monkeypatch
):
    def full(self, name, content):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(FileSystemStorage, "_save", full)
    bundle = services.letter_bundle_request(organisation=trust, by=governance_lead, filters={})

    with pytest.raises(bundle_services.LetterBundleFailed):
        services.letter_bundle_build(bundle=bundle)

    bundle.refresh_from_db()
    assert bundle.status == BundleStatus.FAILED
    assert "No space left on device" in bundle.error
    assert not bundle.file
    assert list(bundle.history.values_list("status", flat=True)) == [
        "failed",
        "building",
        "pending",
    ]
    # A rerun leaves the failure as it is: the governance lead asks again.
    services.letter_bundle_build(bundle=bundle)
    assert LetterBundle.objects.get(pk=bundle.pk).status == BundleStatus.FAILED

    client.force_login(governance_lead)
    page = client.get(reverse("letter_bundle", args=["RDZ", bundle.pk])).content.decode()
    assert "Your ZIP of letters could not be built" in page
    assert "The error has been recorded" in page
    assert "No space left" not in page  # the detail is for the service team
    assert reverse("letter_bundle_download", args=["RDZ", bundle.pk]) not in page


def test_batches_cover_every_row_and_save_progress_after_each(
    employer, trust, governance_lead, monkeypatch
):
    monkeypatch.setattr(bundle_services, "BATCH_SIZE", 2)
    bundle = services.letter_bundle_request(organisation=trust, by=governance_lead, filters={})

    with CaptureQueriesContext(connection) as captured:
        bundle = services.letter_bundle_build(bundle=bundle)

    sql = [q["sql"] for q in captured.captured_queries]
    progress = [q for q in sql if q.startswith('UPDATE "entitlements_letterbundle" SET "done"')]
    letter_reads = [q for q in sql if q.startswith('SELECT "entitlements_letter"."id"')]
    assert len(progress) == len(letter_reads) == 3  # rows 1-2, 3-4, 5
    assert len(opened(bundle).manifest) == 6
    assert bundle.done == bundle.total == 5


# --- The pages, and who may use them --------------------------------------------------------


def test_the_governance_lead_requests_a_bundle_and_it_is_built_on_commit(
    client, employer, trust, governance_lead, django_capture_on_commit_callbacks
):
    client.force_login(governance_lead)
    url = reverse("letter_bundles", args=["RDZ"])

    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert text.count("<h1") == 1
    assert "5 entitlements are live now" in text
    assert "Emergency department" in text and "Musculoskeletal outpatients" in text

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(url, {"state": "", "kind": "", "department": "", "profession": ""})

    bundle = LetterBundle.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("letter_bundle", args=["RDZ", bundle.pk])
    assert (bundle.status, bundle.total, bundle.requested_by) == ("pending", 5, governance_lead)
    assert len(callbacks) == 1  # the build task, sent once the request commits
    assert bundle.history.get().history_user == governance_lead

    page = client.get(response["Location"]).content.decode()
    assert "Your ZIP of letters is being built" in page
    assert '<progress class="app-bundle-progress__bar' in page
    assert 'max="100" value="0"' in page and "0%" in page
    assert "0 of 5" in page
    assert reverse("letter_bundle_status", args=["RDZ", bundle.pk]) in page
    assert "Refresh this page" in page  # without JavaScript

    status = client.get(reverse("letter_bundle_status", args=["RDZ", bundle.pk]))
    assert status.json() == {
        "status": "pending",
        "status_text": "Waiting to start",
        "done": 0,
        "total": 5,
        "percent": 0,
    }
    assert "no-store" in status["Cache-Control"]

    services.letter_bundle_build(bundle=bundle)
    listing = client.get(url).content.decode()
    assert "Every live entitlement (5)" in listing
    assert "Ready" in listing


def test_a_bad_filter_is_shown_on_the_form(client, employer, trust, governance_lead):
    client.force_login(governance_lead)

    response = client.post(reverse("letter_bundles", args=["RDZ"]), {"department": "99999"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page
    assert page.count("Select a department from the list") == 2
    assert not LetterBundle.objects.exists()


def test_the_download_is_the_stored_zip(client, employer, trust, governance_lead):
    bundle = build(trust, governance_lead)
    client.force_login(governance_lead)

    response = client.get(reverse("letter_bundle_download", args=["RDZ", bundle.pk]))

    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    assert hashlib.sha256(data).hexdigest() == bundle.sha256
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="letters-RDZ-')
    assert "no-store" in response["Cache-Control"]


def test_a_bundle_not_ready_yet_is_not_downloaded(client, employer, trust, governance_lead):
    bundle = services.letter_bundle_request(organisation=trust, by=governance_lead, filters={})
    client.force_login(governance_lead)

    response = client.get(reverse("letter_bundle_download", args=["RDZ", bundle.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("letter_bundle", args=["RDZ", bundle.pk])


NAMES = ["letter_bundle", "letter_bundle_status", "letter_bundle_download"]


@pytest.mark.parametrize("name", NAMES)
def test_another_employers_governance_lead_gets_404(
    client, employer, trust, governance_lead, other_trust_governance_lead, name
):
    bundle = build(trust, governance_lead)
    client.force_login(other_trust_governance_lead)

    # Through their own employer's address: no such bundle there.
    response = client.get(reverse(name, args=["RX9", bundle.pk]))
    assert response.status_code == 404
    assert bundle.sha256.encode() not in response.content
    # Through ours: they are not a governance lead here.
    assert client.get(reverse(name, args=["RDZ", bundle.pk])).status_code == 403


@pytest.mark.parametrize("persona", ["referrer", "delegate", "practitioner", "supervisor"])
@pytest.mark.parametrize("name", ["letter_bundles", *NAMES])
def test_nobody_but_the_employers_governance_leads_gets_in(
    client, request, employer, trust, governance_lead, persona, name
):
    bundle = build(trust, governance_lead)
    client.force_login(request.getfixturevalue(persona))
    args = ["RDZ"] if name == "letter_bundles" else ["RDZ", bundle.pk]

    response = client.get(reverse(name, args=args))

    assert response.status_code in (403, 404)
    assert b"PK" not in response.content[:2]
    assert client.post(reverse("letter_bundles", args=["RDZ"]), {}).status_code == 403
    assert LetterBundle.objects.count() == 1


@pytest.mark.parametrize("name", ["letter_bundles", *NAMES])
def test_signed_out_people_are_sent_to_sign_in(client, employer, trust, governance_lead, name):
    bundle = build(trust, governance_lead)
    args = ["RDZ"] if name == "letter_bundles" else ["RDZ", bundle.pk]
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302
    assert "next=" in response["Location"]


def test_the_governance_home_links_to_the_bundles(client, trust, governance_lead):
    client.force_login(governance_lead)
    page = client.get(reverse("governance_home", args=["RDZ"])).content.decode()
    assert reverse("letter_bundles", args=["RDZ"]) in page


# --- Query counts ----------------------------------------------------------------------------


def many_bundles(trust, governance_lead, count: int) -> None:
    departments = [DepartmentFactory(organisation=trust, name=f"Ward {i}") for i in range(3)]
    requesters = [
        give_role(UserFactory(full_name=f"Lead {i:03d}"), trust, Role.GOVERNANCE_LEAD)
        for i in range(min(count, 20))
    ]
    LetterBundle.objects.bulk_create(
        LetterBundle(
            organisation=trust,
            requested_by=requesters[i % len(requesters)],
            filters={"department": departments[i % 3].pk} if i % 2 else {},
            total=i,
        )
        for i in range(count)
    )


@pytest.mark.parametrize("count", [10, 300])
def test_the_bundles_page_reads_the_same_whatever_the_count(
    client, trust, governance_lead, django_assert_max_num_queries, count
):
    # The 6 of every organisation page, the departments offered, the live count, the
    # bundles' count and page, and the departments they name: 11.
    many_bundles(trust, governance_lead, count)
    client.force_login(governance_lead)

    with django_assert_max_num_queries(11):
        response = client.get(reverse("letter_bundles", args=["RDZ"]))

    assert response.content.decode().count('href="/organisations/RDZ/letters/bundles/') == min(
        count, 50
    )


def rows_with_letters(trust, count: int) -> None:
    """`count` entitlements in every state (the query-count rows), each with a ready letter
    (the same small stored PDF) and every fourth with a later one still pending."""
    from tests.test_query_counts import entitlement as row

    name = default_storage.save("letters/row.pdf", ContentFile(b"%PDF-1.4 row letter"))
    digest = hashlib.sha256(b"%PDF-1.4 row letter").hexdigest()
    entitlements = [row(trust, i) for i in range(count)]
    for i, entitlement in enumerate(entitlements):
        for n in range(2 if i % 4 == 0 else 1):
            event = EntitlementEvent.objects.create(
                entitlement=entitlement,
                action=EventAction.GRANTED,
                actor=entitlement.granted_by,
                reason="Row",
            )
            Letter.objects.create(
                entitlement=entitlement,
                event=event,
                content={"reference": entitlement.reference},
                status=LetterStatus.PENDING if n else LetterStatus.READY,
                file="" if n else name,
                sha256="" if n else digest,
                created_at=datetime.datetime(2026, 1, 1 + n, tzinfo=datetime.UTC),
            )


@pytest.mark.parametrize("count", [10, 300])
def test_building_reads_in_batches_not_row_by_row(trust, governance_lead, count):
    rows_with_letters(trust, count)
    bundle = services.letter_bundle_request(organisation=trust, by=governance_lead, filters={})
    live = Entitlement.objects.filter(organisation=trust, state__in=LIVE).count()

    with CaptureQueriesContext(connection) as captured:
        bundle = services.letter_bundle_build(bundle=bundle)

    queries = [q for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]
    batches = -(-live // bundle_services.BATCH_SIZE)
    assert batches == (1 if count == 10 else 2)
    # Claiming (the locked bundle with its organisation and requester, the count, the
    # update and its history row: 4), finishing (3), the rows (one query, read in chunks),
    # and per batch their letters and the progress: never a query per row.
    assert len(queries) == 8 + 2 * batches
    manifest = opened(bundle).manifest[1:]
    assert len(manifest) == live
    missing = [row for row in manifest if row[7] != "Included"]
    assert len(missing) == sum(1 for i in range(count) if i % 4 == 0 and row_is_live(i))


def row_is_live(i: int) -> bool:
    from tests.test_query_counts import STATES

    return STATES[i % len(STATES)] in LIVE


# --- A real worker ---------------------------------------------------------------------------


def wait_for(condition, *, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.django_db(transaction=True)
def test_a_worker_builds_the_bundle_once_the_request_commits(
    endorsed_application, delegate, trust, governance_lead
):
    """The configured broker (Redis when REDIS_URL is set, as in CI) carries the task; the
    worker renders the grant's letter, then builds the ZIP the governance lead asked for."""
    app.control.purge()

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        with transaction.atomic():
            entitlement = grant(endorsed_application, delegate)
        letter = entitlement.letters.get()
        assert wait_for(
            lambda: Letter.objects.filter(pk=letter.pk, status=LetterStatus.READY).exists()
        ), "the worker did not render the letter"

        with transaction.atomic():
            bundle = services.letter_bundle_request(
                organisation=trust, by=governance_lead, filters={}
            )
            assert LetterBundle.objects.get(pk=bundle.pk).status == BundleStatus.PENDING

        assert wait_for(
            lambda: LetterBundle.objects.filter(pk=bundle.pk, status=BundleStatus.READY).exists()
        ), "the worker did not build the bundle"

    bundle.refresh_from_db()
    letter.refresh_from_db()
    zipped = opened(bundle)
    assert list(zipped.letters) == [
        f"letters/{entitlement.reference}-{letter.verification_code}.pdf"
    ]
    assert hashlib.sha256(zipped.letters[list(zipped.letters)[0]]).hexdigest() == letter.sha256
    assert [row[0] for row in zipped.manifest[1:]] == [entitlement.reference]
    assert hashlib.sha256(zipped.data).hexdigest() == bundle.sha256


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_request_builds_nothing(trust, governance_lead):
    app.control.purge()

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        with pytest.raises(RuntimeError), transaction.atomic():
            services.letter_bundle_request(organisation=trust, by=governance_lead, filters={})
            raise RuntimeError("the request failed")
        time.sleep(1)  # long enough for a wrongly sent task to be built

    assert not LetterBundle.objects.exists()
    assert not default_storage.exists("letter-bundles")
