"""The nightly RIS export: per organisation and day, the referrer codes and the examination
codes each may request, as the register says; stored and written to the export directory
with its SHA-256; built once per day; downloadable by the organisation's register users."""

import csv
import datetime
import hashlib
import io
import subprocess

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from entitlements import services
from entitlements.models import RisExport
from entitlements.selectors import entitlement_check
from entitlements.services.ris_export import neutralise
from entitlements.tasks import ris_exports_build
from tests.api.helpers import clone_entitlements, entitled_referrer, grant_requests
from tests.factories import (
    EmploymentFactory,
    ExaminationFactory,
    OrganisationFactory,
    ReferrerProfileFactory,
    UserFactory,
)
from tests.journeys import catalogue_at, procedure_at

HEADER = ["referrer_code", "registration", "referrer_name", "examination_code"]


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.RIS_EXPORT_DIR = tmp_path / "ris"
    return settings.RIS_EXPORT_DIR


def rows_of(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"))))


def pairs_of(content: bytes) -> set[tuple[str, str]]:
    rows = rows_of(content)
    assert rows[0] == HEADER
    return {(row[1], row[3]) for row in rows[1:]}


@pytest.fixture
def register(trust, entitlement, delegate, catalogue, org_admin, referrer, supervisor):
    """Dorset Coast's register, with every way of (not) being able to request:

    - Priya Shah: XR chest and CT head (the `entitlement` fixture);
    - Bea Group: a group of two plain films, and MR knee, whose item is suspended;
    - Cal Suspended: XR chest, the whole entitlement suspended;
    - Dee Lapsed: XR chest, her registration marked lapsed;
    - Eve Left: XR chest, her employment ended yesterday;
    - Fay Revoked: MR knee, revoked;
    - Gus Physio (HCPC): MR knee and XR chest.
    """
    hand = ExaminationFactory(organisation=trust, code="XHAND", name="XR Hand", body_area="Hand")
    foot = ExaminationFactory(organisation=trust, code="XFOOT", name="XR Foot", body_area="Foot")
    group = services.examination_group_create(
        organisation=trust, name="Plain film extremities", examinations=[hand, foot], by=org_admin
    )
    people = {}

    def make(name, number, examinations, **profile):
        email = f"{name.split()[0].lower()}@example.nhs.uk"
        entitlement = entitled_referrer(
            trust,
            examinations,
            delegate=delegate,
            name=name,
            email=email,
            registration_number=number,
            **profile,
        )
        people[name] = entitlement
        return entitlement

    bea = ReferrerProfileFactory(
        user=UserFactory(email="bea@example.nhs.uk", full_name="Bea Group"),
        registration_number="13C1111D",
    )
    EmploymentFactory(referrer=bea, organisation=trust)
    bea_entitlement = grant_requests(
        bea.user,
        trust,
        [
            services.ScopeRequest(group=group, age_min=16, settings=("ED", "MIU")),
            services.ScopeRequest(examination=catalogue["mr_knee"], age_min=16, settings=("ED",)),
        ],
        supervisor=supervisor,
        delegate=delegate,
    )
    mr_item = bea_entitlement.scope_items.get(examination__code="MKNEE")
    services.entitlement_suspend(
        entitlement=bea_entitlement, by=delegate, reason="MRI safety lapsed", scope_items=[mr_item]
    )
    people["Bea Group"] = bea_entitlement

    cal = make("Cal Suspended", "14C2222D", [catalogue["xr_chest"]])
    services.entitlement_suspend(entitlement=cal, by=delegate, reason="Under review")
    dee = make("Dee Lapsed", "15C3333D", [catalogue["xr_chest"]])
    dee.referrer.registration_lapsed = True
    dee.referrer.save()
    eve = make("Eve Left", "16C4444D", [catalogue["xr_chest"]])
    eve.employment.ends_on = timezone.localdate() - datetime.timedelta(days=1)
    eve.employment.save()
    fay = make("Fay Revoked", "17C5555D", [catalogue["mr_knee"]])
    services.entitlement_revoke(entitlement=fay, by=delegate, reason="No longer in post")
    make(
        "Gus Physio",
        "PH12345",
        [catalogue["mr_knee"], catalogue["xr_chest"]],
        regulator="HCPC",
        profession="physiotherapist",
    )
    people["Priya Shah"] = entitlement
    return people


def test_the_export_lists_exactly_what_the_register_says_each_referrer_may_request(trust, register):
    today = timezone.localdate()

    export = services.ris_export_build(organisation=trust, for_date=today)

    with export.file.open("rb") as file:
        content = file.read()
    listed = pairs_of(content)
    codes = list(trust.examinations.values_list("code", flat=True))
    expected = set()
    for entitlement in register.values():
        referrer = entitlement.referrer
        for code in codes:
            answer = entitlement_check(
                organisation=trust,
                regulator=referrer.regulator,
                registration_number=referrer.registration_number,
                examination_code=code,
                patient_age=40,
                setting="ED",
            )
            if answer.entitled:
                expected.add((referrer.registration, code))
    assert listed == expected
    # The seeded register has yeses and noes of every kind; spell them out.
    assert listed == {
        ("NMC:71A2998E", "XCHES"),
        ("NMC:71A2998E", "CHEAC"),
        ("NMC:13C1111D", "XHAND"),
        ("NMC:13C1111D", "XFOOT"),
        ("HCPC:PH12345", "MKNEE"),
        ("HCPC:PH12345", "XCHES"),
    }
    assert export.rows == 6
    rows = rows_of(content)[1:]
    assert rows == sorted(rows, key=lambda row: (row[0], row[3]))
    assert ["NMC71A2998E", "NMC:71A2998E", "Priya Shah", "XCHES"] in rows
    assert ["HCPCPH12345", "HCPC:PH12345", "Gus Physio", "MKNEE"] in rows
    assert content.endswith(b"\r\n")


def test_the_file_is_written_with_a_checksum_that_matches(trust, register, export_dir):
    today = timezone.localdate()

    export = services.ris_export_build(organisation=trust, for_date=today)

    name = f"RDZ-{today.isoformat()}.csv"
    written = (export_dir / name).read_bytes()
    checksum = (export_dir / f"{name}.sha256").read_text()
    with export.file.open("rb") as file:
        assert file.read() == written
    assert hashlib.sha256(written).hexdigest() == export.sha256
    assert checksum == f"{export.sha256}  {name}\n"
    check = subprocess.run(
        ["sha256sum", "-c", f"{name}.sha256"], cwd=export_dir, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert not [p for p in export_dir.iterdir() if p.name.endswith(".tmp")]


def test_a_rerun_for_the_same_day_changes_nothing(trust, register, export_dir, delegate, catalogue):
    today = timezone.localdate()
    first = services.ris_export_build(organisation=trust, for_date=today)
    name = f"RDZ-{today.isoformat()}.csv"
    written = (export_dir / name).read_bytes()

    # The register changes during the day; the day's export is the one already built.
    services.entitlement_suspend(entitlement=register["Gus Physio"], by=delegate, reason="Leave")
    again = services.ris_export_build(organisation=trust, for_date=today)

    assert again.pk == first.pk
    assert again.sha256 == first.sha256
    assert RisExport.objects.count() == 1
    assert (export_dir / name).read_bytes() == written

    # A file removed from the directory is written again, the same.
    (export_dir / name).unlink()
    (export_dir / f"{name}.sha256").unlink()
    services.ris_export_build(organisation=trust, for_date=today)
    assert (export_dir / name).read_bytes() == written
    assert (export_dir / f"{name}.sha256").read_text().startswith(first.sha256)


def test_a_future_day_is_refused(trust, register):
    with pytest.raises(ValidationError, match="today or a past day"):
        services.ris_export_build(
            organisation=trust, for_date=timezone.localdate() + datetime.timedelta(days=1)
        )
    assert not RisExport.objects.exists()


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+44 1234", "'+44 1234"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("Priya Shah", "Priya Shah"),
        ("O'Neil-Smith", "O'Neil-Smith"),
    ],
)
def test_cells_that_a_spreadsheet_would_run_are_neutralised(cell, safe):
    assert neutralise(cell) == safe


