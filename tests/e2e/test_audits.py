"""Principle 7 in Chromium: the demo IR(ME)R practitioner reports an inappropriate referral by
the demo referrer, the demo delegate upholds it from the queue, the referrer sees the
feedback and the governance lead sees it on the dashboard. Every page has one h1 and passes
an axe scan."""

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from entitlements.models import Examination
from referrers.models import User
from tests.e2e.helpers import assert_accessible, assert_single_h1, local_context, sign_in
from tests.journeys import apply, grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo-password-2026"
REFERRER = "referrer@demo.example"  # Aisha Rahman, ANP in the emergency department at RZ9
SUPERVISOR = "supervisor@demo.example"
DELEGATE = "delegate@demo.example"
PRACTITIONER = "practitioner@demo.example"
GOVERNANCE = "governance@demo.example"
FEEDBACK = "Follow iRefer MK3 for minor head injury."


@pytest.fixture
def entitled_referrer(seeded_demo):
    aisha = User.objects.get(email=REFERRER)
    application = apply(
        aisha,
        aisha.referrer_profile.employments.get().organisation,
        [Examination.objects.get(organisation__ods_code="RZ9", code="XCHES")],
        supervisor=User.objects.get(email=SUPERVISOR),
        until="endorsed",
    )
    yield grant(application, User.objects.get(email=DELEGATE))
    connections.close_all()


@pytest.fixture
def pages(browser, live_server, entitled_referrer):
    """A new page in a fresh context (no shared cookies) for each person."""
    contexts = []

    def new_page():
        context = local_context(browser, live_server.url)
        contexts.append(context)
        return context.new_page()

    yield new_page
    for context in contexts:
        context.close()


def test_report_uphold_see_feedback_and_the_dashboard(pages, axe, screenshots_dir):
    shots = iter(range(1, 100))

    def visit(page, h1: str) -> None:
        page.wait_for_load_state()
        assert_single_h1(page, h1)
        assert_accessible(page, axe)
        page.screenshot(path=str(screenshots_dir / f"audits-{next(shots):02d}.png"), full_page=True)

    today = timezone.localdate()

    # --- The practitioner finds Aisha and reports a request -----------------------------------
    page = pages()
    sign_in(page, PRACTITIONER, PASSWORD)
    visit(page, "Find a referrer")
    page.get_by_role("link", name="Record an inappropriate referral").click()
    visit(page, "Record an inappropriate referral")
    page.get_by_label("Referrer's name or registration number").fill("Aisha")
    page.get_by_role("button", name="Search").click()
    visit(page, "Record an inappropriate referral")
    page.get_by_role("link", name="Report a referral by Aisha Rahman").click()
    visit(page, "Record an inappropriate referral")
    page.get_by_role("button", name="Send report").click()
    visit(page, "Record an inappropriate referral")  # the error summary
    assert page.locator(".nhsuk-error-summary").is_visible()
    page.get_by_label("Examination requested").select_option(label="XR Chest (XCHES)")
    page.get_by_label("Day").fill(str(today.day))
    page.get_by_label("Month").fill(str(today.month))
    page.get_by_label("Year").fill(str(today.year))
    page.get_by_label("Not meeting referral guidelines (such as iRefer)").check()
    page.get_by_label("What happened").fill("Chest X-ray for a minor head injury.")
    page.get_by_role("button", name="Send report").click()
    visit(page, "Record an inappropriate referral")
    assert "has been sent to the delegates" in page.inner_text("body")

    # --- The delegate upholds it from the queue ----------------------------------------------
    page = pages()
    sign_in(page, DELEGATE, PASSWORD)
    page.goto(reverse("training_queue", args=["RZ9"]))
    visit(page, "Training queue")
    page.get_by_role("link", name="Aisha Rahman, XR Chest on").click()
    page.wait_for_load_state()
    h1 = page.locator("h1").inner_text().strip()
    assert h1.startswith("Inappropriate referral IR-")
    visit(page, h1)
    page.get_by_label("Upheld: the referrer sees this feedback").check()
    page.get_by_label("Feedback for the referrer").fill(FEEDBACK)
    page.get_by_role("button", name="Record review").click()
    visit(page, "Training queue")
    assert "is upheld" in page.inner_text("body")

    # --- The referrer sees the feedback ------------------------------------------------------
    page = pages()
    sign_in(page, REFERRER, PASSWORD)
    visit(page, "Your registration and employments")
    page.get_by_role("link", name="See your audits and feedback").click()
    visit(page, "Your audits and feedback")
    feedback = page.get_by_role("table", name="Upheld feedback on your requests")
    assert FEEDBACK in feedback.inner_text()

    # --- The governance lead sees it on the dashboard ----------------------------------------
    page = pages()
    sign_in(page, GOVERNANCE, PASSWORD)
    visit(page, "Governance")
    page.get_by_role("link", name="Open the governance dashboard").click()
    visit(page, "Governance dashboard")
    month = page.get_by_role("table", name="Reports by month of the request").locator(
        "tr", has_text=f"{today:%b %Y}"
    )
    assert month.locator("td").all_inner_texts()[:2] == ["1", "1"]


