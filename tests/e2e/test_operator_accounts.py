"""Tour operators' accounts on Supabase Auth, with the real supabase client, as a frontend
uses them: updateUser, resetPasswordForEmail + verifyOtp, resend, and sign-up's
data.company_name becoming the operator's company. The local stand-in sends no e-mail: it
writes each one to a mail file (like Supabase's local Inbucket), read here."""
from __future__ import annotations

import json
import uuid

import pytest
import requests
from supabase_auth.errors import AuthApiError

from devstack.api import auth_mail_file
from supabase import create_client
from tests.helpers import api

pytestmark = pytest.mark.stack

PASSWORD, NEW_PASSWORD = "first-pass-2024", "second-pass-2025"


def _client(stack_env):
    return create_client(stack_env["SUPABASE_URL"], stack_env["SUPABASE_ANON_KEY"])


def _email() -> str:
    return f"op-{uuid.uuid4().hex[:12]}@example.com"


def _signed_up(stack_env, **data):
    client, email = _client(stack_env), _email()
    client.auth.sign_up({"email": email, "password": PASSWORD, "options": {"data": data}})
    return client, email


def _mails(test_layout, email: str, kind: str) -> list[str]:
    path = auth_mail_file(test_layout)
    lines = path.read_text().splitlines() if path.exists() else []
    return [m["code"] for m in map(json.loads, lines) if m["to"] == email and m["type"] == kind]


def _signs_in(stack_env, email: str, password: str) -> bool:
    try:
        _client(stack_env).auth.sign_in_with_password({"email": email, "password": password})
    except AuthApiError:
        return False
    return True


def test_the_company_name_given_at_sign_up_becomes_the_profiles(stack_env, gateway):
    client, _ = _signed_up(stack_env, company_name="  Fjord & Fell Tours ")
    token = client.auth.get_session().access_token
    assert api(gateway, "GET", "/api/operators/me", token).json()["profile"] is None
    updated = api(gateway, "PATCH", "/api/operators/me", token,
                  json={"contact_phone": "+47 22 33 44 55"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["profile"]["company_name"] == "Fjord & Fell Tours"


def test_update_user_changes_the_password_and_ends_the_other_sessions(stack_env):
    client, email = _signed_up(stack_env)
    other = _client(stack_env)
    other.auth.sign_in_with_password({"email": email, "password": PASSWORD})
    with pytest.raises(AuthApiError) as same:
        client.auth.update_user({"password": PASSWORD})
    assert same.value.code == "same_password"

    user = client.auth.update_user({"password": NEW_PASSWORD, "data": {"phone_hint": "x"}}).user
    assert user.email == email and user.user_metadata["phone_hint"] == "x"
    assert _signs_in(stack_env, email, NEW_PASSWORD)
    assert not _signs_in(stack_env, email, PASSWORD)
    with pytest.raises(AuthApiError):   # its refresh token went with its session
        other.auth.refresh_session()
    assert client.auth.refresh_session().session is not None   # this session stays


def test_a_forgotten_password_is_reset_with_the_mailed_code(stack_env, test_layout):
    _, email = _signed_up(stack_env)
    client = _client(stack_env)
    client.auth.reset_password_for_email(_email())   # no account: the same empty answer
    client.auth.reset_password_for_email(email)
    [code] = _mails(test_layout, email, "recovery")
    with pytest.raises(AuthApiError) as again:
        client.auth.reset_password_for_email(email)
    assert again.value.code == "over_email_send_rate_limit"
    with pytest.raises(AuthApiError) as wrong:
        client.auth.verify_otp({"email": email, "token": "000000" if code != "000000"
                                else "111111", "type": "recovery"})
    assert wrong.value.code == "otp_expired"

    session = client.auth.verify_otp({"email": email, "token": code, "type": "recovery"}).session
    assert session is not None and session.user.email == email
    client.auth.update_user({"password": NEW_PASSWORD})
    assert _signs_in(stack_env, email, NEW_PASSWORD)
    with pytest.raises(AuthApiError):   # a code works once
        client.auth.verify_otp({"email": email, "token": code, "type": "recovery"})


def test_resend_mails_a_new_sign_up_code_to_unconfirmed_addresses_only(stack_env, test_layout):
    admin = {"apikey": stack_env["SUPABASE_SERVICE_ROLE_KEY"],
             "Authorization": f"Bearer {stack_env['SUPABASE_SERVICE_ROLE_KEY']}"}
    email = _email()
    created = requests.post(f"{stack_env['SUPABASE_URL']}/auth/v1/admin/users", headers=admin,
                            json={"email": email, "password": PASSWORD}, timeout=10)
    assert created.status_code == 200, created.text
    client = _client(stack_env)
    assert not _signs_in(stack_env, email, PASSWORD)   # not confirmed yet
    client.auth.resend({"type": "signup", "email": email})
    [code] = _mails(test_layout, email, "confirmation")
    client.auth.verify_otp({"email": email, "token": code, "type": "signup"})
    assert _signs_in(stack_env, email, PASSWORD)

    _, confirmed = _signed_up(stack_env)
    client.auth.resend({"type": "signup", "email": confirmed})
    assert _mails(test_layout, confirmed, "confirmation") == []
