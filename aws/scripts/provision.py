"""Create the AWS side of the platform, or find it if it exists (safe to run again).

    python aws/scripts/provision.py --rds-admin-url URL --rds-host H --rds-port P

Creates the Cognito user pool `travel-agents-pool` with its app client and `admins`
group, the operators' pool `tour-operators-pool` with its app client, the S3 bucket
`travel-agent-uploads`, and one Secrets Manager secret per service database role, then gives
those roles their login passwords on RDS. boto3 reads the
region, credentials and (for an emulator) AWS_ENDPOINT_URL from the environment, so the
same code provisions real AWS. Prints the ids the services need as JSON.
"""
from __future__ import annotations

import argparse
import json
import secrets
import sys

import boto3
import psycopg
from botocore.exceptions import ClientError
from psycopg import sql
from pydantic import ValidationError

from travel_platform.cors import CorsSettings
from travel_platform.registry import registry

POOL_NAME = "travel-agents-pool"
CLIENT_NAME = "travel-agent-dashboard"
ADMIN_GROUP = "admins"
# Operators' logins move here from Supabase Auth (docs/operator-logins.md).
OPERATOR_POOL_NAME = "tour-operators-pool"
OPERATOR_CLIENT_NAME = "tour-operator-console"
# Set by the UserMigration trigger and the import, never by the app client: the operator's
# id, their Supabase user id (aws/lambdas/user_migration.py).
OPERATOR_ID = "operator_id"
PASSWORD_POLICY = {"PasswordPolicy": {"MinimumLength": 10, "RequireUppercase": True,
                                      "RequireLowercase": True, "RequireNumbers": True,
                                      "RequireSymbols": False}}
# Operators bring their Supabase passwords along, and Cognito checks a password it is given
# against the pool's policy: so the operators' pool accepts what Supabase Auth accepted (its
# default: 6 characters). New passwords set through our API meet the agents' policy
# (operator_service.schemas.PasswordChange); raise this one after `finalize operators`.
OPERATOR_PASSWORD_POLICY = {"PasswordPolicy": {"MinimumLength": 6, "RequireUppercase": False,
                                               "RequireLowercase": False,
                                               "RequireNumbers": False,
                                               "RequireSymbols": False}}
# Each pool and app client below is the exact CreateUserPool / CreateUserPoolClient request,
# as data: aws/infrastructure/cognito.tf declares the same, and tests/unit/test_terraform.py
# holds the two together.
# Cognito's own length limits of the standard attribute, said explicitly: Terraform's pool
# otherwise differs from what AWS reports back on every plan.
EMAIL_ATTRIBUTE = {"Name": "email", "AttributeDataType": "String", "Required": True,
                   "Mutable": True,
                   "StringAttributeConstraints": {"MinLength": "0", "MaxLength": "2048"}}
AGENTS_POOL = {"PoolName": POOL_NAME, "UsernameAttributes": ["email"],
               "AutoVerifiedAttributes": ["email"], "Policies": PASSWORD_POLICY,
               "Schema": [EMAIL_ATTRIBUTE]}
# Nobody signs up to the operators' pool: its users are made only by the trigger, the
# login (moto) and the import, each for an operator Supabase Auth vouches for. A public
# SignUp would let anyone hold an operator's address before they move. And a user's e-mail
# changes only once the new address is verified, so no pool user can take over another's.
OPERATORS_POOL = {**AGENTS_POOL, "PoolName": OPERATOR_POOL_NAME,
                  "Policies": OPERATOR_PASSWORD_POLICY,
                  "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
                  "UserAttributeUpdateSettings": {
                      "AttributesRequireVerificationBeforeUpdate": ["email"]},
                  "Schema": [EMAIL_ATTRIBUTE, {
                      "Name": OPERATOR_ID, "AttributeDataType": "String", "Mutable": False,
                      "StringAttributeConstraints": {"MinLength": "36", "MaxLength": "36"}}]}
# Public clients (no secret): the password and refresh flows, one-hour tokens.
AGENTS_CLIENT = {
    "ClientName": CLIENT_NAME, "GenerateSecret": False,
    "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    "AccessTokenValidity": 60, "IdTokenValidity": 60, "RefreshTokenValidity": 30,
    "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes",
                           "RefreshToken": "days"},
    "PreventUserExistenceErrors": "ENABLED"}
# The console may read the operator id but never write it.
OPERATORS_CLIENT = {**AGENTS_CLIENT, "ClientName": OPERATOR_CLIENT_NAME,
                    "ReadAttributes": ["email", "email_verified", f"custom:{OPERATOR_ID}"],
                    "WriteAttributes": ["email"]}
BUCKET = "travel-agent-uploads"
BUCKET_PUBLIC_ACCESS_BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                              "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
# One database role per part that needs RDS (the registry's `needs`), each with its own
# secret (least privilege): role agent_service, secret travel-agent-db/agent-service...
SERVICE_DB_ROLES = {part.snake: part.db_secret for part in registry().needing("rds")}


def bucket_cors_rule(origins: list[str]) -> dict:
    """The bucket's one CORS rule: browsers on the dashboard's origins upload (presigned
    POST) and download (presigned GET)."""
    return {"AllowedOrigins": origins, "AllowedMethods": ["POST", "GET"],
            "AllowedHeaders": ["*"], "MaxAgeSeconds": 3600}


def ensure_user_pool(cognito, pool: dict) -> str:
    """The id of the pool `pool` (a CreateUserPool request) names, creating it if needed."""
    for page in cognito.get_paginator("list_user_pools").paginate(MaxResults=60):
        for found in page["UserPools"]:
            if found["Name"] == pool["PoolName"]:
                return found["Id"]
    return cognito.create_user_pool(**pool)["UserPool"]["Id"]


