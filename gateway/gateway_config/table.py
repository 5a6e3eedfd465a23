"""The gateway's table, from the registry of services (shared/travel_platform/services.json,
whose fields shared/travel_platform/registry.py explains): the services behind it with their
ports, gateway-auth, and every service's route families in the registry's order (the order
of nginx's locations). A new service is a row in the registry, and nothing here."""
from __future__ import annotations

import re
from dataclasses import dataclass

from travel_platform.registry import Route, registry


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


class RouteFamily(Route):
    """One of the registry's route families (its fields: travel_platform.registry) and the
    service it goes to."""

    service: str

    @property
    def pattern(self) -> str:
        """The regex nginx matches the family on: the prefix, then `/` or the end."""
        return f"^{rx(self.prefix)}(/|$)"


SERVICES = tuple(Service(part.name, part.port) for part in registry().services)


# gateway-auth, the token check nginx asks before each guarded request (auth_request).
GATEWAY_AUTH = "gateway-auth"


GATEWAY_AUTH_PORT = registry().part(GATEWAY_AUTH).port


def port_of(name: str) -> int:
    """The port a part behind the gateway listens on (at offset 0; in a container, always)."""
    return GATEWAY_AUTH_PORT if name == GATEWAY_AUTH else service(name).port


# Every api part's families, in the registry's order (the order of nginx's locations).
ROUTE_FAMILIES = tuple(RouteFamily(service=part.name, **route.model_dump())
                       for part in registry().services for route in part.routes)


def rx(text: str) -> str:
    """`text` as a PCRE literal (a path: only dots and the like need escaping)."""
    return re.escape(text).replace("\\-", "-")


def service(name: str) -> Service:
    """The service of that name (a ValueError naming the registry's services if none)."""
    for known in SERVICES:
        if known.name == name:
            return known
    raise ValueError(f"no service {name!r} with `api` in the registry; known: "
                     f"{', '.join(s.name for s in SERVICES)}")


def docs_links() -> list[dict[str, str]]:
    """Swagger UI's list of documents: each service's OpenAPI document and its families."""
    def prefixes(name: str) -> str:
        return ", ".join(f.prefix for f in ROUTE_FAMILIES if f.service == name)

    return [{"url": f"{s.name}.json", "name": f"{s.name} ({prefixes(s.name)})"}
            for s in SERVICES]
