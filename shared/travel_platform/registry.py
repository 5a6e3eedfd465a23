"""The one registry of the platform's services (and gateway-auth):
shared/travel_platform/services.json.

A service used to be written in a dozen places (the gateway's table, devstack's parts and
code folders, the Makefile, provisioning, the Terraform...), each saying only "there is a
service called x". Now each fact about a part is written once, in that data file, and read:

- here, typed and checked, by the gateway (gateway/gateway_config: its upstreams, docs
  links and route families), devstack
  (ports, parts, code folders, stack.env), aws/scripts/provision.py and the benchmarks;
- by the Makefile (`LOCAL_DISTS`, with python's json module: no venv needed) and the
  Terraform (`jsondecode(file(...))` in aws/infrastructure/registry.tf);
- and what cannot read it (docker-compose.yml, the Dockerfile's stages,
  requirements-dev.txt, mypy's paths in pyproject.toml) is held to it by
  tests/unit/test_registry.py, which names what is missing.

It is JSON, not Python, because Terraform and make must read it too; it ships inside the
shared library (package data), so every image that runs a part has it. SERVICES_REGISTRY
names another file (a copy with a new row, to see what every reader makes of it before
editing the real one).

A row's fields:

- `name`: the part's name everywhere: its distribution (the `name` of its
  pyproject.toml), devstack part, compose service, Dockerfile stage, ECS service and
  Service Connect name, image repository, log names. Its RDS role and nginx upstream are
  the name with underscores; its secret `travel-agent-db/<name>`; its URL variable for
  callers `<NAME>_URL` (AGENT_SERVICE_URL).
- `folder`: where its distribution's code is in a checkout (several parts may share one).
- `package`: its import package; gunicorn runs `<package>:create_app()`.
- `settings`: "module:Class", whose fields are exactly the part's environment.
- `port`: where it listens on a local stack at offset 0, in a container and on ECS.
- `api`: the gateway routes route families to it and lists its OpenAPI document
  (/docs/<name>.json); false for gateway-auth, which nginx asks before each request.
- `routes`: its route families, which a part with `api` must have and no other may: every
  path under `prefix` (its blueprint's url_prefix) goes to it, for callers holding a
  token `policy` accepts (`agent`, `operator`, `any`: gateway_auth.routes.POLICIES); `public`:
  the paths under the prefix that need no token (its sign-in flows); `admin`: regexes
  following the prefix that only the agents' pool's `admins` use (the service checks the
  group); `read_timeout` (seconds): how long the gateway waits for its answer before a 504,
  a little more than the slowest thing the part waits for itself (agent-service: Cognito,
  S3 and RDS; operator-service: its database, the catalogue's reads least of all;
  booking-service: the other two services, 2 s each with a retry of a read, and RDS).
  They are the part's own facts, as its URL prefix is, so a new service is one row; the
  gateway (gateway/gateway_config) renders them into nginx.
- `needs`: the backing it uses: `rds` (its own role and secret), `supabase-db` (the
  Supabase project's database), `cognito`, `s3`.
- `calls`: the parts it calls over HTTP (their URLs are its settings; its network rules).
- `aws`: its Fargate task size and number of tasks (defaults; tfvars may override).
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PATH = Path(__file__).resolve().parent / "services.json"
NAME = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"


class RegistryError(RuntimeError):
    """The registry file cannot be read or says something impossible (the message names
    the file, the row and the field)."""


class AwsTask(BaseModel):
    """A part's Fargate task: cpu units, memory (MiB), tasks running."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu: int = Field(gt=0)
    memory: int = Field(gt=0)
    desired_count: int = Field(ge=1)


