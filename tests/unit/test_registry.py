"""The registry of services (shared/travel_platform/services.json) is the one place a service is
written: the files that cannot read it are held to it here, naming what they lack, and a copy
with a row added is picked up by every reader (the gateway's table, devstack, provisioning,
the Makefile, the Terraform)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.unit.test_terraform import REGISTRY_TF, registry_locals
from travel_platform import registry as registry_module
from travel_platform.registry import Registry, RegistryError, load

REPO = Path(__file__).resolve().parents[2]
REGISTRY = load(registry_module.DEFAULT_PATH)

# A service that does not exist: the row a newcomer would add.
DUMMY = {"name": "dummy-service", "folder": "services/dummy-service", "package": "dummy_service",
         "settings": "dummy_service.settings:DummySettings", "port": 8104, "api": True,
         "routes": [{"prefix": "/api/dummies", "policy": "operator", "read_timeout": 7,
                     "public": ["hello"]}],
         "needs": ["rds"], "calls": ["agent-service"],
         "aws": {"cpu": 256, "memory": 512, "desired_count": 1}}


def with_dummy() -> Registry:
    data = json.loads(registry_module.DEFAULT_PATH.read_text())
    return Registry.model_validate({**data, "parts": [*data["parts"], DUMMY]})


# --- what cannot read the registry, held to it ------------------------------------------

def missing_in_compose(registry: Registry, text: str) -> list[str]:
    """What docker-compose.yml lacks for each part: its service (image, stage, distribution,
    app, port, settings file), the gateway waiting on it, the setup job installing it."""
    services = yaml.safe_load(text)["services"]
    missing = []
    init = services["stack-init"]["build"]["args"]["DISTRIBUTION"].split()
    waits = services["gateway"].get("depends_on", {})
    for part in registry.parts:
        where = f"docker-compose.yml: {part.name}"
        service = services.get(part.name)
        if service is None:
            missing.append(f"{where}: no service")
        else:
            build = service.get("build", {})
            args = build.get("args", {})
            env = service.get("environment", {})
            wanted = {
                "image": (service.get("image", "").split(":")[0], f"travel-platform/{part.name}"),
                "build target": (build.get("target"), part.name),
                "DISTRIBUTION": (args.get("DISTRIBUTION"), part.distribution),
                "APP_MODULE": (args.get("APP_MODULE"), part.app),
                "BIND": (env.get("BIND"), f"0.0.0.0:{part.port}"),
                "STACK_ENV_FILE": (env.get("STACK_ENV_FILE"),
                                   f"/stack/settings/{part.name}.env"),
            }
            missing += [f"{where}: {key} {want!r} (has {got!r})"
                        for key, (got, want) in wanted.items() if got != want]
        if part.name not in waits:
            missing.append(f"{where}: the gateway does not depend_on it")
        if part.distribution not in init:
            missing.append(f"{where}: stack-init's DISTRIBUTION does not install it")
    return missing


def missing_in_dockerfile(registry: Registry, text: str) -> list[str]:
    stages = set(re.findall(r"^FROM service AS ([\w-]+)$", text, re.M))
    return [f"Dockerfile: no stage `FROM service AS {part.name}`"
            for part in registry.parts if part.name not in stages]


def missing_in_requirements_dev(registry: Registry, text: str) -> list[str]:
    installed = set(re.findall(r"^-e \./(\S+)$", text, re.M))
    return [f"requirements-dev.txt: no `-e ./{folder}`"
            for folder in registry.folders if folder not in installed]


def missing_in_mypy(registry: Registry, text: str) -> list[str]:
    mypy = tomllib.loads(text)["tool"]["mypy"]
    missing = [f"pyproject.toml: [tool.mypy] mypy_path lacks {folder!r}"
               for folder in registry.folders if folder not in mypy["mypy_path"]]
    missing += [f"pyproject.toml: [tool.mypy] files lacks {part.folder}/{part.package!r}"
                for part in registry.parts if f"{part.folder}/{part.package}" not in mypy["files"]]
    return missing


def missing_distributions(registry: Registry, repo: Path) -> list[str]:
    """Each part's folder holds its distribution, named as the part, with its package."""
    missing = []
    for part in registry.parts:
        pyproject = repo / part.folder / "pyproject.toml"
        if not pyproject.exists():
            missing.append(f"{part.folder}: no pyproject.toml")
            continue
        name = tomllib.loads(pyproject.read_text())["project"]["name"]
        if name != part.distribution:
            missing.append(f"{pyproject.relative_to(repo)}: name {name!r}, not {part.name!r}")
        if not (repo / part.folder / part.package / "__init__.py").exists():
            missing.append(f"{part.folder}: no package {part.package}")
    return missing


