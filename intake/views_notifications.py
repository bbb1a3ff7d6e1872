"""The notifications page (the full list and e-mail preferences) and mark-as-read. Each person reaches only
their own notifications (intake.notifications.notifications_of)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from intake.models import NotificationKind
from intake.notifications import (notification_mark_read, notifications_mark_all_read, notifications_of,
                                  notifications_shown, preferences_of, preferences_update)


class NotificationPreferencesForm(forms.Form):
    email_kinds = forms.MultipleChoiceField(choices=NotificationKind.choices, required=False,
                                            widget=forms.CheckboxSelectMultiple,
                                            label="Send me an e-mail when")


@login_required
@require_http_methods(["GET", "POST"])
def notifications_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = NotificationPreferencesForm(request.POST)
        if form.is_valid():
            preferences_update(user=request.user, email_kinds=set(form.cleaned_data["email_kinds"]))
            messages.success(request, "E-mail settings saved. The list in the portal always shows every kind.")
            return redirect("account-notifications")
    else:
        chosen = preferences_of(request.user)
        form = NotificationPreferencesForm(initial={"email_kinds": [kind for kind, on in chosen.items() if on]})
    return render(request, "intake/accounts/notifications.html",
                  {"form": form,
                   "notifications": notifications_shown(request.user, notifications_of(request.user)[:200])},
                  status=400 if form.errors else 200)


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if request.htmx:
        safe = target if url_has_allowed_host_and_scheme(target, allowed_hosts=None) else ""
        return render(request, "intake/_needs_action_fragment.html", {"next_path": safe or "/dashboard/"})
    if url_has_allowed_host_and_scheme(target, allowed_hosts=None):  # relative paths on this site only
        return redirect(target)
    return redirect("account-notifications")


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    notification_mark_read(user=request.user, notification_pk=pk)
    return _back(request)


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    notifications_mark_all_read(user=request.user)
    return _back(request)
