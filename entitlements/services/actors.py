"""Who or what made a change: a user, or a procedure rule acting automatically."""

from dataclasses import dataclass

from referrers.models import User

from ..models import ProcedureVersion

# The automatic rules, by the names domain.md gives them.
RULES = (
    "training.warning",
    "training.lapse",
    "training.grace",
    "training.renewal",
    "registration.lapse",
    "review.overdue",
    "audit.overdue",
    "feedback.threshold",
)


@dataclass(frozen=True)
class Rule:
    """A procedure rule acting automatically: `<procedure version>/<rule>`."""

    version: ProcedureVersion
    name: str

    def __post_init__(self):
        if self.name not in RULES:
            raise ValueError(f"Unknown procedure rule: {self.name}")

    @property
    def label(self) -> str:
        return f"{self.version.label}, rule {self.name}"


Actor = User | Rule


def actor_fields(by: Actor) -> dict:
    """The EntitlementEvent fields that name `by`."""
    if isinstance(by, Rule):
        return {"actor": None, "procedure_version": by.version, "rule": by.name}
    if not isinstance(by, User):
        raise TypeError("A change is made by a user or a procedure rule")
    return {"actor": by, "procedure_version": None, "rule": ""}


def history_user(by: Actor) -> User | None:
    return by if isinstance(by, User) else None


def history_reason(by: Actor, reason: str) -> str:
    if isinstance(by, Rule):
        return f"{by.label}: {reason}"[:100]
    return reason[:100]
