"""Letters (principle 3): rendered once from what was captured at the change, stored with
their SHA-256, fetched by nobody outside the project, downloaded only by those who may."""

import hashlib
import io
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import weasyprint
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.template import engines
from django.urls import reverse
from pypdf import PdfReader

from entitlements import pdf, services
from entitlements.models import ApplicationScopeItem, Letter, LetterStatus
from entitlements.services import letters as letter_services
from entitlements.services.letters import LetterRenderFailed, letter_render
from entitlements.tasks import letter_render as letter_render_task
from tests.journeys import PNG_BYTES, apply, grant, pdf_upload

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def squeezed(text: str) -> str:
    """Text without any whitespace: a PDF wraps long words in narrow table cells."""
    return re.sub(r"\s+", "", text)


def stored_bytes(letter: Letter) -> bytes:
    with default_storage.open(letter.file.name, "rb") as file:
        return file.read()


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Letters of these tests go to a folder of their own."""
    default = {**settings.STORAGES["default"], "OPTIONS": {"location": str(tmp_path / "media")}}
    settings.STORAGES = {**settings.STORAGES, "default": default}


@pytest.fixture
def letter(entitlement):
    """The grant letter of Priya's entitlement, issued and not yet rendered."""
    return entitlement.letters.get()


@pytest.fixture
def trap_server():
    """A real HTTP server on a free local port that counts every request it gets."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(PNG_BYTES)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], hits
    server.shutdown()
    server.server_close()


class SpyFetcher(pdf.StaticOnlyFetcher):
    """The real fetcher, remembered, so a test can see every URL WeasyPrint asked for."""

    made: list["SpyFetcher"] = []

    def __init__(self):
        super().__init__()
        SpyFetcher.made.append(self)


@pytest.fixture
def spy(monkeypatch):
    SpyFetcher.made = []
    monkeypatch.setattr(pdf, "StaticOnlyFetcher", SpyFetcher)
    return SpyFetcher.made


LETTER_CSS = pdf.BASE_URL + "static/letters/letter.css"


# --- The renderer fetches nothing but data: URLs and our own static files -------------------


def test_the_trap_server_does_see_an_ordinary_weasyprint_fetch(trap_server):
    """The control: WeasyPrint's default fetcher does reach the trap server, so a hit count
    of zero below means our fetcher stopped the request."""
    port, hits = trap_server
    html = f'<p>x</p><img src="http://127.0.0.1:{port}/control.png">'
    weasyprint.HTML(string=html).write_pdf()
    assert hits == ["/control.png"]


def test_user_text_with_urls_is_escaped_and_nothing_is_fetched(
    referrer, supervisor, trust, catalogue, procedure, delegate, trap_server, spy
):
    port, hits = trap_server
    file_img = '<img src="file:///etc/passwd">'
    http_img = f'<img src="http://127.0.0.1:{port}/pixel.png">'
    stylesheet = '<link rel=stylesheet href="https://example.invalid/x.css">'
    css_url = f'<div style="background: url(http://127.0.0.1:{port}/bg.png)">x</div>'
    # The referrer's job title, a scope item's clinical indications and exclusions, and the
    # delegate's rationale: all typed by people, all on the letter.
    referrer.referrer_profile.employments.update(job_title=f"ANP {stylesheet}")
    application = apply(
        referrer, trust, [catalogue["xr_chest"]], supervisor=supervisor, until="endorsed"
    )
    ApplicationScopeItem.objects.filter(application=application).update(
        clinical_indications=f"Trauma {file_img}", exclusions=f"None {css_url}"
    )
    entitlement = grant(application, delegate, rationale=f"Meets criteria {http_img}")
    letter = entitlement.letters.get()

    html = letter_services.letter_html(letter)
    assert "<img" not in html and "<link rel=stylesheet" not in html
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html

    letter = letter_render(letter_id=letter.pk)

    assert hits == [], "the letter made a request to the local HTTP server"
    [fetcher] = spy
    assert fetcher.fetched == [LETTER_CSS]  # our own stylesheet, and nothing else
    assert fetcher.refused == []  # escaped text never even asks
    text = squeezed(pdf_text(stored_bytes(letter)))
    for typed in (file_img, http_img, stylesheet, css_url):
        assert squeezed(typed) in text


def test_markup_that_slipped_past_escaping_still_fetches_nothing(trap_server, tmp_path):
    """The second wall: even raw HTML pointing at files and servers fetches nothing."""
    port, hits = trap_server
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG_BYTES)
    html = f"""<!doctype html><html><head>
      <link rel="stylesheet" href="https://example.invalid/x.css">
      <link rel="stylesheet" href="http://127.0.0.1:{port}/style.css">
      <style>@import url("http://127.0.0.1:{port}/import.css");
             body {{ background: url("http://127.0.0.1:{port}/bg.png") }}</style>
      </head><body>
      <img src="file://{secret}"><img src="file:///etc/passwd">
      <img src="http://127.0.0.1:{port}/pixel.png">
      <img src="/static/../../../../etc/passwd"><img src="/static/%2e%2e/%2e%2e/etc/passwd">
      <img src="/media/letters/someone-else.pdf">
      <img src="data:image/png;base64,iVBORw0KGgo=">
      <p>Hello</p></body></html>"""
    fetcher = pdf.StaticOnlyFetcher()

    document = pdf.html_to_pdf(html, fetcher=fetcher)

    assert document.startswith(b"%PDF")
    assert hits == []
    assert fetcher.fetched == ["data:image/png;base64,iVBORw0KGgo="]
    refused = " ".join(fetcher.refused)
    for url in (
        "https://example.invalid/x.css",
        f"http://127.0.0.1:{port}/style.css",
        f"http://127.0.0.1:{port}/import.css",
        f"http://127.0.0.1:{port}/bg.png",
        f"file://{secret}",
        "file:///etc/passwd",
        f"http://127.0.0.1:{port}/pixel.png",
        pdf.BASE_URL + "etc/passwd",  # the dots resolved away: outside /static/
        pdf.BASE_URL + "static/%2e%2e/%2e%2e/etc/passwd",
        pdf.BASE_URL + "media/letters/someone-else.pdf",
    ):
        assert url in refused


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "http://127.0.0.1/x.png",
        "https://example.invalid/x.css",
        "ftp://example.invalid/x",
        "//example.invalid/x.png",
        pdf.BASE_URL + "static/../manage.py",
        pdf.BASE_URL + "static/%2e%2e/manage.py",
        pdf.BASE_URL + "static/letters/..%2f..%2fmanage.py",
        pdf.BASE_URL + "static//etc/passwd",
        pdf.BASE_URL + "static/letters/missing.css",
        pdf.BASE_URL + "static/letters/letter.css?x=1",
        pdf.BASE_URL + "manage.py",
        "https://letter-assets.invalid.example.com/static/letters/letter.css",
    ],
)
def test_the_fetcher_refuses(url):
    with pytest.raises(ValueError):
        pdf.StaticOnlyFetcher().fetch(url)


def test_the_fetcher_serves_static_files_and_data_urls(settings, tmp_path):
    fetcher = pdf.StaticOnlyFetcher()
    css = fetcher.fetch(LETTER_CSS)
    assert css.content_type == "text/css"
    assert b"@page" in css.read()
    assert fetcher.fetch("data:text/plain,hello").read() == b"hello"
    # After collectstatic (production), from STATIC_ROOT.
    settings.STATIC_ROOT = str(tmp_path)
    (tmp_path / "collected.css").write_text("p { color: red }")
    assert fetcher.fetch(pdf.BASE_URL + "static/collected.css").read() == b"p { color: red }"


# --- Rendered once, stored with its hash, never regenerated ---------------------------------


def test_a_grant_issues_a_letter_waiting_to_be_rendered(letter, entitlement):
    assert letter.status == LetterStatus.PENDING
    assert not letter.file and letter.sha256 == ""
    assert letter.content["title"] == "Entitlement granted"
    assert letter.content["reference"] == entitlement.reference


def test_the_stored_file_matches_its_sha256(letter):
    letter = letter_render(letter_id=letter.pk)

    letter.refresh_from_db()
    data = stored_bytes(letter)
    assert data.startswith(b"%PDF-")
    assert letter.status == LetterStatus.READY
    assert letter.sha256 == hashlib.sha256(data).hexdigest()
    assert letter.size == len(data)
    assert letter.rendered_at is not None
    assert letter.attempts == 1
    # Private storage: under the private media root, not a public URL.
    assert letter.file.name.startswith("letters/")


def test_rendering_again_changes_nothing(letter, monkeypatch):
    letter_render(letter_id=letter.pk)
    letter.refresh_from_db()
    before = (letter.file.name, letter.sha256, letter.size, letter.rendered_at, letter.attempts)
    data = stored_bytes(letter)
    assert default_storage.listdir("letters")[1] == [letter.file.name.removeprefix("letters/")]

    def must_not_render(*args, **kwargs):
        raise AssertionError("a ready letter was rendered again")

    monkeypatch.setattr(letter_services, "letter_pdf", must_not_render)
    letter_render(letter_id=letter.pk)
    letter_render_task.apply(kwargs={"letter_id": letter.pk}).get()

    letter.refresh_from_db()
    assert (
        letter.file.name,
        letter.sha256,
        letter.size,
        letter.rendered_at,
        letter.attempts,
    ) == before
    assert stored_bytes(letter) == data
    assert default_storage.listdir("letters")[1] == [letter.file.name.removeprefix("letters/")]


def test_a_late_render_states_what_was_true_at_issue(letter, entitlement, referrer, trust):
    # After the letter was issued, things change in the database...
    trust.name = "Renamed Coast University Hospitals"
    trust.save()
    referrer.full_name = "Priya Renamed"
    referrer.save()
    referrer.referrer_profile.employments.update(job_title="Consultant sonographer")
    entitlement.scope_items.update(clinical_indications="Anything at all")

    letter = letter_render(letter_id=letter.pk)

    text = pdf_text(stored_bytes(letter))
    flat = squeezed(text)
    assert "Dorset Coast Hospitals NHS Trust" in text
    assert "Priya Shah" in text
    assert squeezed("Suspected fracture or as iRefer") in flat
    assert squeezed("Meets the criteria in RAD-POL-012.") in flat
    for later in ("Renamed Coast", "Priya Renamed", "Consultant sonographer", "Anything at all"):
        assert squeezed(later) not in flat


def test_the_letter_states_what_principle_3_asks(letter, entitlement):
    letter = letter_render(letter_id=letter.pk)
    text = pdf_text(stored_bytes(letter))
    flat = squeezed(text)
    content = letter.content
    expected = [
        "Entitlement granted",
        "Dorset Coast Hospitals NHS Trust",  # employer
        "Priya Shah",  # referrer
        content["referrer"]["registration"],
        content["employment"]["job_title"],  # role
        content["employment"]["level"],
        "XR Chest",
        "CT Head with contrast",
        "16 years and over",
        "No pregnancy-possible patients",  # conditions
        "Sue Supervisor",  # supervision
        "Consultant in emergency medicine on shift",  # decision line
        "Clinical lead for emergency medicine",  # accountability line
        "Radiation protection",
        "Contrast safety",  # training in force
        "Dana Delegate",
        "Board paper 2025/01",  # the delegate's appointment
        content["procedure"]["label"],
        "RAD-POL-012 v4",  # procedure version
        letter.verification_code,
        "Page 1 of 2",
        "Page 2 of 2",
    ]
    for phrase in expected:
        assert squeezed(phrase) in flat, phrase
    review = entitlement.review_due_on
    assert f"{review.day} {review:%B %Y}" in text
    assert PdfReader(io.BytesIO(stored_bytes(letter))).pages[0].mediabox.width == pytest.approx(
        595.28, abs=1
    )  # A4


def test_each_change_issues_its_own_letter(entitlement, delegate):
    services.entitlement_suspend(
        entitlement=entitlement, by=delegate, reason="Contrast training lapsed on 1 May"
    )
    services.entitlement_reinstate(entitlement=entitlement, by=delegate, reason="Renewed")
    item = entitlement.scope_items.order_by("id").last()
    services.entitlement_suspend(
        entitlement=entitlement, by=delegate, reason="CT audit pending", scope_items=[item]
    )
    services.entitlement_revoke(entitlement=entitlement, by=delegate, reason="Left the ED team")

    titles = [letter.content["title"] for letter in entitlement.letters.order_by("id")]
    assert titles == [
        "Entitlement granted",
        "Entitlement suspended",
        "Entitlement reinstated",
        "Part of the entitlement suspended",
        "Entitlement revoked",
    ]
    suspended = entitlement.letters.order_by("id")[1]
    text = pdf_text(stored_bytes(letter_render(letter_id=suspended.pk)))
    assert "Entitlement suspended" in text
    assert "Contrast training lapsed on 1 May" in text
    assert "Recorded by Dana Delegate" in text
    partly = entitlement.letters.order_by("id")[3]
    flat = squeezed(pdf_text(stored_bytes(letter_render(letter_id=partly.pk))))
    assert squeezed("SuspendedCT audit pending") in flat


def test_a_variation_letter_says_what_it_replaces(entitlement, referrer, supervisor, delegate):
    application = services.variation_start(entitlement=entitlement, by=referrer)
    services.evidence_add(
        application=application, by=referrer, upload=pdf_upload(), kind="competency"
    )
    services.application_submit(application=application, by=referrer)
    services.application_endorse(application=application, by=supervisor, outcome="endorsed")
    application.refresh_from_db()
    varied = grant(application, delegate, rationale="Scope confirmed at review")

    letter = varied.letters.get()
    assert letter.content["title"] == "Entitlement varied"
    text = pdf_text(stored_bytes(letter_render(letter_id=letter.pk)))
    assert f"replaces entitlement {entitlement.reference}" in " ".join(text.split())


def test_a_failed_render_is_recorded_and_retried_then_marked_failed(letter, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("pango exploded")

    monkeypatch.setattr(letter_services, "letter_pdf", broken)
    with pytest.raises(LetterRenderFailed):
        letter_render(letter_id=letter.pk, last_attempt=False)
    letter.refresh_from_db()
    assert (letter.status, letter.attempts) == (LetterStatus.PENDING, 1)
    assert "pango exploded" in letter.error

    # The task retries (eagerly here) and the last attempt marks the letter failed.
    result = letter_render_task.apply(kwargs={"letter_id": letter.pk})
    assert result.failed()
    letter.refresh_from_db()
    assert letter.status == LetterStatus.FAILED
    assert letter.attempts == 1 + 1 + letter_render_task.max_retries
    assert not letter.file and letter.sha256 == ""


def test_the_sweep_enqueues_letters_whose_task_was_lost(letter, monkeypatch):
    import datetime

    from entitlements import tasks

    queued = []
    monkeypatch.setattr(tasks.letter_render, "delay", lambda **kw: queued.append(kw))
    assert tasks.letters_render_pending.apply().get() == 0  # too recent to be lost
    Letter.objects.filter(pk=letter.pk).update(
        created_at=letter.created_at - datetime.timedelta(hours=1)
    )
    assert tasks.letters_render_pending.apply().get() == 1
    assert queued == [{"letter_id": letter.pk}]


def test_beat_runs_the_sweep_every_quarter_of_an_hour():
    from django.conf import settings

    from config.celery import app

    app.loader.import_default_modules()
    schedule = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert schedule["entitlements.letters_render_pending"] == 15 * 60
    assert set(schedule) <= set(app.tasks), "beat names a task no worker has"


# --- Download and progress, only for those who may ------------------------------------------


ALLOWED = ["referrer", "delegate", "governance_lead"]
REFUSED = [
    "other_referrer",
    "other_trust_delegate",
    "other_trust_governance_lead",
    "practitioner",
    "supervisor",
]


@pytest.fixture
def ready_letter(letter):
    return letter_render(letter_id=letter.pk)


@pytest.mark.parametrize("persona", ALLOWED)
def test_those_who_may_download_the_letter(client, request, ready_letter, persona):
    client.force_login(request.getfixturevalue(persona))

    response = client.get(reverse("letter_download", args=[ready_letter.pk]))

    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    assert data == stored_bytes(ready_letter)
    assert hashlib.sha256(data).hexdigest() == ready_letter.sha256
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    reference = ready_letter.content["reference"]
    assert response["Content-Disposition"] == (
        f'attachment; filename="entitlement-{reference}-letter-1.pdf"'
    )

    status = client.get(reverse("letter_status", args=[ready_letter.pk]))
    assert status.status_code == 200
    assert status.json() == {
        "status": "ready",
        "status_text": "Ready",
        "download_url": reverse("letter_download", args=[ready_letter.pk]),
        "size": ready_letter.size,
    }


@pytest.mark.parametrize("persona", REFUSED)
@pytest.mark.parametrize("name", ["letter_download", "letter_status"])
def test_nobody_else_can_reach_the_letter(client, request, ready_letter, persona, name):
    client.force_login(request.getfixturevalue(persona))

    response = client.get(reverse(name, args=[ready_letter.pk]))

    assert response.status_code == 404
    assert b"%PDF" not in response.content
    assert ready_letter.verification_code.encode() not in response.content


@pytest.mark.parametrize("name", ["letter_download", "letter_status"])
def test_signed_out_people_are_sent_to_sign_in(client, ready_letter, name):
    response = client.get(reverse(name, args=[ready_letter.pk]))
    assert response.status_code == 302
    assert "next=" in response["Location"]


@pytest.mark.parametrize("name", ["letter_download", "letter_status"])
def test_a_letter_that_does_not_exist_is_404(client, referrer, ready_letter, name):
    client.force_login(referrer)
    assert client.get(reverse(name, args=[ready_letter.pk + 1000])).status_code == 404


def test_a_letter_being_prepared_says_so(client, referrer, letter):
    client.force_login(referrer)

    response = client.get(reverse("letter_download", args=[letter.pk]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "This letter is being prepared" in page
    assert "Refresh this page to check" in page
    assert f'data-letter-status-url="{reverse("letter_status", args=[letter.pk])}"' in page
    assert reverse("entitlement", args=[letter.entitlement_id]) in page  # back
    status = client.get(reverse("letter_status", args=[letter.pk])).json()
    assert status == {
        "status": "pending",
        "status_text": "Being prepared",
        "download_url": None,
        "size": None,
    }


def test_a_letter_that_failed_says_so(client, delegate, letter):
    Letter.objects.filter(pk=letter.pk).update(status=LetterStatus.FAILED, attempts=4)
    client.force_login(delegate)

    page = client.get(reverse("letter_download", args=[letter.pk])).content.decode()

    assert "This letter could not be prepared" in page
    assert "after 4 attempts" in page
    assert letter.verification_code in page
    status = client.get(reverse("letter_status", args=[letter.pk])).json()
    assert status["status"] == "failed" and status["download_url"] is None


def test_a_stored_file_that_no_longer_matches_its_hash_is_not_served(
    client, referrer, ready_letter
):
    with default_storage.open(ready_letter.file.name, "wb") as file:
        file.write(b"%PDF-1.7 tampered")
    client.force_login(referrer)

    response = client.get(reverse("letter_download", args=[ready_letter.pk]))

    assert response.status_code == 500
    assert b"tampered" not in response.content
    assert "does not match the fingerprint" in response.content.decode()


# --- The list of letters on the entitlement page --------------------------------------------


def render_list(letters) -> str:
    template = engines["jinja2"].from_string(
        '{% from "entitlements/letters/macros.jinja" import letters_list %}'
        "{{ letters_list(letters) }}"
    )
    return template.render({"letters": letters})


def test_the_letters_list_shows_newest_first_with_download_or_progress(entitlement, delegate):
    first = entitlement.letters.get()
    letter_render(letter_id=first.pk)
    services.entitlement_suspend(entitlement=entitlement, by=delegate, reason="Training lapsed")
    first.refresh_from_db()
    second = entitlement.letters.exclude(pk=first.pk).get()

    from entitlements import selectors

    html = render_list(list(selectors.letters_of(entitlement)))

    assert html.index("Entitlement suspended") < html.index("Entitlement granted")
    assert html.count("<tr") == 3  # a header and two letters
    # The ready one: a download link with its size.
    kb = -(-first.size // 1024)
    assert f'href="{reverse("letter_download", args=[first.pk])}"' in html
    assert f"({kb} KB)" in html
    assert first.verification_code in html and second.verification_code in html
    # The pending one: a status element for letters.mjs, and advice without JavaScript.
    assert "Being prepared" in html
    assert f'data-letter-status-url="{reverse("letter_status", args=[second.pk])}"' in html
    assert "Refresh this page to check" in html
    assert f'href="{reverse("letter_download", args=[second.pk])}"' not in html
    issued = first.content["issued_on"]
    year, month, day = (int(part) for part in issued.split("-"))
    import datetime

    assert datetime.date(year, month, day).strftime(f"{day} %B %Y") in html


def test_the_letters_list_says_when_there_are_none(db):
    assert "No letters have been issued yet" in render_list([])


def test_the_page_script_is_loaded_by_app_mjs():
    from django.conf import settings

    app = (settings.BASE_DIR / "static" / "js" / "app.mjs").read_text()
    assert 'import "../js/letters.mjs";' in app
    script = (settings.BASE_DIR / "static" / "js" / "letters.mjs").read_text()
    assert "data-letter-status-url" in script and "download_url" in script


def test_the_management_command_renders_what_is_pending(letter, monkeypatch):
    out = io.StringIO()
    call_command("letters_render", stdout=out)
    letter.refresh_from_db()
    assert letter.status == LetterStatus.READY
    assert f"Letter {letter.pk}: ready" in out.getvalue()

    monkeypatch.setattr(letter_services, "letter_pdf", lambda *a, **k: 1 / 0)
    call_command("letters_render", str(letter.pk), stdout=io.StringIO())  # ready: untouched
    assert Letter.objects.get(pk=letter.pk).sha256 == letter.sha256
