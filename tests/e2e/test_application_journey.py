"""The whole journey in Chromium, as the three people do it, once with JavaScript and once
without: the referrer applies with evidence, the supervisor endorses, the delegate grants a
narrower scope, and the referrer sees the entitlement and downloads the letter. Every page on
the way has one h1 and passes an axe scan."""

import re

import pytest
from django.db import connections
from pypdf import PdfReader

from entitlements.models import Application, Entitlement
from tests.e2e.helpers import assert_accessible, assert_single_h1, local_context, sign_in
from tests.journeys import PDF_BYTES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo-password-2026"
REFERRER = "referrer@demo.example"  # Aisha Rahman, ANP in the emergency department at RZ9
SUPERVISOR = "supervisor@demo.example"  # Helen Okafor
DELEGATE = "delegate@demo.example"  # Julian Ashby


@pytest.fixture(params=[True, False], ids=["javascript", "no-javascript"])
def journey_page(request, browser, live_server, seeded_demo, celery_worker, tmp_path, settings):
    """A browser page on the demo site, with or without JavaScript, with a worker rendering
    letters and private files kept in a temporary folder."""
    default = {**settings.STORAGES["default"], "OPTIONS": {"location": str(tmp_path / "media")}}
    settings.STORAGES = {**settings.STORAGES, "default": default}
    origin = live_server.url
    context = local_context(
        browser, origin, java_script_enabled=request.param, accept_downloads=True
    )
    page = context.new_page()
    page.javascript = request.param
    page.scanner = None
    if not request.param:
        # axe runs as a script in the page, which a page without JavaScript cannot do. Each
        # page the journey reaches is copied, without its scripts, into a page of a second
        # context at the same address and scanned there: the document the user had.
        scanning = local_context(browser, origin, scripts=False)
        page.scanner = scanning.new_page()
    yield page
    # The ORM calls of this test run on a connection of their own beside Playwright's event
    # loop; PostgreSQL refuses to drop the test database while it is open.
    connections.close_all()
    if page.scanner:
        page.scanner.context.close()
    context.close()


class Visit:
    """Checks each page the journey reaches and keeps a screenshot of it."""

    def __init__(self, page, axe, folder, label):
        self.page, self.axe, self.folder, self.label = page, axe, folder, label
        self.count = 0

    def __call__(self, h1: str) -> None:
        self.page.wait_for_load_state()
        assert_single_h1(self.page, h1)
        scanner = self.page.scanner
        if scanner is None:
            assert_accessible(self.page, self.axe)
        else:
            html = re.sub(r"<script\b.*?</script>", "", self.page.content(), flags=re.S)
            scanner.goto(self.page.url)
            scanner.set_content(html)
            assert_single_h1(scanner, h1)
            assert_accessible(scanner, self.axe)
        self.count += 1
        self.page.screenshot(
            path=str(self.folder / f"journey-{self.label}-{self.count:02d}.png"), full_page=True
        )

    def sign_out(self):
        self.page.context.clear_cookies()


