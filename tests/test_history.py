"""Every record an inspector may ask about keeps its history (django-simple-history)."""

from django.apps import apps

# Tables that are not records of their own: guardian's permission rows follow roles, which
# have history themselves.
# The outbox is plumbing (tasks waiting for the broker), not a record: what it sends is
# recorded where it happens (letters, notifications, bundles).
NOT_RECORDS = {
    "OrganisationUserObjectPermission",
    "OrganisationGroupObjectPermission",
    "OutboxMessage",
}
# Append-only logs: a row is written once and never changed, so it is its own history.
# (A notification's only change is being marked read.)
APPEND_ONLY = {
    "EntitlementEvent",
    "Notification",
    "RegisterLookup",
    "RisExport",
    "ControlAction",
    # An audit extract and its rows are written once, whole, and never changed.
    "AuditExtract",
    "AuditExtractRow",
}


def test_every_model_of_our_apps_has_history():
    missing = []
    for label in ("referrers", "entitlements", "training", "audits"):
        for model in apps.get_app_config(label).get_models():
            name = model.__name__
            if name.startswith("Historical") or name in NOT_RECORDS | APPEND_ONLY:
                continue
            if model._meta.auto_created:  # many-to-many through tables
                continue
            if not hasattr(model, "history"):
                missing.append(f"{label}.{name}")
    assert not missing, f"models without history: {missing}"
