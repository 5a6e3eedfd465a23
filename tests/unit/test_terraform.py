"""The Terraform files (aws/infrastructure) agree with the code they deploy.

No terraform binary or provider can be had here, so nothing is planned or applied; instead the
files are parsed (python-hcl2) and every fact they share with the code is compared with the
code's own copy, imported rather than typed again: the Cognito pools and app clients
(aws/scripts/provision.py's requests), the bucket, the secrets' names, each part's port
(gateway_config, devstack's ports), health path (travel_platform.web) and environment (the
fields of its Settings class, as devstack passes them). A fact changed on one side only fails
here. The tables made from the registry of services (registry.tf) are evaluated by
`terraform console` (it needs no provider), on the registry given."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from types import ModuleType

import gateway_config
import hcl2
import pytest
from gateway_config.serve import DashboardSettings, ServeSettings
from hcl2 import SerializationOptions

from devstack.api import BASE_PORTS, SERVICES, settings_class, settings_variables
from travel_platform.cors import CorsSettings
from travel_platform.gunicorn.config import GunicornSettings
from travel_platform.registry import DEFAULT_PATH as REGISTRY_PATH
from travel_platform.settings import RdsSettings
from travel_platform.web import HEALTH_PATH

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "aws" / "infrastructure"
# What the gateway's image reads (`python -m gateway_config.serve`).
GATEWAY_SETTINGS = (ServeSettings, DashboardSettings, gateway_config.GatewaySettings,
                    CorsSettings)


@cache
def provision() -> ModuleType:
    """aws/scripts/provision.py (a script, not a package)."""
    spec = importlib.util.spec_from_file_location("provision", REPO / "aws/scripts/provision.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def terraform() -> dict:
    """Every .tf file's blocks: {"resource": {(type, name): body}, "data": ...,
    "locals": {...}, "variable": {name: body}}."""
    options = SerializationOptions(strip_string_quotes=True, explicit_blocks=False,
                                   with_comments=False)
    merged: dict = {"resource": {}, "data": {}, "locals": {}, "variable": {}}
    for path in sorted(INFRA.glob("*.tf")):
        with path.open() as file:
            parsed = hcl2.load(file, serialization_options=options)
        for kind in ("resource", "data"):
            for block in parsed.get(kind, []):
                for type_, named in block.items():
                    for name, body in named.items():
                        merged[kind][(type_, name)] = body
        for block in parsed.get("locals", []):
            merged["locals"].update(block)
        for block in parsed.get("variable", []):
            merged["variable"].update(block)
    return merged


REGISTRY_TF = INFRA / "registry.tf"
# registry.tf's only inputs besides the registry file: the overrides of sizes and counts.
OVERRIDES_TF = """
variable "task_sizes" { default = {} }
variable "desired_counts" { default = {} }
"""
REGISTRY_LOCALS = ("ports", "images", "db_roles", "db_role_of_part", "calls", "service_urls",
                   "task_sizes", "desired_counts")


@cache
def registry_locals(registry: Path = REGISTRY_PATH) -> dict:
    """The values of registry.tf's locals, as terraform computes them from `registry`:
    registry.tf alone, in a scratch copy of the layout, beside that file where it looks."""
    if shutil.which("terraform") is None:
        pytest.skip("no terraform binary: registry.tf's tables cannot be evaluated")
    with tempfile.TemporaryDirectory() as scratch:
        infra = Path(scratch) / INFRA.relative_to(REPO)
        infra.mkdir(parents=True)
        shutil.copy(REGISTRY_TF, infra)
        (infra / "overrides.tf").write_text(OVERRIDES_TF)
        target = Path(scratch) / REGISTRY_PATH.relative_to(REPO)
        target.parent.mkdir(parents=True)
        shutil.copy(registry, target)
        expression = "jsonencode({" + ", ".join(f"{n} = local.{n}" for n in REGISTRY_LOCALS) + "})"
        answer = subprocess.run(["terraform", "console"], cwd=infra, input=expression,
                                capture_output=True, text=True, timeout=120,
                                env={**os.environ, "TF_CLI_CONFIG_FILE": "/dev/null"})
    assert answer.returncode == 0, answer.stderr
    return json.loads(json.loads(answer.stdout))


def resource(type_: str, name: str) -> dict:
    return terraform()["resource"][(type_, name)]


def local(name: str):
    return terraform()["locals"][name]


def ref(expression: str) -> str:
    """How the parser writes a reference to another value: `${...}`."""
    return "${" + expression + "}"


def snake(name: str) -> str:
    """boto3's CamelCase parameter as the Terraform provider's argument."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def as_terraform(value):
    """A boto3 request (dicts with CamelCase keys) in the provider's spelling."""
    if isinstance(value, dict):
        return {snake(k): as_terraform(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_terraform(v) for v in value]
    return value


def resolved(value):
    """`value` with every `${local.NAME}` replaced by that local's value."""
    if isinstance(value, str):
        match = re.fullmatch(r"\$\{local\.(\w+)\}", value)
        return resolved(local(match[1])) if match else value
    if isinstance(value, list):
        return [resolved(v) for v in value]
    if isinstance(value, dict):
        return {k: resolved(v) for k, v in value.items()}
    return value


def _evaluate(node, scope: dict):
    """`node` with the references to `scope` (each.value..., <dynamic block>.value...)
    replaced by their values, and dynamic blocks over a known list expanded; whatever else
    stays as the parser wrote it. Null arguments are dropped: not set, the provider's
    default, as an argument left out of a boto3 request is AWS's."""
    if isinstance(node, str):
        match = re.fullmatch(r"\$\{(?:try\()?(\w+)\.(value|key)((?:\.\w+)*)(?:, null\))?\}", node)
        if not match or match[1] not in scope:
            return node
        value = scope[match[1]][match[2]]
        for part in filter(None, match[3].split(".")):
            value = value.get(part) if node.startswith("${try(") else value[part]
        return value
    if isinstance(node, list):
        return [_evaluate(item, scope) for item in node]
    if not isinstance(node, dict):
        return node
    result = {}
    for key, value in node.items():
        if key == "dynamic":
            for name, spec in (item for entry in value for item in entry.items()):
                items = _evaluate(spec["for_each"], scope)
                result[name] = ([_evaluate(spec["content"][0], {**scope, name: {"value": item}})
                                 for item in items] if isinstance(items, list) else spec)
        elif key != "for_each":
            result[key] = _evaluate(value, scope)
    return {k: v for k, v in result.items() if v is not None}


def instance(type_: str, name: str, key: str) -> dict:
    """The arguments of one instance of a `for_each` resource over a table of locals."""
    block = resource(type_, name)
    table = re.fullmatch(r"\$\{local\.(\w+)\}", block["for_each"])
    assert table, f"{type_}.{name}: for_each over a local table"
    return _evaluate(block, {"each": {"key": key, "value": resolved(local(table[1])[key])}})


def assert_declares(block: dict, wanted: dict, where: str) -> None:
    """`block` sets every argument of `wanted` to its value; a nested block (the parser's
    list of one dict) is compared whole, argument for argument."""
    for key, want in wanted.items():
        got = block.get(key)
        if isinstance(want, dict):
            assert isinstance(got, list) and len(got) == 1, f"{where}: one {key} block"
            assert got[0] == want, f"{where}.{key}"
        elif isinstance(want, list) and want and isinstance(want[0], dict):
            assert isinstance(got, list), f"{where}: {key} blocks"
            flat = [{k: (v[0] if isinstance(v, list) and len(v) == 1 and isinstance(v[0], dict)
                         else v) for k, v in item.items()} for item in got]
            assert flat == want, f"{where}.{key}"
        else:
            assert got == want, f"{where}.{key}"


def pool_arguments(request: dict) -> dict:
    """A CreateUserPool request as aws_cognito_user_pool's arguments."""
    request = dict(request)
    policies = request.pop("Policies")
    assert set(policies) == {"PasswordPolicy"}, "a new pool policy needs cognito.tf too"
    return {"name": request.pop("PoolName"), **as_terraform(request),
            "password_policy": as_terraform(policies["PasswordPolicy"])}


POOLS = [("agents", "AGENTS_POOL", "AGENTS_CLIENT"),
         ("operators", "OPERATORS_POOL", "OPERATORS_CLIENT")]


def test_the_pools_and_clients_are_provisions_two():
    assert set(local("user_pools")) == set(local("app_clients")) == {p for p, _, _ in POOLS}


@pytest.mark.parametrize("name, pool_request, client_request", POOLS)
def test_each_user_pool_is_the_one_provision_creates(name, pool_request, client_request):
    wanted = pool_arguments(getattr(provision(), pool_request))
    assert_declares(instance("aws_cognito_user_pool", "pool", name), wanted, f"pool {name}")


@pytest.mark.parametrize("name, pool_request, client_request", POOLS)
def test_each_app_client_is_the_one_provision_creates(name, pool_request, client_request):
    request = dict(getattr(provision(), client_request))
    wanted = {"name": request.pop("ClientName"), **as_terraform(request)}
    client = instance("aws_cognito_user_pool_client", "client", name)
    assert_declares(client, wanted, f"client {name}")
    # Nothing provision.py leaves to Cognito's default is set here.
    assert {"name", "user_pool_id", *wanted} >= set(client)
    assert client["user_pool_id"] == ref("aws_cognito_user_pool.pool[each.key].id")


def test_the_admins_group_is_in_the_agents_pool():
    group = resource("aws_cognito_user_group", "admins")
    assert group["name"] == provision().ADMIN_GROUP
    assert group["user_pool_id"] == ref('aws_cognito_user_pool.pool["agents"].id')


def test_the_operators_pool_runs_the_user_migration_trigger():
    import user_migration

    pools = local("user_pools")
    assert {name for name, pool in pools.items() if pool["user_migration"]} == {"operators"}
    trigger = instance("aws_cognito_user_pool", "pool", "operators")["lambda_config"]
    assert trigger["for_each"] == ref(
        "each.value.user_migration ? [aws_lambda_function.user_migration.arn] : []")
    assert trigger["content"] == [{"user_migration": ref("lambda_config.value")}]
    function = resource("aws_lambda_function", "user_migration")
    module, _, handler = function["handler"].partition(".")
    assert module == user_migration.__name__ and callable(getattr(user_migration, handler))
    # The variables the trigger reads from its environment, and no other.
    read = set(re.findall(r"os\.environ(?:\.get\(|\[)\"(\w+)\"",
                          Path(user_migration.__file__).read_text()))
    assert set(function["environment"][0]["variables"]) == read
    permission = resource("aws_lambda_permission", "cognito_user_migration")
    assert permission["principal"] == "cognito-idp.amazonaws.com"
    assert permission["source_arn"] == ref('aws_cognito_user_pool.pool["operators"].arn')


def test_the_bucket_is_provisions_with_the_gateways_cors_origins():
    from agent_service.settings import AgentSettings

    assert resource("aws_s3_bucket", "uploads")["bucket"] == ref("var.uploads_bucket_name")
    default = terraform()["variable"]["uploads_bucket_name"]["default"]
    assert default == provision().BUCKET == AgentSettings.model_fields["aws_s3_bucket"].default
    assert "uploads" in local("buckets")
    block = resource("aws_s3_bucket_public_access_block", "bucket")
    assert_declares(block, as_terraform(provision().BUCKET_PUBLIC_ACCESS_BLOCK), "bucket")
    # One list of origins: the bucket's CORS rule and the gateway's CORS_ALLOWED_ORIGINS.
    origins = ref("var.cors_allowed_origins")
    rule = as_terraform(provision().bucket_cors_rule(["https://dashboard.example"]))
    assert_declares(resource("aws_s3_bucket_cors_configuration", "uploads"),
                    {"cors_rule": [{**rule, "allowed_origins": origins}]}, "bucket CORS")
    assert (local("gateway_environment")["CORS_ALLOWED_ORIGINS"]
            == ref('join(",", var.cors_allowed_origins)'))


def test_the_archive_of_supabase_expires_as_the_migration_tool_expects():
    from migrate.archive import RULE_ID
    from migrate.settings import MigrateSettings

    rules = resource("aws_s3_bucket_lifecycle_configuration", "uploads")["rule"]
    [rule] = [r for r in rules if r["id"] == RULE_ID]
    fields = MigrateSettings.model_fields
    block = {k: v[0] if isinstance(v, list) else v for k, v in rule.items()}
    assert block["status"] == "Enabled"
    assert block["filter"]["prefix"] == fields["migrate_archive_prefix"].default
    assert block["expiration"]["days"] == fields["migrate_archive_days"].default


# How `environment` (ecs.tf) gives each Python part its port and its own RDS secret.
PYTHON_PART_OWN = ('{BIND = "0.0.0.0:${local.ports[part]}"}, '
                   "try({AWS_RDS_SECRET_ID = "
                   "aws_secretsmanager_secret.db_role[local.db_role_of_part[part]].name}, {})")


def test_each_database_role_has_the_secret_its_service_reads():
    tables = registry_locals()
    assert tables["db_roles"] == provision().SERVICE_DB_ROLES
    assert resource("aws_secretsmanager_secret", "db_role")["name"] == ref("each.value")
    for name, role in tables["db_role_of_part"].items():
        # devstack's rule too: a part's role is its name with underscores.
        assert role == name.replace("-", "_") and tables["db_roles"][role].endswith(name)
    assert PYTHON_PART_OWN in local("environment")


def test_the_parts_and_their_ports_are_the_platforms():
    # Every part of the registry is a Python part (ecs.tf makes the table from it).
    assert local("python_parts").startswith("${{for part in local.registry : part.name =>")
    ports = registry_locals()["ports"]
    assert ports == {name: BASE_PORTS[name] for name in (*SERVICES, "gateway")}
    for service in gateway_config.SERVICES:
        assert ports[service.name] == service.port
    assert ports["gateway-auth"] == gateway_config.GATEWAY_AUTH_PORT
    # An image repository per part, each a stage of the Dockerfile (`--target <part>`), and
    # the one-shot jobs image (its `local` stage: migrations and provision.py).
    assert set(registry_locals()["images"]) == {*ports, "jobs"}
    stages = set(re.findall(r"^FROM \S+ AS ([\w-]+)$", (REPO / "Dockerfile").read_text(), re.M))
    assert set(ports) | {"local"} <= stages
    # Only the two parts with more to read than the rest are named in ecs.tf.
    assert set(local("part_specific")) <= set(SERVICES)


def test_a_python_part_listens_on_its_port_and_calls_others_on_theirs():
    # BIND: the part's own port (PYTHON_PART_OWN); service URLs: the callee's name and port.
    assert PYTHON_PART_OWN in local("environment")
    tables = registry_locals()
    for urls in tables["service_urls"].values():
        for variable, value in urls.items():
            callee = variable.removesuffix("_URL").lower().replace("_", "-")
            assert value == f"http://{callee}:{tables['ports'][callee]}"


def part_variables(name: str) -> tuple[set[str], set[str]]:
    """(plain variables, variables ECS fills from secrets) of a part's task."""
    if name == "gateway":
        assert "{gateway = local.gateway_environment}" in local("environment")
        assert "{gateway = local.gateway_secrets}" in local("secrets")
        plain, secret = set(local("gateway_environment")), set(local("gateway_secrets"))
    else:
        specific = local("part_specific").get(name, {"environment": {}, "secrets": {}})
        own = set(re.findall(r"(\w+) = ", PYTHON_PART_OWN))
        if name not in registry_locals()["db_role_of_part"]:
            own.discard("AWS_RDS_SECRET_ID")
        plain = {*local("python_environment"), *own, *registry_locals()["service_urls"][name],
                 *specific["environment"]}
        secret = {*local("python_secrets"), *specific["secrets"]}
    assert not plain & secret, f"{name}: a variable both plain and secret"
    return plain, secret


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_a_python_parts_environment_is_its_settings_fields(name):
    settings = settings_class(name)
    plain, secret = part_variables(name)
    given = plain | secret
    readable = {*settings_variables(settings), *settings_variables(GunicornSettings)}
    assert given - readable == set(), f"{name}: variables its settings do not read"
    required = {field.upper() for field, info in settings.model_fields.items()
                if info.is_required()}
    assert required - given == set(), f"{name}: required variables missing"
    # Anything typed as a secret comes from Secrets Manager, never in plain text.
    secret_fields = {field.upper() for field, info in settings.model_fields.items()
                     if "SecretStr" in str(info.annotation)} & given
    assert secret_fields <= secret, f"{name}: secrets given in plain text"


def test_the_gateways_environment_is_its_settings():
    plain, secret = part_variables("gateway")
    readable = {name for cls in GATEWAY_SETTINGS for name in settings_variables(cls)}
    assert (plain | secret) - readable == set()
    required = {f"{cls.model_config.get('env_prefix', '')}{field}".upper()
                for cls in GATEWAY_SETTINGS for field, info in cls.model_fields.items()
                if info.is_required()}
    assert {"CORS_ALLOWED_ORIGINS", *required} <= plain | secret
    # The dashboard's anon key, a SecretStr, comes from Secrets Manager.
    assert "SUPABASE_ANON_KEY" in secret
    # nginx listens on the gateway's port: the load balancer's target's.
    assert local("gateway_environment")["GATEWAY_PORT"] == ref('tostring(local.ports["gateway"])')
    assert ServeSettings.model_fields["port"].default == registry_locals()["ports"]["gateway"]


def test_health_checks_probe_the_health_path():
    assert local("health_path") == HEALTH_PATH
    # The gateway answers it itself, before any route.
    assert f"location = {HEALTH_PATH} {{" in gateway_config.TEMPLATE.read_text()
    target_group = resource("aws_lb_target_group", "gateway")
    assert target_group["health_check"][0]["path"] == ref("local.health_path")
    assert target_group["port"] == ref('local.ports["gateway"]')


def test_rds_runs_what_the_services_and_the_migration_tool_need():
    from migrate.prerequisites import REPLICATION_WORKERS_NEEDED

    parameters = {p["name"]: p["value"] for p in
                  resource("aws_db_parameter_group", "main")["parameter"]}
    assert parameters["rds.logical_replication"] == "1"
    # Every service connects with sslmode=verify-full (RdsSettings' default).
    assert parameters["rds.force_ssl"] == "1"
    assert RdsSettings.model_fields["aws_rds_sslmode"].default == "verify-full"
    # `migrate plan`'s own threshold.
    assert int(parameters["max_logical_replication_workers"]) >= REPLICATION_WORKERS_NEEDED
    instance = resource("aws_db_instance", "main")
    assert instance["db_name"] == RdsSettings.model_fields["aws_rds_database"].default
    assert instance["publicly_accessible"] is False and instance["storage_encrypted"] is True
    # checkov cannot evaluate these (a comparison with a variable): Multi-AZ and deletion
    # protection in prod.
    assert instance["multi_az"] == instance["deletion_protection"] == ref("local.is_prod")
    assert local("is_prod") == ref('var.environment == "prod"')


def test_task_roles_grant_only_cognito_admin_calls_the_code_makes():
    cognito = (REPO / "shared" / "travel_platform" / "cognito.py").read_text()
    called = {f"cognito-idp:{''.join(w.title() for w in op.split('_'))}"
              for op in re.findall(r'"(admin_\w+)"', cognito)}
    for service in ("agent_service", "operator_service"):
        document = terraform()["data"][("aws_iam_policy_document", service)]
        granted = {action for statement in document["statement"]
                   for action in statement["actions"] if action.startswith("cognito-idp:")}
        assert granted and granted <= called, f"{service}: {granted - called}"


# The IAM actions each S3 call of agent_service/storage.py needs (a presigned request is
# authorized as its signer's call; HEAD and a copy's source need GetObject).
S3_ACTIONS = {"generate_presigned_post": {"s3:PutObject"}, "put_object": {"s3:PutObject"},
              "get_object": {"s3:GetObject"}, "head_object": {"s3:GetObject"},
              "copy_object": {"s3:GetObject", "s3:PutObject"},
              "delete_object": {"s3:DeleteObject"}}


def test_agent_service_may_make_exactly_its_s3_calls():
    storage = (REPO / "services/agent-service/agent_service/storage.py").read_text()
    calls = set(re.findall(r"self\._client\.(\w+)\(", storage))
    calls |= set(re.findall(r'generate_presigned_url\(\s*"(\w+)"', storage))
    calls.discard("generate_presigned_url")
    assert calls <= set(S3_ACTIONS), f"unknown S3 calls: {calls - set(S3_ACTIONS)}"
    needed = set().union(*(S3_ACTIONS[call] for call in calls))
    document = terraform()["data"][("aws_iam_policy_document", "agent_service")]
    on_objects = {action for statement in document["statement"]
                  if statement["resources"] == [ref("aws_s3_bucket.uploads.arn") + "/agents/*"]
                  for action in statement["actions"]}
    assert on_objects == needed
    # ListBucket on the bucket, so that a missing key is a 404 (storage.py's None), not a 403.
    assert any(statement["actions"] == ["s3:ListBucket"] for statement in document["statement"])


def test_nobody_signs_up_to_the_operators_pool_nor_takes_an_address_unverified():
    # moto enforces neither (it accepts SignUp and an unverified e-mail change on any pool):
    # the configuration is held here, in provision.py's requests and so in cognito.tf.
    pool, client = provision().OPERATORS_POOL, provision().OPERATORS_CLIENT
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    writable = set(client["WriteAttributes"])
    assert "custom:operator_id" not in writable
    assert "email" not in writable or pool["UserAttributeUpdateSettings"] == {
        "AttributesRequireVerificationBeforeUpdate": ["email"]}
    assert "AdminCreateUserConfig" not in provision().AGENTS_POOL   # agents sign up


def test_the_trigger_decrypts_only_its_own_environment():
    document = terraform()["data"][("aws_iam_policy_document", "user_migration")]
    decrypt = [s for s in document["statement"] if "kms:Decrypt" in s["actions"]]
    assert len(decrypt) == 1
    function = resource("aws_lambda_function", "user_migration")["function_name"]
    [condition] = decrypt[0]["condition"]
    assert condition["test"] == "StringEquals"
    assert condition["variable"] == "kms:EncryptionContext:aws:lambda:FunctionArn"
    [arn] = condition["values"]
    assert arn.startswith("arn:") and arn.endswith(":function:" + function)