NON_READERS = [
    ("docker-compose.yml", missing_in_compose),
    ("Dockerfile", missing_in_dockerfile),
    ("requirements-dev.txt", missing_in_requirements_dev),
    ("pyproject.toml", missing_in_mypy),
]


@pytest.mark.parametrize("path, missing", NON_READERS, ids=[p for p, _ in NON_READERS])
def test_the_files_that_cannot_read_the_registry_name_every_part(path, missing):
    assert missing(REGISTRY, (REPO / path).read_text()) == []


def test_each_parts_folder_holds_its_distribution_and_package():
    assert missing_distributions(REGISTRY, REPO) == []


def test_a_new_row_is_reported_by_name_in_each_file_that_lacks_it():
    registry = with_dummy()
    reported = {path: missing(registry, (REPO / path).read_text())
                for path, missing in NON_READERS}
    assert reported == {
        "docker-compose.yml": [
            "docker-compose.yml: dummy-service: no service",
            "docker-compose.yml: dummy-service: the gateway does not depend_on it",
            "docker-compose.yml: dummy-service: stack-init's DISTRIBUTION does not install it"],
        "Dockerfile": ["Dockerfile: no stage `FROM service AS dummy-service`"],
        "requirements-dev.txt": ["requirements-dev.txt: no `-e ./services/dummy-service`"],
        "pyproject.toml": [
            "pyproject.toml: [tool.mypy] mypy_path lacks 'services/dummy-service'",
            "pyproject.toml: [tool.mypy] files lacks services/dummy-service/'dummy_service'"],
    }
    assert missing_distributions(registry, REPO) == [
        "services/dummy-service: no pyproject.toml"]


def test_a_compose_service_that_drifts_from_its_row_is_named():
    compose = (REPO / "docker-compose.yml").read_text().replace('BIND: "0.0.0.0:8103"',
                                                                'BIND: "0.0.0.0:8109"')
    assert missing_in_compose(REGISTRY, compose) == [
        "docker-compose.yml: booking-service: BIND '0.0.0.0:8103' (has '0.0.0.0:8109')"]


# --- the loader fails fast, saying where -------------------------------------------------

def _write(tmp_path: Path, parts: list[dict]) -> Path:
    path = tmp_path / "services.json"
    path.write_text(json.dumps({"parts": parts}))
    return path


@pytest.mark.parametrize("change, message", [
    ({"port": "eighty"}, r"parts\[4\] \(dummy-service\)\.port: "),
    ({"port": 8101}, "two parts with the same port: 8101"),
    ({"name": "agent-service"}, "two parts with the same name: agent-service"),
    ({"calls": ["nobody"]}, "dummy-service calls unknown part"),
    ({"needs": ["dynamodb"]}, r"parts\[4\] \(dummy-service\)\.needs\.0: "),
    ({"colour": "blue"}, r"parts\[4\] \(dummy-service\)\.colour: Extra inputs"),
    ({"routes": []}, r"parts\[4\] \(dummy-service\): .*a part with `api` needs `routes`"),
    ({"api": False}, r"parts\[4\] \(dummy-service\): .*a part with `api` needs `routes`"),
    ({"routes": [{"prefix": "/api/bookings", "policy": "any", "read_timeout": 5}]},
     "two route families with the same prefix: /api/bookings"),
    ({"routes": [{"prefix": "/api/dummies", "policy": "admins", "read_timeout": 5}]},
     r"parts\[4\] \(dummy-service\)\.routes\.0\.policy: "),
])
def test_a_wrong_row_is_refused_naming_the_row_and_field(tmp_path, change, message):
    parts = [*json.loads(registry_module.DEFAULT_PATH.read_text())["parts"], {**DUMMY, **change}]
    with pytest.raises(RegistryError, match=message):
        load(_write(tmp_path, parts))


def test_an_unreadable_registry_is_refused_naming_the_file(tmp_path):
    with pytest.raises(RegistryError, match="cannot read the services registry .*nowhere"):
        load(tmp_path / "nowhere.json")


# --- every reader picks a new row up ------------------------------------------------------

