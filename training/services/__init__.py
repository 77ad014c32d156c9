"""Every write of the training app, one module per subject.

Callers import the package (`from training import services`) and call
`services.<entity>_<action>`; the modules below say what each subject guarantees.
"""

from .imports import TrainingImportResult, training_import
from .lapses import lapse_end, lapse_hold, lapse_open, lapse_reinstate
from .records import (
    RecordData,
    record_problems,
    training_record_add,
    training_record_reject,
    training_record_verify,
)

__all__ = [
    "RecordData",
    "TrainingImportResult",
    "record_problems",
    "lapse_end",
    "lapse_hold",
    "lapse_open",
    "lapse_reinstate",
    "training_import",
    "training_record_add",
    "training_record_reject",
    "training_record_verify",
]
