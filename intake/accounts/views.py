"""Account pages of our own: personal API tokens and organisation-domain verification.

Sign-up, login, email and MFA pages are allauth's (under /accounts/).
"""

from __future__ import annotations

from allauth.mfa.totp.views import ActivateTOTPView
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from intake.accounts.assurance import assurance_level, has_mfa, mfa_required
from intake.accounts.domains import LinkRejected, domain_verification_confirm, domain_verification_start, verified_domains
from intake.accounts.forms import DomainVerificationForm, TokenCreateForm
from intake.accounts.tokens import api_token_create, api_token_revoke, api_tokens_of
from intake.errors import ValidationFailed
from intake.notifications import absolute_url
from intake.ratelimits import enforce


def _tokens_page(request: HttpRequest, form: TokenCreateForm, *, new_secret: str | None = None,
                 status: int = 200) -> HttpResponse:
    response = render(request, "intake/accounts/tokens.html",
                      {"form": form, "tokens": api_tokens_of(request.user), "new_secret": new_secret},
                      status=status)
    if new_secret:
        response["Cache-Control"] = "no-store"  # the secret is shown once and must not sit in a cache
    return response


# Post/Redirect/Get: the new secret waits server-side in the session (never in a URL or cookie) and is popped
# by the next GET, so a refresh after creating a token neither re-posts nor shows the secret a second time.
_NEW_SECRET_KEY = "account_tokens_new_secret"


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _tokens_page(request, TokenCreateForm(), new_secret=request.session.pop(_NEW_SECRET_KEY, None))
    enforce(request, "token-create")
    form = TokenCreateForm(request.POST)
    if not form.is_valid():
        return _tokens_page(request, form, status=400)
    try:
        token, secret = api_token_create(user=request.user, name=form.cleaned_data["name"],
                                         scopes=form.cleaned_data["scopes"], ttl_days=form.cleaned_data["ttl_days"])
    except ValidationFailed as exc:
        form.add_error(None, str(exc))
        return _tokens_page(request, form, status=400)
    messages.success(request, f"Token “{token.name}” created. Copy it now: it will not be shown again.")
    request.session[_NEW_SECRET_KEY] = secret
    return redirect("account-tokens")


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = api_tokens_of(request.user).filter(pk=token_id).first()
    if token is None:
        raise Http404("No such token.")
    api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("account-tokens")


@login_required
@require_GET
def security(request: HttpRequest) -> HttpResponse:
    return render(request, "intake/accounts/security.html", {
        "level": assurance_level(request.user), "has_mfa": has_mfa(request.user),
        "mfa_required": mfa_required(request.user), "domains": verified_domains(request.user),
    })


@login_required
@require_http_methods(["GET", "POST"])
def domain_verify(request: HttpRequest) -> HttpResponse:
    form = DomainVerificationForm(request.POST or None)
    if request.method == "POST":
        enforce(request, "domain-verify")
        if form.is_valid():
            # Rooted at ASSAY_PUBLIC_URL: a link built from the request's Host header is the attacker's to choose.
            base = absolute_url(reverse("account-domain-confirm", args=["TOKEN"])).rsplit("TOKEN", 1)[0]
            try:
                verification = domain_verification_start(user=request.user, address=form.cleaned_data["address"],
                                                         confirm_url_base=base)
            except ValidationFailed as exc:
                form.add_error("address", str(exc))
            else:
                messages.success(request, f"We sent a link to {verification.address}. Open it while signed in.")
                return redirect("account-security")
    return render(request, "intake/accounts/domain_verify.html", {"form": form, "domains":
                  verified_domains(request.user)}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def domain_confirm(request: HttpRequest, token: str) -> HttpResponse:
    # GET only shows a button: mail scanners that prefetch links must not consume them.
    if request.method == "GET":
        return render(request, "intake/accounts/domain_confirm.html", {})
    try:
        verification = domain_verification_confirm(user=request.user, raw_token=token)
    except LinkRejected as exc:
        return render(request, "intake/accounts/domain_confirm_failed.html", {"message": str(exc)}, status=400)
    messages.success(request, f"Confirmed: you can receive mail at {verification.domain}.")
    return redirect("account-security")


class TotpActivateView(ActivateTOTPView):
    """allauth's TOTP set-up, landing where the person was going instead of on the recovery codes.

    Staff reach this page from their first sign-in; allauth sent them on to the recovery codes (behind a second
    password prompt) as if that were the destination. The codes are offered once, as a notice with a link.
    """

    def get_success_url(self) -> str:
        if self.did_generate_recovery_codes:
            messages.success(self.request, format_html(
                "Two-factor authentication is on. We created recovery codes: each signs you in once if you lose "
                'your device. <a href="{}">View and save them now</a>; they stay under Security.',
                reverse("mfa_view_recovery_codes")))
        target = self.request.GET.get("next", "")
        if url_has_allowed_host_and_scheme(target, allowed_hosts={self.request.get_host()},
                                           require_https=self.request.is_secure()):
            return target
        return settings.LOGIN_REDIRECT_URL


totp_activate = TotpActivateView.as_view()