def test_a_name_that_looks_like_a_formula_is_written_as_text(trust, register, delegate, catalogue):
    entitled_referrer(
        trust,
        [catalogue["xr_chest"]],
        delegate=delegate,
        name='=HYPERLINK("http://evil.example","Click")',
        email="formula@example.nhs.uk",
        registration_number="18C6666D",
    )
    export = services.ris_export_build(organisation=trust, for_date=timezone.localdate())
    with export.file.open("rb") as file:
        rows = rows_of(file.read())
    names = {row[2] for row in rows[1:]}
    assert '\'=HYPERLINK("http://evil.example","Click")' in names
    assert not any(row_cell.startswith("=") for row in rows for row_cell in row)


@pytest.mark.parametrize("extra", [0, 250])
def test_building_reads_the_same_whatever_the_size_of_the_register(
    trust, entitlement, django_assert_max_num_queries, extra
):
    clone_entitlements(entitlement, extra)

    # Whether it exists; the entitlements; their items; groups' examinations; the insert.
    with django_assert_max_num_queries(10):
        export = services.ris_export_build(organisation=trust, for_date=timezone.localdate())

    assert export.rows == 2 * (extra + 1)


def test_the_nightly_task_builds_for_every_organisation_with_a_published_procedure(
    trust, register, other_trust, other_trust_admin, export_dir
):
    catalogue_at(other_trust)
    procedure_at(other_trust, by=other_trust_admin)
    OrganisationFactory(ods_code="TZZ", name="No Procedure Trust")
    today = timezone.localdate()

    assert ris_exports_build() == 2
    assert ris_exports_build() == 2  # a rerun rebuilds nothing

    assert sorted(p.name for p in export_dir.iterdir()) == [
        f"RDZ-{today}.csv",
        f"RDZ-{today}.csv.sha256",
        f"RX9-{today}.csv",
        f"RX9-{today}.csv.sha256",
    ]
    assert RisExport.objects.count() == 2
    assert (export_dir / f"RX9-{today}.csv").read_bytes() == (",".join(HEADER) + "\r\n").encode()


