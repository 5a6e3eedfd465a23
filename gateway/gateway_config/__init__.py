"""The one table of the gateway's services and route families, and the nginx configuration
rendered from it.

Every fact about which service answers which routes is written here once: a service's name,
its port on a local stack, its upstream, its docs link; a route family's path prefix, the
service behind it, the token issuer it accepts (the policy gateway-auth checks) and its
public routes. `render_nginx` turns the table into the gateway's `location` blocks,
upstreams, policy map and docs map; devstack (and a deployment's own renderer) fill the
rest of `gateway/nginx.conf.template` from their settings. Files the template or the
rendered locations `include` (gateway/*.conf) stay plain nginx."""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

GATEWAY_DIR = Path(__file__).resolve().parent.parent
TEMPLATE = GATEWAY_DIR / "nginx.conf.template"


@dataclass(frozen=True)
class Service:
    """A service behind the gateway: its name (also its part name in devstack), and the
    port it listens on in a stack at offset 0."""

    name: str
    port: int

    @property
    def upstream(self) -> str:
        """nginx's name for the service's upstream block."""
        return self.name.replace("-", "_")


@dataclass(frozen=True)
class RouteFamily:
    """Every path under `prefix` goes to `service`, for callers holding a token `policy`
    accepts; `public` lists the paths under the prefix that need no token."""

    prefix: str
    service: str
    policy: str  # a key of gateway_auth.POLICIES
    public: tuple[str, ...] = ()

    @property
    def pattern(self) -> str:
        """The regex nginx matches the family on: the prefix, then `/` or the end."""
        return f"^{_rx(self.prefix)}(/|$)"


SERVICES = (
    Service("agent-service", 8101),
    Service("operator-service", 8102),
    Service("booking-service", 8103),
)
ROUTE_FAMILIES = (
    RouteFamily("/api/agents", "agent-service", "cognito",
                public=("signup", "confirm-signup", "login", "refresh")),
    RouteFamily("/api/operators", "operator-service", "supabase"),
    RouteFamily("/api/packages", "operator-service", "any"),
    RouteFamily("/api/bookings", "booking-service", "any"),
)


def _rx(text: str) -> str:
    """`text` as a PCRE literal (a path: only dots and the like need escaping)."""
    return re.escape(text).replace("\\-", "-")


def service(name: str) -> Service:
    """The service of that name."""
    return next(s for s in SERVICES if s.name == name)


def _policy_map() -> str:
    lines = ["map $uri $route_policy {"]
    for family in ROUTE_FAMILIES:
        if family.public:
            paths = "|".join(_rx(p) for p in family.public)
            lines.append(f"    ~^{_rx(family.prefix)}/({paths})$  public;")
    lines += [f"    ~{family.pattern}  {family.policy};" for family in ROUTE_FAMILIES]
    lines += ["    default  deny;", "}"]
    return "\n".join(lines)


def _docs_map() -> str:
    lines = ["map $uri $docs_upstream {"]
    lines += [f"    /docs/{s.name}.json  {s.upstream};" for s in SERVICES]
    return "\n".join([*lines, "}"])


def docs_links() -> list[dict[str, str]]:
    """Swagger UI's list of documents: each service's OpenAPI document and its families."""
    def prefixes(name: str) -> str:
        return ", ".join(f.prefix for f in ROUTE_FAMILIES if f.service == name)

    return [{"url": f"{s.name}.json", "name": f"{s.name} ({prefixes(s.name)})"}
            for s in SERVICES]


def _upstreams(port: Callable[[str], int], host: str) -> str:
    return "\n".join(f"upstream {s.upstream} {{ server {host}:{port(s.name)}; keepalive 32; }}"
                     for s in SERVICES)


def _locations(gateway_dir: Path) -> str:
    blocks = []
    for family in ROUTE_FAMILIES:
        blocks.append("\n".join([
            f"location ~ {family.pattern} {{",
            f"    include {gateway_dir}/auth.conf;",
            f"    include {gateway_dir}/proxy_headers.conf;",
            f"    proxy_pass http://{service(family.service).upstream};",
            "}"]))
    return "\n\n".join(blocks)


def _indent(text: str, spaces: int) -> str:
    return "\n".join((" " * spaces + line) if line else line for line in text.splitlines())


def render_nginx(values: Mapping[str, str], *, port: Callable[[str], int],
                 host: str = "127.0.0.1", gateway_dir: Path = GATEWAY_DIR) -> str:
    """gateway/nginx.conf.template with its `{{NAME}}` placeholders filled: the blocks
    made from the table, and `values` (folders, ports of the gateway's own parts) for the
    rest. `port(name)` is the port a service listens on in this deployment."""
    generated = {
        "ROUTE_POLICY_MAP": _indent(_policy_map(), 4).lstrip(),
        "DOCS_MAP": _indent(_docs_map(), 4).lstrip(),
        "DOCS_CONFIG": json.dumps({"urls": docs_links()}, separators=(",", ":")),
        "SERVICE_UPSTREAMS": _indent(_upstreams(port, host), 4).lstrip(),
        "ROUTE_LOCATIONS": _indent(_locations(gateway_dir), 8).lstrip(),
    }
    filled = {**values, "GATEWAY_DIR": str(gateway_dir), **generated}
    template = (gateway_dir / "nginx.conf.template").read_text()
    return re.sub(r"\{\{(\w+)\}\}", lambda m: filled[m.group(1)], template)
