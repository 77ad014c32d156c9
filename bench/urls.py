"""The bench URLconf: the production URLs and one trivial JSON view, the baseline."""

from django.http import JsonResponse
from django.urls import include, path


def trivial(request):
    """What Django and gunicorn cost on their own: no database, no cache, no auth."""
    return JsonResponse({"entitled": False, "reasons": ["trivial"]})


urlpatterns = [
    path("bench/trivial", trivial, name="bench_trivial"),
    path("", include("config.urls")),
]
