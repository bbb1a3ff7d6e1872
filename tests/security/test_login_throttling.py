"""Password guessing and account lock-out: every login endpoint is throttled per address and per account.

The bug classes: (1) no throttle at all (twelve wrong passwords at ``/admin/login/`` went through);
(2) a throttle that locks the *account* for everyone, so an attacker who knows an email address keeps its
owner out (five wrong passwords from anywhere locked it for five minutes, answered 200 with a form error).
Now the address that failed gets 429 + Retry-After; the account-wide count only ever refuses addresses that
failed on the account, and the owner's completed sign-in clears it.
"""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from intake.models import AuditEvent
from tests.factories import PASSWORD, enable_totp, make_user
from tests.security.conftest import totp_code

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
WRONG = "not the password at all"


@pytest.fixture
def rates(settings):  # noqa: ANN001, ANN201
    def set_rates(**overrides: str) -> None:
        settings.ASSAY_RATE_LIMITS = {key.replace("_", "-"): value for key, value in overrides.items()}
    return set_rates


def attempt(address: str, login: str, password: str, client: Client | None = None):  # noqa: ANN201
    return (client or Client(REMOTE_ADDR=address)).post(LOGIN, {"login": login, "password": password})


def assert_429(response, *, period: int) -> None:  # noqa: ANN001
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= period
    assert "Too many requests" in response.content.decode()


def test_wrong_passwords_get_the_failing_address_a_429_with_retry_after(builder):  # noqa: ANN001
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    for _ in range(5):
        assert attempt("", builder.email, WRONG, attacker).status_code == 200  # the form says "incorrect"
    assert_429(attempt("", builder.email, WRONG, attacker), period=300)
    # Refused before the password is checked: the right password is no oracle either.
    assert_429(attempt("", builder.email, PASSWORD, attacker), period=300)
    assert "_auth_user_id" not in attacker.session


def test_the_real_user_from_another_address_still_signs_in(builder):  # noqa: ANN001
    for _ in range(6):
        attempt("203.0.113.66", builder.email, WRONG)
    owner = Client(REMOTE_ADDR="198.51.100.7")
    response = attempt("", builder.email, PASSWORD, owner)
    assert response.status_code == 302
    assert owner.session["_auth_user_id"] == str(builder.pk)


def test_unknown_accounts_are_throttled_like_known_ones(db):  # noqa: ANN001
    client = Client(REMOTE_ADDR="203.0.113.67")
    for _ in range(5):
        attempt("", "nobody@acme-agents.example", WRONG, client)
    assert_429(attempt("", "nobody@acme-agents.example", WRONG, client), period=300)


def test_spraying_many_accounts_from_one_address_is_refused(rates, db):  # noqa: ANN001
    rates(login_failed_address="3/h")
    victims = [make_user(f"user{n}@acme-agents.example") for n in range(4)]
    client = Client(REMOTE_ADDR="203.0.113.68")
    for victim in victims[:3]:
        assert attempt("", victim.email, WRONG, client).status_code == 200
    assert_429(attempt("", victims[3].email, WRONG, client), period=3600)
    assert attempt("198.51.100.8", victims[3].email, PASSWORD).status_code == 302  # its owner is not


def test_a_distributed_guess_refuses_only_addresses_that_failed_and_the_owner_clears_it(rates, builder):  # noqa: ANN001
    rates(login_failed_account="3/h")
    bots = [Client(REMOTE_ADDR=f"203.0.113.{n}") for n in (10, 11, 12)]
    for bot in bots:
        assert attempt("", builder.email, WRONG, bot).status_code == 200
    # The account is now under attack: an address that failed on it is refused...
    assert_429(attempt("", builder.email, WRONG, bots[0]), period=3600)
    # ...a new bot gets one try before it has failed too...
    newcomer = Client(REMOTE_ADDR="203.0.113.13")
    assert attempt("", builder.email, WRONG, newcomer).status_code == 200
    assert_429(attempt("", builder.email, WRONG, newcomer), period=3600)
    # ...and the owner, from an address that never failed, signs in; that lifts the account-wide lock.
    assert attempt("198.51.100.9", builder.email, PASSWORD).status_code == 302
    assert attempt("", builder.email, WRONG, bots[1]).status_code == 200


def test_the_owner_clears_the_lock_only_after_the_second_factor(rates, builder):  # noqa: ANN001
    rates(login_failed_account="2/h")
    secret = enable_totp(builder)
    for n in (20, 21):
        attempt(f"203.0.113.{n}", builder.email, WRONG)
    owner = Client(REMOTE_ADDR="198.51.100.10")
    assert attempt("", builder.email, PASSWORD, owner)["Location"] == "/accounts/2fa/authenticate/"
    assert_429(attempt("203.0.113.20", builder.email, WRONG), period=3600)  # password alone cleared nothing
    assert owner.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)}).status_code == 302
    assert attempt("203.0.113.20", builder.email, WRONG).status_code == 200


def test_wrong_codes_at_the_second_factor_step_get_a_429(rates, builder):  # noqa: ANN001
    rates(login_code="2/5m")
    secret = enable_totp(builder)
    client = Client(REMOTE_ADDR="203.0.113.69")
    attempt("", builder.email, PASSWORD, client)
    wrong = str((int(totp_code(secret)) + 1) % 1_000_000).zfill(6)
    for _ in range(2):
        assert client.post("/accounts/2fa/authenticate/", {"code": wrong}).status_code == 200
    assert_429(client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)}), period=300)
    assert "_auth_user_id" not in client.session


def test_the_admin_login_checks_no_password_at_all(builder):  # noqa: ANN001
    """Twelve wrong passwords at /admin/login/ went unthrottled; now it checks none and hands off to allauth."""
    client = Client(REMOTE_ADDR="203.0.113.70")
    for _ in range(12):
        response = client.post("/admin/login/", {"username": builder.email, "password": WRONG})
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not AuditEvent.objects.filter(action__startswith="account.login").exists()


def test_guessing_api_tokens_is_throttled_per_address(rates, db):  # noqa: ANN001
    rates(token="2/m")
    client = APIClient(REMOTE_ADDR="203.0.113.71")
    client.credentials(HTTP_AUTHORIZATION="Bearer asy_guess_0000000000000000000000")
    for _ in range(2):
        assert client.get("/api/v1/submissions/").status_code == 401
    response = client.get("/api/v1/submissions/")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
