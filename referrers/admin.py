"""The Django admin is for superusers only (AdminSite.has_permission is narrowed in urls)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from . import models


@admin.register(models.User)
class UserAdmin(SimpleHistoryAdmin):
    list_display = ["email", "full_name", "is_active", "is_superuser"]
    search_fields = ["email", "full_name"]
    exclude = ["password"]


for model in (
    models.Organisation,
    models.Department,
    models.ReferrerProfile,
    models.Employment,
    models.OrganisationRole,
    models.DelegateAppointment,
    models.SharedResponsibilityAgreement,
):
    admin.site.register(model, SimpleHistoryAdmin)
