"""The nginx configuration of the gateway, rendered from the registry of services.

Every part in the registry with `api` gets an upstream, a docs link and a `location` per
route family (its path prefix, the token issuer it accepts, the policy gateway-auth checks,
its public and administrators' routes, its read timeout), and gateway-auth its own
upstream. So a new service is a row in the registry, and nothing here.

    table.py      the services, gateway-auth and the route families, from the registry
    settings.py   the gateway's limits (GATEWAY_*)
    render.py     nginx.conf: locations, upstreams, maps, rate limits, the token digest
    dashboard.py  the dashboard's /config.json and Content-Security-Policy
    serve.py      the gateway in a container: renders, then runs nginx

The names below are what devstack, serve.py and the tests use."""
from gateway_config.dashboard import (
    DASHBOARD_POLICY,
    dashboard_connect_origins,
    dashboard_policy,
    origin,
    write_dashboard_config,
)
from gateway_config.render import TEMPLATE, UPSTREAM_KEEPALIVE, no_token_digest, render_nginx
from gateway_config.settings import GatewaySettings
from gateway_config.table import (
    GATEWAY_AUTH,
    GATEWAY_AUTH_PORT,
    ROUTE_FAMILIES,
    SERVICES,
    RouteFamily,
    Service,
    docs_links,
    port_of,
    service,
)

__all__ = ["DASHBOARD_POLICY", "GATEWAY_AUTH", "GATEWAY_AUTH_PORT", "ROUTE_FAMILIES", "SERVICES",
           "TEMPLATE", "UPSTREAM_KEEPALIVE", "GatewaySettings", "RouteFamily", "Service",
           "dashboard_connect_origins", "dashboard_policy", "docs_links", "no_token_digest",
           "origin", "port_of", "render_nginx", "service", "write_dashboard_config"]
