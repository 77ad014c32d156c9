"""Audit of requesting practice, inappropriate-referral feedback and the governance dashboard."""

urlpatterns: list = []
