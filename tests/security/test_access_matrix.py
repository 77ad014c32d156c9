"""Every URL pattern × every persona, with the status each must get.

The patterns come from the URL configuration itself (`get_resolver()`, walked recursively),
so a new URL without an entry in EXPECTED fails
`test_every_url_has_an_entry_and_every_entry_a_url`. Each URL that takes an object is asked
twice: with our objects (the trust RDZ, Priya and her colleagues)
and with theirs (the other trust RX9, Sam and his), so every persona also tries the ids of
other people and of the other employer; an organisation page is also asked with our ODS code
and their object's id (MIXED).

A row is the status of a GET for each persona, in the order of PERSONAS ("200|503": either).
Statuses:
200 the page; 302 sent to sign in (anonymous) or elsewhere (a step that is not open now);
403 refused; 404 not found (whose existence is not given away); 401 the API's "send a token";
405 the URL takes only POST: then every persona also POSTs with no data, and gets what
POST_ONLY says ("-": a persona who may is not sent, as it would act).

Personas sign in with force_login, which the test settings count as having passed the second
factor (test_mfa.py tests that step); the API client sends its Bearer token.
"""

import re
import time

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from entitlements import services as entitlement_services

from . import access_world

PERSONAS = (
    "anonymous",
    "referrer",
    "other_referrer",
    "supervisor",
    "delegate",
    "other_trust_delegate",
    "governance_lead",
    "other_trust_governance_lead",
    "practitioner",
    "org_admin",
    "api_client",
)
SESSION_PERSONAS = [p for p in PERSONAS if p not in ("anonymous", "api_client")]

# The Django admin (superusers only) has a pattern per model; every one refuses everyone here
# (a superuser is not one of the personas): 302 to its own sign-in page. Checked on a sample.
ADMIN_PREFIX = "django-admin/"
ADMIN_SAMPLE = ["/django-admin/", "/django-admin/referrers/user/", "/django-admin/auth/group/"]

