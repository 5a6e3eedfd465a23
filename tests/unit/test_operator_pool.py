"""The operators' pool after `finalize operators` (migrate/logins.py): the UserMigration
trigger is taken off, and nothing else of the pool changes. Against moto's Cognito (in this
process), which keeps UpdateUserPool's rule that a setting left out of the request goes back
to its default: the trap a bare `update_user_pool(LambdaConfig={})` falls into."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from migrate import logins
from migrate.settings import MigrateSettings

REPO = Path(__file__).resolve().parents[2]
TRIGGER = "arn:aws:lambda:eu-west-1:123456789012:function:travel-user-migration"
OTHER = "arn:aws:lambda:eu-west-1:123456789012:function:travel-pre-token"


def _provision():
    spec = importlib.util.spec_from_file_location("provision", REPO / "aws/scripts/provision.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def pool(monkeypatch):
    """The operators' pool as provision.py creates it, with the trigger (and another one)
    attached as Terraform attaches it."""
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        cognito = boto3.client("cognito-idp", region_name="eu-west-1")
        created = cognito.create_user_pool(
            **_provision().OPERATORS_POOL,
            LambdaConfig={"UserMigration": TRIGGER, "PreTokenGeneration": OTHER})["UserPool"]
        yield cognito, created["Id"]


def _settings(pool_id: str) -> MigrateSettings:
    return MigrateSettings(supabase_db_admin_url="postgresql://x", rds_admin_url="postgresql://x",
                           aws_cognito_operator_pool_id=pool_id, aws_region="eu-west-1")


def test_finalize_detaches_the_trigger_and_keeps_every_other_setting(pool):
    cognito, pool_id = pool
    before = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    said = logins.detach_user_migration(_settings(pool_id))
    assert "detached" in said and TRIGGER in said
    after = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert after["LambdaConfig"] == {"PreTokenGeneration": OTHER}
    # (Not UsernameAttributes: fixed at creation on AWS, while moto's update forgets it.)
    for kept in ("AdminCreateUserConfig", "Policies", "AutoVerifiedAttributes",
                 "UserAttributeUpdateSettings", "SchemaAttributes"):
        assert after.get(kept) == before.get(kept), kept
    assert after["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    # A second finalize finds nothing to detach, and says so.
    assert "no UserMigration trigger" in logins.detach_user_migration(_settings(pool_id))
