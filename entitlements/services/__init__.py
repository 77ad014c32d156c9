"""Every write of the entitlements app, one module per subject.

Callers import the package (`from entitlements import services`) and call
`services.<entity>_<action>`; the modules below say what each subject guarantees.
"""

from .catalogue import (
    EXAMINATION_FIELDS,
    CatalogueImportResult,
    catalogue_import,
    examination_create,
    examination_group_create,
    examination_update,
)
from .procedures import (
    PROCEDURE_RULE_FIELDS,
    TrainingRuleData,
    procedure_version_create_draft,
    procedure_version_publish,
    procedure_version_publish_problems,
    procedure_version_update_draft,
)

__all__ = [
    "EXAMINATION_FIELDS",
    "PROCEDURE_RULE_FIELDS",
    "CatalogueImportResult",
    "TrainingRuleData",
    "catalogue_import",
    "examination_create",
    "examination_group_create",
    "examination_update",
    "procedure_version_create_draft",
    "procedure_version_publish",
    "procedure_version_publish_problems",
    "procedure_version_update_draft",
]
