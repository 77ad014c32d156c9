from django.apps import AppConfig


class ReferrersConfig(AppConfig):
    name = "referrers"
    verbose_name = "People, organisations and roles"
