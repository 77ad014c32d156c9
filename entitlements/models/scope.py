"""What a scope item says: an examination (or a group of them) and its conditions.

Applications ask for scope items; entitlements grant them. Both keep the same fields, so a
grant copies (and may narrow) what was asked for.
"""

from django.db import models
from django.db.models import Q


class CareSetting(models.TextChoices):
    ED = "ED", "Emergency department"
    MIU = "MIU", "Minor injuries unit"
    OUTPATIENT = "OUTPATIENT", "Outpatients"
    COMMUNITY = "COMMUNITY", "Community"
    INPATIENT = "INPATIENT", "Inpatient"


SETTING_ORDER = [choice.value for choice in CareSetting]


class ScopeConditions(models.Model):
    """An examination or an examination group, and the conditions on requesting it."""

    examination = models.ForeignKey(
        "entitlements.Examination",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    group = models.ForeignKey(
        "entitlements.ExaminationGroup",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="examination group",
    )
    age_min = models.PositiveSmallIntegerField(
        "youngest patient age (years)", default=0, help_text="0 means any age."
    )
    age_max = models.PositiveSmallIntegerField(
        "oldest patient age (years)", null=True, blank=True, help_text="Blank means no limit."
    )
    settings = models.JSONField(
        "settings", default=list, help_text="Care settings codes the item may be requested from."
    )
    clinical_indications = models.TextField(blank=True)
    exclusions = models.TextField(blank=True)

    class Meta:
        abstract = True

    @classmethod
    def scope_constraints(cls, prefix: str) -> list:
        return [
            models.CheckConstraint(
                condition=Q(examination__isnull=False, group__isnull=True)
                | Q(examination__isnull=True, group__isnull=False),
                name=f"{prefix}_examination_or_group",
            ),
            models.CheckConstraint(
                condition=Q(age_max__isnull=True) | Q(age_max__gte=models.F("age_min")),
                name=f"{prefix}_age_range",
            ),
        ]

    @property
    def subject(self):
        return self.examination or self.group

    @property
    def subject_label(self) -> str:
        if self.examination_id:
            return str(self.examination)
        return f"{self.group.name} (group)"

    @property
    def age_range_label(self) -> str:
        if self.age_max is None:
            return "Any age" if not self.age_min else f"{self.age_min} years and over"
        return f"{self.age_min} to {self.age_max} years"

    @property
    def settings_label(self) -> str:
        labels = dict(CareSetting.choices)
        return ", ".join(labels.get(code, code) for code in self.settings) or "None"

    def allows_age(self, age: int) -> bool:
        return age >= self.age_min and (self.age_max is None or age <= self.age_max)

    def allows_setting(self, setting: str) -> bool:
        return setting in self.settings

    def conditions(self) -> dict:
        """The conditions as plain data (for comparison, copying and the API)."""
        return {
            "age_min": self.age_min,
            "age_max": self.age_max,
            "settings": list(self.settings),
            "clinical_indications": self.clinical_indications,
            "exclusions": self.exclusions,
        }