class Route(BaseModel):
    """One route family of a part (the `routes` field: the module's docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str = Field(pattern=r"^(/[a-z0-9-]+)+$")
    policy: Literal["agent", "operator", "any"]
    read_timeout: int = Field(gt=0, le=300)
    public: tuple[str, ...] = ()
    admin: tuple[str, ...] = ()


class Part(BaseModel):
    """One row of the registry (fields: the module's docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME)
    folder: str = Field(pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
    package: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
    settings: str = Field(pattern=r"^[a-z_][\w.]*:[A-Za-z_]\w*$")
    port: int = Field(gt=1024, lt=65536)
    api: bool
    routes: tuple[Route, ...] = ()
    needs: tuple[Literal["rds", "supabase-db", "cognito", "s3"], ...]
    calls: tuple[str, ...] = ()
    aws: AwsTask

    @model_validator(mode="after")
    def _routed_if_api(self) -> Part:
        if self.api != bool(self.routes):
            raise ValueError("a part with `api` needs `routes`, and only such a part has them")
        return self

    @property
    def distribution(self) -> str:
        """Its distribution's name (pyproject.toml), which is its name."""
        return self.name

    @property
    def snake(self) -> str:
        """The name with underscores: its RDS role, nginx's upstream."""
        return self.name.replace("-", "_")

    @property
    def app(self) -> str:
        """gunicorn's APP_MODULE."""
        return f"{self.package}:create_app()"

    @property
    def db_secret(self) -> str:
        """The Secrets Manager secret of its RDS role."""
        return f"travel-agent-db/{self.name}"

    @property
    def url_variable(self) -> str:
        """The variable naming its URL in a caller's settings and in stack.env."""
        return f"{self.snake.upper()}_URL"


class Registry(BaseModel):
    """Every part, in the file's order (devstack starts them in it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    about: str = ""
    parts: tuple[Part, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Registry:
        for field in ("name", "package", "port"):
            values = [getattr(p, field) for p in self.parts]
            repeated = sorted({str(v) for v in values if values.count(v) > 1})
            if repeated:
                raise ValueError(f"two parts with the same {field}: {', '.join(repeated)}")
        prefixes = [r.prefix for p in self.parts for r in p.routes]
        repeated = sorted({p for p in prefixes if prefixes.count(p) > 1})
        if repeated:
            raise ValueError(f"two route families with the same prefix: {', '.join(repeated)}")
        names = {p.name for p in self.parts}
        for part in self.parts:
            unknown = sorted(set(part.calls) - names)
            if unknown:
                raise ValueError(f"{part.name} calls unknown part(s) {', '.join(unknown)}")
        return self

    def part(self, name: str) -> Part:
        """The part called `name`; RegistryError naming the known ones."""
        for part in self.parts:
            if part.name == name:
                return part
        raise RegistryError(f"no part {name!r} in the registry; known: "
                            f"{', '.join(p.name for p in self.parts)}")

    @property
    def services(self) -> tuple[Part, ...]:
        """The parts the gateway routes families to (`api`)."""
        return tuple(p for p in self.parts if p.api)

    def needing(self, backing: str) -> tuple[Part, ...]:
        """The parts that use `backing` (rds, supabase-db, cognito, s3)."""
        return tuple(p for p in self.parts if backing in p.needs)

    @property
    def folders(self) -> tuple[str, ...]:
        """Every part's code folder, once each, in order."""
        return tuple(dict.fromkeys(p.folder for p in self.parts))


class RegistrySettings(BaseSettings):
    """Which registry file to read: SERVICES_REGISTRY, or the one shipped here."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    services_registry: Path = DEFAULT_PATH


def load(path: Path | None = None) -> Registry:
    """The registry at `path` (default: SERVICES_REGISTRY, else the shipped file), checked;
    RegistryError says what is wrong and where."""
    path = path or RegistrySettings().services_registry
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise RegistryError(f"cannot read the services registry {path}: {exc}") from None
    try:
        return Registry.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_where(data, error) + error["msg"] for error in exc.errors())
        raise RegistryError(f"services registry {path}: {problems}") from None


def _where(data: object, error: ErrorDetails) -> str:
    """`parts[2] (<its name>).port: ` for an error's location."""
    loc = error["loc"]
    if len(loc) >= 2 and loc[0] == "parts" and isinstance(loc[1], int):
        try:
            name = data["parts"][loc[1]].get("name", "?")  # type: ignore[index]
        except (TypeError, IndexError, AttributeError, KeyError):
            name = "?"
        rest = ".".join(str(x) for x in loc[2:])
        return f"parts[{loc[1]}] ({name}){'.' + rest if rest else ''}: "
    return f"{'.'.join(str(x) for x in loc)}: " if loc else ""


@cache
def registry() -> Registry:
    """The registry this process runs with, read once."""
    return load()