# One row per URL name: a string (the URL takes no object), or (ours, theirs).
# fmt: off
EXPECTED: dict[str, str | tuple[str, str]] = {
    # persona:           anon ref  ref2 sup  del  del2 gov  gov2 prac adm  api
    "administration_home": (
        "302  403  403  403  403  403  403  403  403  200  302",
        "302  403  403  403  403  403  403  403  403  403  302",
    ),
    "agreement_add": (
        "302  403  403  403  403  403  403  403  403  200  302",
        "302  403  403  403  403  403  403  403  403  403  302",
    ),
    "agreements": (
        "302  403  403  403  403  403  403  403  403  200  302",
        "302  403  403  403  403  403  403  403  403  403  302",
    ),
    "api_docs": "200  200  200  200  200  200  200  200  200  200  200",
    "api_entitlement_check": "401  401  401  401  401  401  401  401  401  401  400",
    "api_schema": "200  200  200  200  200  200  200  200  200  200  200",
    "application": (
        "302  200  404  404  404  404  404  404  404  404  302",
        "302  404  200  404  404  404  404  404  404  404  302",
    ),
    "application_check": (
        "302  200  404  404  404  404  404  404  404  404  302",
        "302  404  200  404  404  404  404  404  404  404  302",
    ),
    "application_decide": (
        "302  403  403  403  200  403  403  403  403  403  302",
        "302  403  403  403  403  200  403  403  403  403  302",
    ),
    "application_employment": (
        "302  200  404  404  404  404  404  404  404  404  302",
        "302  404  200  404  404  404  404  404  404  404  302",
    ),
    "application_evidence": (
        "302  200  404  404  404  404  404  404  404  404  302",
        "302  404  200  404  404  404  404  404  404  404  302",
    ),
    "application_narrow": (
        "302  403  403  403  200  403  403  403  403  403  302",
        "302  403  403  403  403  200  403  403  403  403  302",
    ),
    "application_queue": (
        "302  403  403  403  200  403  403  403  403  403  302",
        "302  403  403  403  403  200  403  403  403  403  302",
    ),
    "application_review": (
        "302  403  403  403  200  403  403  403  403  403  302",
        "302  403  403  403  403  200  403  403  403  403  302",
    ),
    "application_scope": (
        "302  200  404  404  404  404  404  404  404  404  302",
        "302  404  200  404  404  404  404  404  404  404  302",
    ),
    "application_scope_add": (
        "302  200  404  404  404  404  404  404  404  404  302",
        "302  404  200  404  404  404  404  404  404  404  302",
    ),
    "application_scope_edit": (
        "302  200  404  404  404  404  404  404  404  404  302",
        "302  404  200  404  404  404  404  404  404  404  302",
    ),
    "application_scope_remove": (
        "302  200  404  404  404  404  404  404  404  404  302",
        "302  404  200  404  404  404  404  404  404  404  302",
    ),
    "application_service_need": (
        "302  200  404  404  404  404  404  404  404  404  302",
        "302  404  200  404  404  404  404  404  404  404  302",
    ),
    "application_start": "302  200  200  302  302  302  302  302  302  302  302",
    "application_submitted": (
        "302  302  404  404  404  404  404  404  404  404  302",
        "302  404  302  404  404  404  404  404  404  404  302",
    ),
    "application_supervision": (
        "302  200  404  404  404  404  404  404  404  404  302",
        "302  404  200  404  404  404  404  404  404  404  302",
    ),
    "application_withdraw": (
        "302  200  404  404  404  404  404  404  404  404  302",
        "302  404  200  404  404  404  404  404  404  404  302",
    ),
    "applications": "302  200  200  200  200  200  200  200  200  200  302",
    "audit": (
        "302  200  404  404  404  404  404  404  404  404  302",
        "302  404  200  404  404  404  404  404  404  404  302",
    ),
    "audit_action_add": (
        "302  403  403  403  302  403  403  403  403  403  302",
        "302  403  403  403  403  302  403  403  403  403  302",
    ),
    "audit_action_done": (
        "302  405  405  405  405  405  405  405  405  405  302",
        "302  405  405  405  405  405  405  405  405  405  302",
    ),
    "audit_action_done_at": (
        "302  403  403  403  405  403  403  403  403  403  302",
        "302  403  403  403  403  405  403  403  403  403  302",
    ),
    "audit_review": (
        "302  403  403  403  200  403  403  403  403  403  302",
        "302  403  403  403  403  200  403  403  403  403  302",
    ),
    "audit_submit": (
        "302  302  404  404  404  404  404  404  404  404  302",
        "302  404  302  404  404  404  404  404  404  404  302",
    ),
    "audits": "302  200  200  200  200  200  200  200  200  200  302",
    "catalogue": (
        "302  403  403  200  200  403  200  403  200  200  302",
        "302  403  403  403  403  200  403  200  403  403  302",
    ),
    "catalogue_import": (
        "302  403  403  403  403  403  403  403  403  200  302",
        "302  403  403  403  403  403  403  403  403  403  302",
    ),
    "change_notice_acknowledge": (
        "302  403  403  403  405  403  403  403  403  403  302",
        "302  403  403  403  403  405  403  403  403  403  302",
    ),
    "change_notified": (
        "302  200  404  404  404  404  404  404  404  404  302",
        "302  404  200  404  404  404  404  404  404  404  302",
    ),
    "change_notify": (
        "302  200  404  404  404  404  404  404  404  404  302",
        "302  404  200  404  404  404  404  404  404  404  302",
    ),
    "delegate_appointment_add": (
        "302  403  403  403  403  403  403  403  403  200  302",
        "302  403  403  403  403  403  403  403  403  403  302",
    ),
    "delegate_appointment_end": (
        "302  403  403  403  403  403  403  403  403  200  302",
        "302  403  403  403  403  403  403  403  403  403  302",
    ),
    "delegate_appointments": (
        "302  403  403  403  403  403  403  403  403  200  302",
        "302  403  403  403  403  403  403  403  403  403  302",
    ),
    "delegate_home": (
        "302  403  403  403  200  403  403  403  403  403  302",
        "302  403  403  403  403  200  403  403  403  403  302",
    ),
    "departments": (
        "302  403  403  403  403  403  403  403  403  200  302",
        "302  403  403  403  403  403  403  403  403  403  302",
    ),
    "employment_add": "302  200  200  302  302  302  302  302  302  302  302",
    "endorsement": (
        "302  404  404  200  404  404  404  404  404  404  302",
        "302  404  404  404  404  404  404  404  404  404  302",
    ),
    "entitlement": (
        "302  200  404  404  404  404  404  404  404  404  302",
        "302  404  200  404  404  404  404  404  404  404  302",
    ),
    "entitlement_history": (
        "302  403  403  403  200  403  200  403  200  403  302",
        "302  403  403  403  403  200  403  200  403  403  302",
    ),
    "entitlement_manage": (
        "302  403  403  403  200  403  200  403  200  403  302",
        "302  403  403  403  403  200  403  200  403  403  302",
    ),
    "entitlement_reinstate": (
        "302  403  403  403  302  403  403  403  403  403  302",
        "302  403  403  403  403  302  403  403  403  403  302",
    ),
    "entitlement_revoke": (
        "302  403  403  403  200  403  403  403  403  403  302",
        "302  403  403  403  403  200  403  403  403  403  302",
    ),
    "entitlement_suspend": (
        "302  403  403  403  200  403  403  403  403  403  302",
        "302  403  403  403  403  200  403  403  403  403  302",
    ),
    "entitlement_timeline": (
        "302  200  404  404  404  404  404  404  404  404  302",
        "302  404  200  404  404  404  404  404  404  404  302",
    ),
    "entitlements": "302  200  200  200  200  200  200  200  200  200  302",
    "entitlements_at": (
        "302  403  403  403  200  403  200  403  200  403  302",
        "302  403  403  403  403  200  403  200  403  403  302",
    ),
    "evidence_download": (
        "302  200  404  404  404  404  404  404  404  404  302",
        "302  404  200  404  404  404  404  404  404  404  302",
    ),
    "evidence_remove": (
        "302  200  404  404  404  404  404  404  404  404  302",
        "302  404  200  404  404  404  404  404  404  404  302",
    ),
    "examination_add": (
        "302  403  403  403  403  403  403  403  403  200  302",
        "302  403  403  403  403  403  403  403  403  403  302",
    ),
    "examination_edit": (
        "302  403  403  403  403  403  403  403  403  200  302",
        "302  403  403  403  403  403  403  403  403  403  302",
    ),
    "fhir_metadata": "200  200  200  200  200  200  200  200  200  200  200",
    "fhir_practitioner_role": (
        "401  401  401  401  401  401  401  401  401  401  200",
        "401  401  401  401  401  401  401  401  401  401  404",
    ),
    "fhir_practitioner_roles": "401  401  401  401  401  401  401  401  401  401  400",
    "governance_dashboard": (
        "302  403  403  403  403  403  200  403  403  403  302",
        "302  403  403  403  403  403  403  200  403  403  302",
    ),
    "governance_export": (
        "302  403  403  403  403  403  200  403  403  403  302",
        "302  403  403  403  403  403  403  200  403  403  302",
    ),
    "governance_home": (
        "302  403  403  403  403  403  200  403  403  403  302",
        "302  403  403  403  403  403  403  200  403  403  302",
    ),
    # Public; 503 while a dependency (the worker heartbeat, here) is missing.
    "health": " ".join(["200|503"] * 11),
    "home": "302  302  302  302  302  302  302  302  302  302  302",
    "inappropriate_referral_find": (
        "302  403  403  403  403  403  403  403  200  403  302",
        "302  403  403  403  403  403  403  403  403  403  302",
    ),
    "inappropriate_referral_new": (
        "302  403  403  403  403  403  403  403  200  403  302",
        "302  403  403  403  403  403  403  403  403  403  302",
    ),
    "inappropriate_referral_review": (
        "302  403  403  403  200  403  403  403  403  403  302",
        "302  403  403  403  403  200  403  403  403  403  302",
    ),
    "letter_bundle": (
        "302  403  403  403  403  403  200  403  403  403  302",
        "302  403  403  403  403  403  403  200  403  403  302",
    ),
    "letter_bundle_download": (
        "302  403  403  403  403  403  302  403  403  403  302",
        "302  403  403  403  403  403  403  302  403  403  302",
    ),
    "letter_bundle_status": (
        "302  403  403  403  403  403  200  403  403  403  302",
        "302  403  403  403  403  403  403  200  403  403  302",
    ),
    "letter_bundles": (
        "302  403  403  403  403  403  200  403  403  403  302",
        "302  403  403  403  403  403  403  200  403  403  302",
    ),
    "letter_check": "200  200  200  200  200  200  200  200  200  200  200",
    "letter_check_code": (
        "200  200  200  200  200  200  200  200  200  200  200",
        "200  200  200  200  200  200  200  200  200  200  200",
    ),
    "letter_download": (
        "302  200  404  404  200  404  200  404  404  404  302",
        "302  404  200  404  404  200  404  200  404  404  302",
    ),
    "letter_status": (
        "302  200  404  404  200  404  200  404  404  404  302",
        "302  404  200  404  404  200  404  200  404  404  302",
    ),
    "letter_verify": "302  200  200  200  200  200  200  200  200  200  302",
    "login": "200  302  302  302  302  302  302  302  302  302  200",
    "mfa_setup": "302  200  200  200  200  200  200  200  200  200  302",
    "mfa_verify": "302  302  302  302  302  302  302  302  302  302  302",
    "notifications": "302  200  200  200  200  200  200  200  200  200  302",
    "oidc_authentication_callback": "404  404  404  404  404  404  404  404  404  404  404",
    "oidc_authentication_init": "404  404  404  404  404  404  404  404  404  404  404",
    "password_forgotten": "200  200  200  200  200  200  200  200  200  200  200",
    "password_forgotten_sent": "200  200  200  200  200  200  200  200  200  200  200",
    "password_set": (
        "302  302  302  302  302  302  302  302  302  302  302",
        "302  302  302  302  302  302  302  302  302  302  302",
    ),
    "password_set_done": "200  200  200  200  200  200  200  200  200  200  200",
    "people": (
        "302  403  403  403  403  403  403  403  403  200  302",
        "302  403  403  403  403  403  403  403  403  403  302",
    ),
    "practitioner_home": (
        "302  403  403  403  200  403  200  403  200  403  302",
        "302  403  403  403  403  200  403  200  403  403  302",
    ),
    "procedure_version": (
        "302  403  403  200  200  403  200  403  200  200  302",
        "302  403  403  403  403  200  403  200  403  403  302",
    ),
    "procedure_version_add": (
        "302  403  403  403  403  403  403  403  403  200  302",
        "302  403  403  403  403  403  403  403  403  403  302",
    ),
    "procedure_version_edit": (
        "302  403  403  403  403  403  403  403  403  200  302",
        "302  403  403  403  403  403  403  403  403  403  302",
    ),
    "procedure_version_publish": (
        "302  403  403  403  403  403  403  403  403  200  302",
        "302  403  403  403  403  403  403  403  403  403  302",
    ),
    "procedure_versions": (
        "302  403  403  200  200  403  200  403  200  200  302",
        "302  403  403  403  403  200  403  200  403  403  302",
    ),
    "referrer_home": "302  200  200  200  200  200  200  200  200  200  302",
    "referrer_registration": "302  200  200  200  200  200  200  200  200  200  302",
    "register": (
        "302  403  403  403  200  403  200  403  200  403  302",
        "302  403  403  403  403  200  403  200  403  403  302",
    ),
    "register_check": (
        "302  403  403  403  200  403  200  403  200  403  302",
        "302  403  403  403  403  200  403  200  403  403  302",
    ),
    "registration_confirm_renewed": (
        "302  403  403  403  200  403  403  403  403  403  302",
        "302  403  403  403  403  200  403  403  403  403  302",
    ),
    "registration_mark_lapsed": (
        "302  403  403  403  200  403  403  403  403  403  302",
        "302  403  403  403  403  200  403  403  403  403  302",
    ),
    "ris_export_download": (
        "302  403  403  403  200  403  200  403  200  403  302",
        "302  403  403  403  403  200  403  200  403  403  302",
    ),
    "ris_exports": (
        "302  403  403  403  200  403  200  403  200  403  302",
        "302  403  403  403  403  200  403  200  403  403  302",
    ),
    "role_grant": (
        "302  403  403  403  403  403  403  403  403  200  302",
        "302  403  403  403  403  403  403  403  403  403  302",
    ),
    "role_remove": (
        "302  403  403  403  403  403  403  403  403  200  302",
        "302  403  403  403  403  403  403  403  403  403  302",
    ),
    "sign_out": "200  200  200  200  200  200  200  200  200  200  200",
    "supervisor_home": "302  200  200  200  200  200  200  200  200  200  302",
    "training": "302  200  200  200  200  200  200  200  200  200  302",
    "training_certificate": (
        "302  200  404  404  200  404  200  404  404  404  302",
        "302  404  200  404  404  200  404  200  404  404  302",
    ),
    "training_import": (
        "302  403  403  403  200  403  403  403  403  403  302",
        "302  403  403  403  403  200  403  403  403  403  302",
    ),
    "training_lapse_reinstate": (
        "302  403  403  403  405  403  403  403  403  403  302",
        "302  403  403  403  403  405  403  403  403  403  302",
    ),
    "training_queue": (
        "302  403  403  403  200  403  403  403  403  403  302",
        "302  403  403  403  403  200  403  403  403  403  302",
    ),
    "training_record_add": "302  200  200  302  302  302  302  302  302  302  302",
    "training_record_add_for": (
        "302  403  403  403  200  403  403  403  403  403  302",
        "302  403  403  403  403  200  403  403  403  403  302",
    ),
    "training_record_reject": (
        "302  403  403  403  200  403  403  403  403  403  302",
        "302  403  403  403  403  200  403  403  403  403  302",
    ),
    "training_record_review": (
        "302  403  403  403  200  403  403  403  403  403  302",
        "302  403  403  403  403  200  403  403  403  403  302",
    ),
    "training_record_verify": (
        "302  403  403  403  405  403  403  403  403  403  302",
        "302  403  403  403  403  405  403  403  403  403  302",
    ),
    "training_referrer": (
        "302  403  403  403  200  403  403  403  403  403  302",
        "302  403  403  403  403  200  403  403  403  403  302",
    ),
    "training_referrers": (
        "302  403  403  403  200  403  403  403  403  403  302",
        "302  403  403  403  403  200  403  403  403  403  302",
    ),
    "variation_start": (
        "302  200  404  404  404  404  404  404  404  404  302",
        "302  404  200  404  404  404  404  404  404  404  302",
    ),
}
# fmt: on


