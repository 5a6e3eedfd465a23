"""The Cognito UserMigration trigger (aws/lambdas/user_migration.py), fed the events AWS
documents and answering as it documents
(https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-migrate-user.html).
Supabase Auth is a stand-in object here: what it answers is the contract under test."""
from __future__ import annotations

import copy
from typing import Any

import pytest
import user_migration
from user_migration import Refused, SupabaseUser

OPERATOR = SupabaseUser(id="859fdf59-4972-48de-8e35-dc45de6eaadd", email="ops@example.com")

# The event shapes of the AWS guide, field for field.
AUTHENTICATION_EVENT: dict[str, Any] = {
    "version": "1", "triggerSource": "UserMigration_Authentication", "region": "eu-west-1",
    "userPoolId": "eu-west-1_ops", "userName": "ops@example.com",
    "callerContext": {"awsSdkVersion": "aws-sdk-js-3.0.0", "clientId": "console"},
    "request": {"password": "Old-password-1", "validationData": None, "clientMetadata": None},
    "response": {"userAttributes": None, "finalUserStatus": None, "messageAction": None,
                 "desiredDeliveryMediums": None, "forceAliasCreation": None,
                 "enableSMSMFA": None},
}
FORGOT_PASSWORD_EVENT = {
    **copy.deepcopy(AUTHENTICATION_EVENT), "triggerSource": "UserMigration_ForgotPassword",
    "request": {"validationData": None, "clientMetadata": None},
}


class SupabaseAuth:
    """Answers as Supabase Auth would for one operator with one password."""

    def __init__(self, *, password: str = "Old-password-1", active: bool = True,
                 confirmed: bool = True):
        self.password, self.active = password, active
        self.asked: list[tuple[str, str]] = []
        self.confirmed = confirmed

    def check_password(self, *, email, password):
        self.asked.append(("password", email))
        if email != OPERATOR.email or password != self.password or not self.active:
            raise Refused("invalid_credentials")
        return OPERATOR

    def find_user(self, *, email):
        self.asked.append(("find", email))
        if email != OPERATOR.email or not self.active:
            return None
        return SupabaseUser(id=OPERATOR.id, email=OPERATOR.email, confirmed=self.confirmed)


def test_a_sign_in_with_the_supabase_password_creates_a_confirmed_user_with_it():
    event = user_migration.migrate_user(copy.deepcopy(AUTHENTICATION_EVENT),
                                        supabase=SupabaseAuth())
    assert event["response"] == {
        "userAttributes": {"email": OPERATOR.email, "email_verified": "true",
                           "custom:operator_id": OPERATOR.id},
        "finalUserStatus": "CONFIRMED", "messageAction": "SUPPRESS"}
    # The rest of the event goes back as it came: Cognito reads only the response.
    assert {k: v for k, v in event.items() if k != "response"} == {
        k: v for k, v in AUTHENTICATION_EVENT.items() if k != "response"}


@pytest.mark.parametrize("change", [
    {"request": {**AUTHENTICATION_EVENT["request"], "password": "wrong"}},
    {"request": {**AUTHENTICATION_EVENT["request"], "password": ""}},
    {"request": {"validationData": None}},
    {"userName": "someone-else@example.com"},
    {"userName": ""},
])
def test_what_supabase_does_not_vouch_for_is_refused(change):
    with pytest.raises(Refused):
        user_migration.migrate_user({**copy.deepcopy(AUTHENTICATION_EVENT), **change},
                                    supabase=SupabaseAuth())


def test_a_banned_or_deleted_operator_is_refused_even_with_the_right_password():
    with pytest.raises(Refused):
        user_migration.migrate_user(copy.deepcopy(AUTHENTICATION_EVENT),
                                    supabase=SupabaseAuth(active=False))


def test_forgot_password_creates_the_user_without_a_password_for_cognito_to_reset():
    auth = SupabaseAuth()
    event = user_migration.migrate_user(copy.deepcopy(FORGOT_PASSWORD_EVENT), supabase=auth)
    assert event["response"] == {
        "userAttributes": {"email": OPERATOR.email, "email_verified": "true",
                           "custom:operator_id": OPERATOR.id},
        "messageAction": "SUPPRESS"}
    assert auth.asked == [("find", OPERATOR.email)]   # no password was asked for or sent


def test_forgot_password_of_an_unknown_or_inactive_operator_is_refused():
    with pytest.raises(Refused):
        user_migration.migrate_user({**copy.deepcopy(FORGOT_PASSWORD_EVENT),
                                     "userName": "nobody@example.com"}, supabase=SupabaseAuth())
    with pytest.raises(Refused):
        user_migration.migrate_user(copy.deepcopy(FORGOT_PASSWORD_EVENT),
                                    supabase=SupabaseAuth(active=False))


def test_forgot_password_of_an_unconfirmed_supabase_user_is_refused():
    # Anyone may sign up someone else's address to Supabase Auth: unconfirmed, it proves
    # nothing, and must not become a verified address in the pool.
    with pytest.raises(Refused, match="not confirmed"):
        user_migration.migrate_user(copy.deepcopy(FORGOT_PASSWORD_EVENT),
                                    supabase=SupabaseAuth(confirmed=False))


def test_another_trigger_is_refused():
    with pytest.raises(Refused, match="not a UserMigration trigger"):
        user_migration.migrate_user({**copy.deepcopy(AUTHENTICATION_EVENT),
                                     "triggerSource": "PreSignUp_SignUp"},
                                    supabase=SupabaseAuth())


@pytest.mark.parametrize("user, active", [
    ({"id": "1", "banned_until": None, "deleted_at": None}, True),
    ({"id": "1", "banned_until": "2000-01-01T00:00:00Z"}, True),
    ({"id": "1", "banned_until": "2999-01-01T00:00:00Z"}, False),
    ({"id": "1", "deleted_at": "2026-01-01T00:00:00Z"}, False),
])
def test_who_counts_as_an_active_supabase_user(user, active):
    assert user_migration.is_active(user) is active
