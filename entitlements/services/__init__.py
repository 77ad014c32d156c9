"""Every write of the entitlements app, one module per subject.

Callers import the package (`from entitlements import services`) and call
`services.<entity>_<action>`; the modules below say what each subject guarantees.
"""

from .actors import Rule
from .api_clients import api_client_create, api_client_revoke
from .applications import (
    ScopeRequest,
    application_answer,
    application_change_employment,
    application_endorse,
    application_problems,
    application_scope_item_add,
    application_scope_item_remove,
    application_scope_item_update,
    application_start,
    application_submit,
    application_withdraw,
    evidence_add,
    evidence_remove,
    supervisor_by_email,
    variation_start,
)
from .catalogue import (
    EXAMINATION_FIELDS,
    CatalogueImportResult,
    catalogue_import,
    examination_create,
    examination_group_create,
    examination_update,
)
from .changes import change_notice_acknowledge, change_notify
from .decisions import ItemDecision, application_decide
from .letter_bundles import LetterBundleFailed, letter_bundle_build, letter_bundle_request
from .letters import letter_issue
from .lifecycle import (
    ScopeItemData,
    TransitionError,
    can_transition,
    entitlement_expire,
    entitlement_grant,
    entitlement_reinstate,
    entitlement_revoke,
    entitlement_suspend,
)
from .procedures import (
    PROCEDURE_RULE_FIELDS,
    TrainingRuleData,
    procedure_version_create_draft,
    procedure_version_publish,
    procedure_version_publish_problems,
    procedure_version_update_draft,
)
from .register import (
    register_lookup_queue,
    register_lookup_record,
    register_lookups_flush,
)
from .ris_export import ris_export_build

__all__ = [
    "CatalogueImportResult",
    "EXAMINATION_FIELDS",
    "ItemDecision",
    "PROCEDURE_RULE_FIELDS",
    "Rule",
    "ScopeItemData",
    "ScopeRequest",
    "TrainingRuleData",
    "TransitionError",
    "api_client_create",
    "api_client_revoke",
    "application_answer",
    "application_change_employment",
    "application_decide",
    "application_endorse",
    "application_problems",
    "application_scope_item_add",
    "application_scope_item_remove",
    "application_scope_item_update",
    "application_start",
    "application_submit",
    "application_withdraw",
    "can_transition",
    "catalogue_import",
    "change_notice_acknowledge",
    "change_notify",
    "entitlement_expire",
    "entitlement_grant",
    "entitlement_reinstate",
    "entitlement_revoke",
    "entitlement_suspend",
    "evidence_add",
    "evidence_remove",
    "examination_create",
    "examination_group_create",
    "examination_update",
    "LetterBundleFailed",
    "letter_bundle_build",
    "letter_bundle_request",
    "letter_issue",
    "procedure_version_create_draft",
    "procedure_version_publish",
    "procedure_version_publish_problems",
    "procedure_version_update_draft",
    "register_lookup_queue",
    "register_lookup_record",
    "register_lookups_flush",
    "ris_export_build",
    "supervisor_by_email",
    "variation_start",
]
