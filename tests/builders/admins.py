"""Administrators: members of the Cognito group `admins`, made with Cognito's admin API
(an administrator has no agent row)."""
from __future__ import annotations

from dataclasses import dataclass

from tests.builders.agents import PASSWORD, login, new_email


@dataclass(frozen=True)
class Admin:
    """A signed-in member of the Cognito group `admins`."""

    email: str
    token: str


def cognito_client(stack_env):
    """A boto3 Cognito client pointed at a stack's AWS endpoint."""
    import boto3

    return boto3.client("cognito-idp", endpoint_url=stack_env["AWS_ENDPOINT_URL"],
                        region_name=stack_env["AWS_REGION"], aws_access_key_id="test",
                        aws_secret_access_key="test")


def new_admin(gateway: str, stack_env, cognito=None) -> Admin:
    """A new administrator, logged in through the API."""
    cognito = cognito or cognito_client(stack_env)
    pool_id, email = stack_env["AWS_COGNITO_USER_POOL_ID"], new_email("admin")
    cognito.admin_create_user(UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": email},
                                              {"Name": "email_verified", "Value": "true"}])
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=PASSWORD,
                                    Permanent=True)
    cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName="admins")
    return Admin(email=email, token=login(gateway, email)["access_token"])