def test_the_beat_schedule_runs_the_export_each_night(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["ris-exports-build"]
    assert entry["task"] == "entitlements.ris_exports_build"
    assert entry["schedule"].hour == {3}  # after the 02:00 control run, once every day


def test_the_command_builds_one_organisation_for_a_given_day(trust, register, capsys):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)

    call_command("ris_export", "--organisation", "RDZ", "--date", yesterday.isoformat())

    export = RisExport.objects.get()
    assert export.for_date == yesterday
    assert (
        f"RDZ-{yesterday}.csv: {export.rows} rows, sha256 {export.sha256}"
        in capsys.readouterr().out
    )


# --- The download page --------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["governance_lead", "delegate", "practitioner"])
def test_register_users_list_and_download_the_exports(client, trust, register, request, who):
    export = services.ris_export_build(organisation=trust, for_date=timezone.localdate())
    client.force_login(request.getfixturevalue(who))

    page = client.get(reverse("ris_exports", args=["RDZ"]))

    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("<h1") == 1
    assert export.sha256 in html
    download = client.get(reverse("ris_export_download", args=["RDZ", export.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="RDZ-{export.for_date}.csv"' in download["Content-Disposition"]
    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == export.sha256


def test_others_cannot_see_or_download_an_organisations_exports(
    client,
    trust,
    register,
    referrer,
    org_admin,
    other_trust_governance_lead,
    other_trust,
    other_trust_admin,
):
    export = services.ris_export_build(organisation=trust, for_date=timezone.localdate())
    url = reverse("ris_export_download", args=["RDZ", export.pk])
    for user in (referrer, org_admin, other_trust_governance_lead):
        client.force_login(user)
        assert client.get(reverse("ris_exports", args=["RDZ"])).status_code == 403
        assert client.get(url).status_code == 403
    # Another organisation's export id under your own organisation is a 404.
    client.force_login(other_trust_governance_lead)
    assert client.get(reverse("ris_export_download", args=["RX9", export.pk])).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_a_stored_file_that_no_longer_matches_is_not_served(
    client, trust, register, governance_lead
):
    export = services.ris_export_build(organisation=trust, for_date=timezone.localdate())
    with open(export.file.path, "ab") as file:
        file.write(b"NMC99X9999X,NMC:99X9999X,Mallory,CHEAC\r\n")
    client.force_login(governance_lead)

    response = client.get(reverse("ris_export_download", args=["RDZ", export.pk]))

    assert response.status_code == 500
    assert "cannot be downloaded" in response.content.decode()
    assert b"Mallory" not in response.content


def test_the_list_page_reads_the_same_whatever_the_number_of_exports(
    client, trust, governance_lead, django_assert_max_num_queries
):
    RisExport.objects.bulk_create(
        RisExport(
            organisation=trust,
            for_date=datetime.date(2025, 1, 1) + datetime.timedelta(days=i),
            file=f"ris-exports/{i}.csv",
            sha256="0" * 64,
            rows=i,
        )
        for i in range(300)
    )
    client.force_login(governance_lead)
    with django_assert_max_num_queries(10):
        page = client.get(reverse("ris_exports", args=["RDZ"]))
    assert page.status_code == 200
    assert "300 exports" in page.content.decode()
