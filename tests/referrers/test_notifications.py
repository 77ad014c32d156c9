"""The in-app notifications list, and the unread count in the header of every page."""

import datetime
import re

import time_machine
from django.conf import settings
from django.urls import reverse

from referrers import services
from referrers.models import Notification


def send(user, subject, *, url="", at=None):
    if at is None:
        return services.notification_send(user=user, subject=subject, body="Body", url=url)
    with time_machine.travel(at, tick=False):
        return services.notification_send(user=user, subject=subject, body="Body", url=url)


def unread_tags(body: str) -> int:
    return len(re.findall(r"nhsuk-tag[^>]*>\s*Unread\s*<", body))


def header_count(body: str) -> int:
    return int(re.search(r"Notifications \((\d+) unread\)", body).group(1))


def test_the_list_shows_ones_own_notifications_newest_first_with_unread_marked(
    client, referrer, other_referrer
):
    day = datetime.datetime(2026, 3, 1, 9, 0, tzinfo=datetime.UTC)
    send(referrer, "First: application received", at=day)
    read = send(referrer, "Second: supervisor endorsed", at=day + datetime.timedelta(hours=1))
    send(
        referrer,
        "Third: entitlement granted",
        url="/entitlements/1/",
        at=day + datetime.timedelta(hours=2),
    )
    services.notifications_read(user=referrer, ids=[read.pk])
    send(other_referrer, "Someone else's news")

    client.force_login(referrer)
    response = client.get(reverse("notifications"))
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count("<h1") == 1
    assert body.index("Third:") < body.index("Second:") < body.index("First:")
    assert "Someone else" not in body
    assert unread_tags(body) == 2
    assert "You have 2 unread notifications" in body
    assert '<a class="nhsuk-link" href="/entitlements/1/">Third: entitlement granted</a>' in body
    assert header_count(body) == 2
    assert "Mark all as read" in body


def test_mark_all_as_read(client, referrer, other_referrer):
    for i in range(3):
        send(referrer, f"News {i}")
    theirs = send(other_referrer, "Their news")
    client.force_login(referrer)

    response = client.post(reverse("notifications"))

    assert response.status_code == 302 and response["Location"] == reverse("notifications")
    assert not Notification.objects.filter(user=referrer, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    body = client.get(response["Location"]).content.decode()
    assert "3 notifications marked as read" in body
    assert header_count(body) == 0
    assert "Mark all as read" not in body
    assert unread_tags(body) == 0
    # Again, nothing is left to mark.
    read_at = list(Notification.objects.filter(user=referrer).values_list("read_at", flat=True))
    client.post(reverse("notifications"))
    assert (
        list(Notification.objects.filter(user=referrer).values_list("read_at", flat=True))
        == read_at
    )


def test_the_header_counts_unread_notifications_on_every_page(client, referrer):
    send(referrer, "One")
    send(referrer, "Two")
    client.force_login(referrer)
    for url in (reverse("referrer_home"), reverse("entitlements"), reverse("notifications")):
        body = client.get(url).content.decode()
        assert header_count(body) == 2, url
        assert f'href="{reverse("notifications")}"' in body


def test_the_list_is_paginated(client, referrer):
    start = datetime.datetime(2026, 3, 1, 9, 0, tzinfo=datetime.UTC)
    for i in range(settings.PAGE_SIZE + 3):
        send(referrer, f"Note {i:03d}", at=start + datetime.timedelta(minutes=i))
    client.force_login(referrer)
    body = client.get(reverse("notifications")).content.decode()
    assert body.count("Note ") == settings.PAGE_SIZE
    assert f"Note {settings.PAGE_SIZE + 2:03d}" in body  # the newest first
    assert "?page=2" in body
    body = client.get(reverse("notifications"), {"page": 2}).content.decode()
    assert body.count("Note ") == 3 and "Note 000" in body


def test_only_this_sites_pages_are_linked(client, referrer):
    send(referrer, "Scheme", url="javascript:alert(1)")
    send(referrer, "Elsewhere", url="//evil.example/")
    client.force_login(referrer)
    body = client.get(reverse("notifications")).content.decode()
    assert "javascript:" not in body and "evil.example" not in body
    assert "Scheme" in body and "Elsewhere" in body


def test_signed_out_visitors_have_no_notifications(client):
    response = client.get(reverse("notifications"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert client.post(reverse("notifications")).status_code == 302
    body = client.get(reverse("login")).content.decode()
    assert "unread)" not in body
