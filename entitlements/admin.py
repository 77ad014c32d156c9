"""The Django admin for the catalogue and procedures: superusers only, for support.

Procedure versions and their training rules are read-only here: a published version must
never change, and drafts are changed through the service pages, which check the rules.
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    Examination,
    ExaminationGroup,
    Procedure,
    ProcedureTrainingRule,
    ProcedureVersion,
)


class SuperuserOnlyAdmin(SimpleHistoryAdmin):
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        # Catalogue entries and procedures are cited by entitlements: never deleted.
        return False


class ReadOnlyAdmin(SuperuserOnlyAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Examination)
class ExaminationAdmin(SuperuserOnlyAdmin):
    list_display = ("code", "name", "modality", "body_area", "organisation", "is_active")
    list_filter = ("modality", "is_active", "organisation")
    search_fields = ("code", "name", "body_area")
    list_select_related = ("organisation",)
    raw_id_fields = ("organisation",)


@admin.register(ExaminationGroup)
class ExaminationGroupAdmin(SuperuserOnlyAdmin):
    list_display = ("name", "organisation")
    list_filter = ("organisation",)
    search_fields = ("name",)
    raw_id_fields = ("organisation",)
    filter_horizontal = ("examinations",)


@admin.register(Procedure)
class ProcedureAdmin(ReadOnlyAdmin):
    list_display = ("title", "organisation")
    list_select_related = ("organisation",)


class ProcedureTrainingRuleInline(admin.TabularInline):
    model = ProcedureTrainingRule
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ProcedureVersion)
class ProcedureVersionAdmin(ReadOnlyAdmin):
    list_display = ("procedure", "number", "status", "effective_from", "document_reference")
    list_filter = ("status",)
    list_select_related = ("procedure__organisation",)
    inlines = [ProcedureTrainingRuleInline]
