from .catalogue import Examination, ExaminationGroup
from .procedures import (
    LapseAction,
    Procedure,
    ProcedureStatus,
    ProcedureTrainingRule,
    ProcedureVersion,
    RequirementTrigger,
    TrainingKind,
)

__all__ = [
    "Examination",
    "ExaminationGroup",
    "LapseAction",
    "Procedure",
    "ProcedureStatus",
    "ProcedureTrainingRule",
    "ProcedureVersion",
    "RequirementTrigger",
    "TrainingKind",
]