# An organisation page of ours asked with the other trust's object id: refused (403) or not
# found (404) for everyone signed in, whatever their role here.
MIXED = "302 " + "403|404 " * len(SESSION_PERSONAS) + "302"
# Asked by POST (with no data) instead: the POST-only URLs, and audit_action_add, whose GET
# only redirects to the audit page.
MIXED_BY_POST = {
    "audit_action_done_at",
    "change_notice_acknowledge",
    "training_lapse_reinstate",
    "training_record_verify",
    "audit_action_add",
}

# URLs that take only POST (a GET is 405 for whoever may use them): each persona also POSTs
# with no data. "-": the persona may, so is not sent (it would act).
# fmt: off
POST_ONLY: dict[str, tuple[str, str]] = {
    # persona:             anon ref  ref2 sup  del  del2 gov  gov2 prac adm  api
    "audit_action_done": (
        "302  -    404  404  404  404  404  404  404  404  302",
        "302  404  -    404  404  404  404  404  404  404  302",
    ),
    "audit_action_done_at": (
        "302  403  403  403  -    403  403  403  403  403  302",
        "302  403  403  403  403  -    403  403  403  403  302",
    ),
    "change_notice_acknowledge": (
        "302  403  403  403  -    403  403  403  403  403  302",
        "302  403  403  403  403  -    403  403  403  403  302",
    ),
    "training_lapse_reinstate": (
        "302  403  403  403  -    403  403  403  403  403  302",
        "302  403  403  403  403  -    403  403  403  403  302",
    ),
    "training_record_verify": (
        "302  403  403  403  -    403  403  403  403  403  302",
        "302  403  403  403  403  -    403  403  403  403  302",
    ),
}
# fmt: on