READERS = r"""
import json
import gateway_config, importlib.util
from devstack import layout, monitoring, python_parts
spec = importlib.util.spec_from_file_location("provision", "aws/scripts/provision.py")
provision = importlib.util.module_from_spec(spec); spec.loader.exec_module(provision)
values = {k: "x" for k in ("CORS_ORIGIN_MAP", "STATE_DIR", "LOG_DIR", "SWAGGER_UI_DIR",
                           "GATEWAY_HOST", "GATEWAY_PORT", "GATEWAY_STATUS_PORT")}
print(json.dumps({
    "nginx": gateway_config.render_nginx(values, port=gateway_config.port_of),
    "docs": gateway_config.docs_links(),
    "parts": [[p.name, p.app, p.settings, p.code] for p in python_parts.SERVICES],
    "ports": layout.BASE_PORTS, "code_folders": list(layout.CODE_FOLDERS),
    "scraped": monitoring.SCRAPED_SERVICES, "db_roles": provision.SERVICE_DB_ROLES,
}))
"""


@pytest.fixture(scope="module")
def dummy_registry(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("registry") / "services.json"
    data = json.loads(registry_module.DEFAULT_PATH.read_text())
    path.write_text(json.dumps({**data, "parts": [*data["parts"], DUMMY]}))
    return path


def test_the_gateway_devstack_and_provisioning_pick_up_a_new_row(dummy_registry):
    env = {**os.environ, "SERVICES_REGISTRY": str(dummy_registry)}
    out = subprocess.run([sys.executable, "-c", READERS], cwd=REPO, env=env, check=True,
                         capture_output=True, text=True).stdout
    seen = json.loads(out)
    assert "upstream dummy_service { server 127.0.0.1:8104;" in seen["nginx"]
    assert "/docs/dummy-service.json  $dummy_service_target;" in seen["nginx"]
    assert {"url": "dummy-service.json", "name": "dummy-service (/api/dummies)"} in seen["docs"]
    # Its route family: routed to it, behind the token check, under its policy and timeout.
    location = re.search(r"location ~ \^/api/dummies\(/\|\$\) \{(.*?)\n\}", seen["nginx"], re.S)
    assert location, "no location for the new row's route family"
    assert "auth.conf;" in location[1] and "proxy_read_timeout 7s;" in location[1]
    assert "proxy_pass http://$dummy_service_target;" in location[1]
    assert "~^/api/dummies/(hello)$  public;" in seen["nginx"]
    assert "~^/api/dummies(/|$)  operator;" in seen["nginx"]
    assert ["dummy-service", "dummy_service:create_app()", "dummy_service.settings:DummySettings",
            "services/dummy-service"] in seen["parts"]
    assert seen["ports"]["dummy-service"] == 8104
    assert "services/dummy-service" in seen["code_folders"]
    assert "dummy-service" in seen["scraped"]
    assert seen["db_roles"]["dummy_service"] == "travel-agent-db/dummy-service"


def test_the_makefile_builds_a_wheel_of_a_new_rows_folder(dummy_registry):
    def dists(**env: str) -> list[str]:
        return subprocess.run(
            ["make", "--no-print-directory", "--eval", "print-dists: ; @echo $(LOCAL_DISTS)",
             "print-dists"], cwd=REPO, env={**os.environ, **env}, check=True,
            capture_output=True, text=True).stdout.split()

    assert dists() == ["./shared", *(f"./{f}" for f in REGISTRY.folders), "./aws/lambdas"]
    assert "./services/dummy-service" in dists(SERVICES_REGISTRY=str(dummy_registry))


def test_the_terraform_reads_the_registry_file():
    text = REGISTRY_TF.read_text()
    [path] = re.findall(r'jsondecode\(file\("\$\{path\.module\}/([^"]+)"\)\)', text)
    assert (REGISTRY_TF.parent / path).resolve() == registry_module.DEFAULT_PATH
    # Only registry.tf reads it: the other files use its tables.
    for tf in REGISTRY_TF.parent.glob("*.tf"):
        if tf != REGISTRY_TF:
            assert "services.json" not in tf.read_text(), tf.name


def test_the_terraforms_tables_pick_up_a_new_row(dummy_registry):
    tables = registry_locals(dummy_registry)
    assert tables["ports"]["dummy-service"] == 8104 and tables["ports"]["gateway"] == 8080
    assert "dummy-service" in tables["images"] and "jobs" in tables["images"]
    assert tables["db_roles"]["dummy_service"] == "travel-agent-db/dummy-service"
    assert tables["db_role_of_part"]["dummy-service"] == "dummy_service"
    assert {"from": "dummy-service", "to": "agent-service"} in tables["calls"]
    assert tables["service_urls"]["dummy-service"] == {
        "AGENT_SERVICE_URL": "http://agent-service:8101"}
    assert tables["task_sizes"]["dummy-service"] == {"cpu": 256, "memory": 512}
    assert tables["desired_counts"]["dummy-service"] == 1
