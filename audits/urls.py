"""Audit of requesting practice, inappropriate-referral feedback and the governance dashboard."""

from django.urls import path

from .views import organisation as org_views
from .views import referrer

org = "organisations/<str:ods_code>/"

urlpatterns = [
    path("audits/", referrer.AuditsView.as_view(), name="audits"),
    path("audits/<int:pk>/", referrer.AuditView.as_view(), name="audit"),
    path("audits/<int:pk>/submit/", referrer.AuditSubmitView.as_view(), name="audit_submit"),
    path(
        "audits/actions/<int:pk>/done/",
        referrer.AuditActionDoneView.as_view(),
        name="audit_action_done",
    ),
    path(f"{org}audits/<int:pk>/", org_views.AuditReviewView.as_view(), name="audit_review"),
    path(
        f"{org}audits/<int:pk>/actions/add/",
        org_views.AuditActionAddView.as_view(),
        name="audit_action_add",
    ),
    path(
        f"{org}audit-actions/<int:pk>/done/",
        org_views.AuditActionDoneView.as_view(),
        name="audit_action_done_at",
    ),
    path(
        f"{org}inappropriate-referrals/report/",
        org_views.ReportFindView.as_view(),
        name="inappropriate_referral_find",
    ),
    path(
        f"{org}inappropriate-referrals/report/<int:pk>/",
        org_views.ReportNewView.as_view(),
        name="inappropriate_referral_new",
    ),
    path(
        f"{org}inappropriate-referrals/<int:pk>/",
        org_views.ReportReviewView.as_view(),
        name="inappropriate_referral_review",
    ),
    path(f"{org}dashboard/", org_views.DashboardView.as_view(), name="governance_dashboard"),
    path(
        f"{org}dashboard/<str:kind>.csv",
        org_views.ExportView.as_view(),
        name="governance_export",
    ),
]