def all_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from all_patterns(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def route_kwargs(route: str) -> list[str]:
    return re.findall(r"<(?:\w+:)?(\w+)>", route) + re.findall(r"\(\?P<(\w+)>", route)


def named_patterns() -> dict[str, str]:
    patterns = {}
    for route, pattern in all_patterns():
        if route.startswith(ADMIN_PREFIX):
            continue
        assert pattern.name, f"{route} has no name, so it cannot have an entry"
        patterns[pattern.name] = route
    return patterns


def test_every_url_has_an_entry_and_every_entry_a_url():
    patterns = named_patterns()
    missing = sorted(set(patterns) - set(EXPECTED))
    assert not missing, f"URLs with no entry in the access matrix: {missing}"
    stale = sorted(set(EXPECTED) - set(patterns))
    assert not stale, f"Entries for URLs that no longer exist: {stale}"


def matches(want: str, got: list[int]) -> bool:
    wanted = want.split()
    assert len(wanted) == len(PERSONAS), want
    return all(
        code == "-" or str(status) in code.split("|")
        for code, status in zip(wanted, got, strict=True)
    )


@pytest.fixture
def personas(
    request,
    trust,
    other_trust,
    referrer,
    other_referrer,
    supervisor,
    delegate,
    other_trust_delegate,
    governance_lead,
    other_trust_governance_lead,
    practitioner,
    org_admin,
    other_trust_admin,
):
    return {name: value for name, value in locals().items() if name != "request"}


def test_the_access_matrix(client, personas, settings):
    started = time.monotonic()
    ours, theirs = access_world.build(personas)
    _client, token = entitlement_services.api_client_create(
        organisation=personas["trust"], name="CRIS"
    )
    clients = {}
    for persona in PERSONAS:
        http = client.__class__(raise_request_exception=False)
        if persona in SESSION_PERSONAS:
            http.force_login(personas[persona])
        clients[persona] = http
    headers = {"api_client": {"HTTP_AUTHORIZATION": f"Bearer {token}"}}

    def ask(method: str, url: str, row: str | None = None) -> list[int]:
        codes = row.split() if row else ["?"] * len(PERSONAS)
        statuses = []
        for persona, code in zip(PERSONAS, codes, strict=True):
            if code == "-":  # a persona allowed to POST is not sent: it would act
                statuses.append("-")
                continue
            http = clients[persona]
            response = getattr(http, method)(url, **headers.get(persona, {}))
            statuses.append(response.status_code)
        return statuses

    observed: dict[str, list[str]] = {}
    mismatches = []
    for name, route in sorted(named_patterns().items()):
        keys = route_kwargs(route)
        sides = [("ours", ours), ("theirs", theirs)] if keys else [("ours", ours)]
        rows = []
        for index, (side_name, side) in enumerate(sides):
            url = reverse(name, kwargs=access_world.kwargs_for(name, keys, side) or None)
            expected = EXPECTED.get(name)
            want = expected if isinstance(expected, str) else (expected or ("",) * 2)[index]
            got = ask("get", url)
            rows.append("  ".join(str(s) for s in got))
            if want and not matches(want, got):
                mismatches.append(
                    f"GET {name} ({side_name}) {url}\n  want {want}\n  got  {rows[-1]}"
                )
            if name in POST_ONLY:
                post_want = POST_ONLY[name][index]
                got = ask("post", url, post_want)
                if not matches(post_want, got):
                    mismatches.append(
                        f"POST {name} ({side_name}) {url}\n  want {post_want}\n  got  {got}"
                    )
        if "ods_code" in keys and set(keys) - {"ods_code", "kind"}:
            # Their object through our organisation's URL: found nowhere, for anyone.
            mixed = access_world.kwargs_for(name, keys, theirs) | {"ods_code": ours.ods_code}
            url = reverse(name, kwargs=mixed)
            for method in ("post",) if name in MIXED_BY_POST else ("get",):
                got = ask(method, url)
                if not matches(MIXED, got):
                    mismatches.append(f"{method.upper()} {name} (mixed) {url}\n  got {got}")
        observed[name] = rows
    for url in ADMIN_SAMPLE:
        for persona in PERSONAS:
            response = clients[persona].get(url, **headers.get(persona, {}))
            assert response.status_code == 302, (url, persona)
            assert "/django-admin/login/" in response["Location"]
    elapsed = time.monotonic() - started
    if not EXPECTED:  # to write the first table: pytest -s, then check every row by hand
        for name, rows in observed.items():
            print(f"    {name!r}: {rows!r},")
    assert not mismatches, "\n".join(mismatches)
    # About 30 s on an idle two-core machine (2,700 requests); said here, not asserted, so a
    # busy CI machine does not fail it.
    print(f"access matrix: {elapsed:.0f} s")


def test_an_administrator_can_open_the_end_of_an_appointment(client, delegate, org_admin):
    """Found by the matrix: this page was a 500 on GET (fixed)."""
    from referrers.models import DelegateAppointment

    client.raise_request_exception = False
    client.force_login(org_admin)
    appointment = DelegateAppointment.objects.get(delegate=delegate)
    url = reverse("delegate_appointment_end", args=["RDZ", appointment.pk])
    assert client.get(url).status_code == 200