def test_apply_endorse_grant_narrower_and_download_the_letter(
    journey_page, axe, screenshots_dir, tmp_path
):
    page = journey_page
    label = "js" if page.javascript else "nojs"
    visit = Visit(page, axe, screenshots_dir, label)

    # --- The referrer applies --------------------------------------------------------------
    sign_in(page, REFERRER, PASSWORD)
    visit("Your registration and employments")
    # nhsuk-frontend's inline script marks the body when JavaScript runs.
    body_classes = page.locator("body").get_attribute("class") or ""
    assert ("js-enabled" in body_classes) == page.javascript
    page.get_by_role("link", name="See all your applications and their status").click()
    visit("Your applications")
    page.get_by_role("button", name="Start a new application").click()
    visit("Which role is this application for?")
    page.get_by_label("Advanced nurse practitioner").first.check()
    page.get_by_label("Referral for imaging").check()
    page.get_by_role("button", name="Save and continue").click()
    visit("Your application")
    application = Application.objects.get(referrer__user__email=REFERRER)

    page.get_by_role("link", name="Service need").click()
    visit("Service need")
    page.get_by_label("Why does your role need to request imaging?").fill(
        "I see adults and children with limb injuries in the emergency department overnight,"
        " when no doctor may be free to request an X-ray."
    )
    page.get_by_label("How many requests do you expect to make in a year?").fill("600")
    page.get_by_role("button", name="Save and continue").click()
    visit("Your application")

    page.get_by_role("link", name="Scope").click()
    visit("Scope requested")
    for code, name in [("XWRIL", "XR Wrist left"), ("XCHES", "XR Chest")]:
        page.get_by_role("button", name=re.compile(r"^Add (an|another) examination$")).click()
        visit("Add an examination")
        page.get_by_label("Examination or group of examinations").select_option(
            page.locator("option", has_text=name).first.get_attribute("value")
        )
        page.get_by_label("Youngest patient age (years)").fill("5")
        page.get_by_label("Emergency department").check()
        page.get_by_label("Minor injuries unit").check()
        page.get_by_label("Exclusions (optional)").fill("No pregnancy-possible patients under 16")
        page.get_by_role("button", name="Save examination").click()
        visit("Scope requested")
        assert page.get_by_role("heading", name=name).count() == 1, code
    page.get_by_role("button", name="Continue").click()
    visit("Your application")

    page.get_by_role("link", name="Supervision and accountability").click()
    visit("Supervision and accountability")
    page.get_by_label("Your clinical supervisor's email address").fill(SUPERVISOR)
    page.get_by_label("Decision-making line").fill("The emergency medicine consultant on shift")
    page.get_by_label("Accountability line").fill("Clinical lead for emergency medicine")
    page.get_by_role("button", name="Save and continue").click()
    visit("Your application")

    page.get_by_role("link", name="Evidence").click()
    visit("Evidence")
    certificate = tmp_path / "irmer-referrer-training.pdf"
    certificate.write_bytes(PDF_BYTES)
    # With JavaScript, nhsuk-frontend's file upload shows a button in front of the input.
    page.locator("input[type=file][name=file]").set_input_files(str(certificate))
    page.get_by_role("radio", name="Training", exact=True).check()
    page.get_by_role("button", name="Upload file").click()
    visit("Evidence")
    assert page.get_by_role("link", name="irmer-referrer-training.pdf (download)").count() == 1
    page.get_by_role("button", name="Continue").click()
    visit("Your application")

    page.get_by_role("link", name="Check and submit").click()
    visit("Check your answers before submitting your application")
    page.get_by_role("button", name="Submit application").click()
    visit("Application submitted")
    application.refresh_from_db()
    assert application.status == "awaiting_endorsement"
    visit.sign_out()

    # --- The supervisor endorses -----------------------------------------------------------
    sign_in(page, SUPERVISOR, PASSWORD)
    visit("Referrers you supervise")
    page.get_by_role("link", name="Aisha Rahman").first.click()
    visit("Endorse Aisha Rahman's application")
    page.get_by_label("Yes, I endorse the service need and supervision arrangements").check()
    page.get_by_label("Comment").fill("Supervised in the department; I support this.")
    page.get_by_role("button", name="Send endorsement").click()
    visit("Referrers you supervise")
    assert "It has gone to the entitlement delegates for a decision" in page.inner_text("main")
    application.refresh_from_db()
    assert application.status == "under_review"
    visit.sign_out()

    # --- The delegate grants a narrower scope ----------------------------------------------
    sign_in(page, DELEGATE, PASSWORD)
    visit("Entitlement delegate")
    page.get_by_role("link", name="See the applications and reported changes").click()
    visit("Applications")
    page.get_by_role("link", name=application.reference).click()
    visit(f"Aisha Rahman: application {application.reference}")
    page.get_by_role("button", name="Make a decision").click()
    visit(f"Decide application {application.reference}")
    page.get_by_label("Grant a narrower scope").check()
    page.get_by_label("Rationale").fill("Limb imaging only until the chest audit is done.")
    page.get_by_role("button", name="Continue").click()
    visit("Grant a narrower scope")
    chest = page.get_by_role("group", name="XR Chest")
    chest.get_by_label("Grant this item").uncheck()
    wrist = page.get_by_role("group", name="XR Wrist left")
    wrist.get_by_label("Youngest patient age (years)").fill("16")
    page.get_by_label("Reasons for narrowing the scope").fill(
        "Chest X-ray removed; wrist from 16 years until paediatric training is done."
    )
    page.get_by_role("button", name="Grant this scope").click()
    entitlement = Entitlement.objects.get(referrer__user__email=REFERRER)
    visit(f"Entitlement {entitlement.reference}")
    assert f"Aisha Rahman has been granted {entitlement.reference}" in page.inner_text("main")
    assert entitlement.state == "active"
    granted = list(entitlement.scope_items.select_related("examination"))
    assert [(i.examination.code, i.age_min) for i in granted] == [("XWRIL", 16)]
    visit.sign_out()

    # --- The referrer sees the entitlement and downloads the letter ------------------------
    sign_in(page, REFERRER, PASSWORD)
    visit("Your registration and employments")
    page.get_by_role("link", name="See your entitlements").click()
    visit("Your entitlements")
    page.get_by_role("link", name=entitlement.reference).click()
    visit(f"Entitlement {entitlement.reference}")
    body = page.locator("main").inner_text()
    assert "XR Wrist left" in body and "XR Chest" not in body

    letter = entitlement.letters.get()
    link = page.get_by_role("link", name="Download PDF")
    for _ in range(20):
        if link.count():
            break
        # The worker has not finished: the page says so; a person would refresh it.
        page.wait_for_timeout(500)
        page.reload()
    with page.expect_download() as download:
        link.first.click()
    text = "".join(p.extract_text() for p in PdfReader(download.value.path()).pages)
    assert "Aisha Rahman" in text and "XR Wrist left" in text and "XR Chest" not in text
    letter.refresh_from_db()
    assert letter.verification_code in text