def ensure_app_client(cognito, pool_id: str, client: dict) -> str:
    """The id of the app client `client` (a CreateUserPoolClient request) names."""
    for page in cognito.get_paginator("list_user_pool_clients").paginate(
            UserPoolId=pool_id, MaxResults=60):
        for found in page["UserPoolClients"]:
            if found["ClientName"] == client["ClientName"]:
                return found["ClientId"]
    created = cognito.create_user_pool_client(UserPoolId=pool_id, **client)
    return created["UserPoolClient"]["ClientId"]


def ensure_group(cognito, pool_id: str, name: str) -> None:
    """Create a Cognito group unless it exists."""
    try:
        cognito.create_group(UserPoolId=pool_id, GroupName=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "GroupExistsException":
            raise


def ensure_bucket(s3, region: str, *, cors_origins: list[str]) -> None:
    """A private bucket for agents' documents, which browsers on the dashboard's origins
    may upload to (presigned POST) and download from (presigned GET)."""
    try:
        if region == "us-east-1":
            s3.create_bucket(Bucket=BUCKET)
        else:
            s3.create_bucket(Bucket=BUCKET,
                             CreateBucketConfiguration={"LocationConstraint": region})
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou",
                                                  "BucketAlreadyExists"):
            raise
    s3.put_public_access_block(Bucket=BUCKET,
                               PublicAccessBlockConfiguration=BUCKET_PUBLIC_ACCESS_BLOCK)
    s3.put_bucket_cors(Bucket=BUCKET,
                       CORSConfiguration={"CORSRules": [bucket_cors_rule(cors_origins)]})


def ensure_db_secret(secretsmanager, *, secret_id: str, role: str, host: str, port: int,
                     dbname: str) -> dict:
    """The role's credentials, generating a password the first time."""
    try:
        return json.loads(secretsmanager.get_secret_value(SecretId=secret_id)["SecretString"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    secret = {"engine": "postgres", "username": role, "password": secrets.token_urlsafe(24),
              "host": host, "port": port, "dbname": dbname}
    secretsmanager.create_secret(Name=secret_id, SecretString=json.dumps(secret))
    return secret


def sync_role_passwords(*, admin_conninfo: str, credentials: list[dict]) -> None:
    """Let each service role log in with the password its secret holds."""
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        for cred in credentials:
            conn.execute(sql.SQL("alter role {} with login password {}").format(
                sql.Identifier(cred["username"]), sql.Literal(cred["password"])))


def provision(*, rds_admin_url: str, rds_host: str, rds_port: int, rds_database: str,
              cors_origins: list[str]) -> dict:
    """Create or find every AWS resource; return the ids services are configured with."""
    session = boto3.session.Session()
    region = session.region_name
    cognito = session.client("cognito-idp")
    pool_id = ensure_user_pool(cognito, AGENTS_POOL)
    client_id = ensure_app_client(cognito, pool_id, AGENTS_CLIENT)
    ensure_group(cognito, pool_id, ADMIN_GROUP)
    operator_pool_id = ensure_user_pool(cognito, OPERATORS_POOL)
    operator_client_id = ensure_app_client(cognito, operator_pool_id, OPERATORS_CLIENT)
    ensure_bucket(session.client("s3"), region, cors_origins=cors_origins)
    secretsmanager = session.client("secretsmanager")
    credentials = [ensure_db_secret(secretsmanager, secret_id=secret_id, role=role,
                                    host=rds_host, port=rds_port, dbname=rds_database)
                   for role, secret_id in SERVICE_DB_ROLES.items()]
    sync_role_passwords(admin_conninfo=rds_admin_url, credentials=credentials)
    return {"AWS_COGNITO_USER_POOL_ID": pool_id, "AWS_COGNITO_CLIENT_ID": client_id,
            "AWS_COGNITO_OPERATOR_POOL_ID": operator_pool_id,
            "AWS_COGNITO_OPERATOR_CLIENT_ID": operator_client_id,
            "AWS_S3_BUCKET": BUCKET,
            # <ROLE>_RDS_SECRET_ID: each part's own secret (devstack hands it over as
            # that part's AWS_RDS_SECRET_ID).
            **{f"{role.upper()}_RDS_SECRET_ID": secret_id
               for role, secret_id in SERVICE_DB_ROLES.items()}}


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rds-admin-url", required=True)
    parser.add_argument("--rds-host", required=True)
    parser.add_argument("--rds-port", type=int, default=5432)
    parser.add_argument("--rds-database", default="travel_agent_db")
    parser.add_argument("--dashboard-origin", action="append", dest="origins",
                        help="a browser origin that may upload to the bucket (repeatable); "
                             "default: CORS_ALLOWED_ORIGINS, the gateway's own list")
    args = parser.parse_args(argv)
    try:
        origins = args.origins or list(CorsSettings().cors_allowed_origins or ())
    except ValidationError as exc:
        parser.error(f"CORS_ALLOWED_ORIGINS: {exc.errors()[0]['msg']}")
    if not origins:
        parser.error("say which browser origins may upload: set CORS_ALLOWED_ORIGINS (the "
                     "gateway's list) or pass --dashboard-origin")
    print(json.dumps(provision(rds_admin_url=args.rds_admin_url, rds_host=args.rds_host,
                               rds_port=args.rds_port, rds_database=args.rds_database,
                               cors_origins=origins)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