def test_upload_an_extract_submit_it_and_record_the_outcome(
    pages, axe, screenshots_dir, entitled_referrer
):
    from audits.models import AuditCycle
    from entitlements.selectors import procedure_version_in_force
    from tests.audits.conftest import schedule

    schedule(
        entitled_referrer.organisation, procedure_version_in_force(entitled_referrer.organisation)
    )
    AuditCycle.objects.filter(entitlement=entitled_referrer).update(minimum_sample=2)
    cycle = AuditCycle.objects.get(entitlement=entitled_referrer)
    connections.close_all()
    shots = iter(range(1, 100))

    def visit(page, h1: str) -> None:
        page.wait_for_load_state()
        assert_single_h1(page, h1)
        assert_accessible(page, axe)
        page.screenshot(
            path=str(screenshots_dir / f"audit-extract-{next(shots):02d}.png"), full_page=True
        )

    today = timezone.localdate().isoformat()
    number = entitled_referrer.referrer.registration_number
    extract = (
        "request_date,examination_code,patient_age,setting,clinical_indication,"
        f"referrer_registration\n{today},XCHES,54,ED,Rib fracture?,{number}\n"
        f"{today},CHEAD,54,ED,Headache,{number}\n"
    )
    title = f"Audit 1 of {entitled_referrer.reference}"

    page = pages()
    sign_in(page, REFERRER, PASSWORD)
    page.get_by_role("link", name="See your audits and feedback").click()
    visit(page, "Your audits and feedback")
    page.get_by_role("link", name=title).click()
    visit(page, title)
    # With JavaScript, nhsuk-frontend's file upload shows a button in front of the input.
    upload = page.locator("input[type=file][name=file]")
    upload.set_input_files(
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": b"request_date\n2026-01-01\n"}]
    )
    page.get_by_role("button", name="Check extract").click()
    visit(page, title)
    assert "Nothing has been saved" in page.inner_text("body")
    upload.set_input_files(
        files=[{"name": "requests.csv", "mimeType": "text/csv", "buffer": extract.encode()}]
    )
    page.get_by_role("button", name="Check extract").click()
    visit(page, title)
    verdicts = page.get_by_role("table", name="Each request against the scope in force on its date")
    assert "Within scope" in verdicts.inner_text() and "Outside scope" in verdicts.inner_text()
    page.get_by_label("Your reflection").fill("CT head is not in my scope: I will ask the ED team.")
    page.get_by_role("button", name="Submit audit").click()
    visit(page, title)

    page = pages()
    sign_in(page, DELEGATE, PASSWORD)
    page.goto(reverse("training_queue", args=["RZ9"]))
    visit(page, "Training queue")
    page.get_by_role("link", name=f"Aisha Rahman, audit 1 of {entitled_referrer.reference}").click()
    visit(page, title)
    page.get_by_label("Action plan needed").check()
    page.get_by_label("Notes for the referrer").fill("Half the requests were outside scope.")
    page.get_by_role("button", name="Record outcome").click()
    visit(page, title)
    assert "Action plan needed, by Julian Ashby" in page.inner_text("body")
    assert AuditCycle.objects.get(pk=cycle.pk).outcome == "action_plan"
