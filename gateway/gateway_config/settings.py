"""The gateway's limits, from the environment (GATEWAY_*), failing fast on a bad value."""
from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    """The gateway's limits, from the environment (GATEWAY_*); the defaults are production's.

    Rate limits are nginx's leaky buckets (limit_req): `..._per_minute` or `..._per_second`
    is the steady rate, `..._burst` how many requests beyond it are let through at once;
    what exceeds both is a 429 with Retry-After. Account flows (the public sign-up,
    confirmation, login and refresh routes) are limited per client address here, and per
    account by the service that reads the account from the body (agent-service); the API
    per token and per address."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)

    account_flows_per_minute_per_address: int = 30
    account_flows_burst_per_address: int = 20
    api_per_second_per_token: int = 20
    api_burst_per_token: int = 40
    api_per_second_per_address: int = 100
    api_burst_per_address: int = 200
    # Client addresses (comma-separated networks) no rate limit applies to: a monitor; a
    # local test stack exempts the address its own test run calls from. Matched against the
    # client's real address (behind a trusted proxy, the one it forwarded), never a proxy's.
    rate_limit_exempt: str = ""
    # Networks (comma-separated) of the proxies in front of the gateway (on AWS, the load
    # balancer's subnets): only on their connections is the client's address taken from
    # X-Forwarded-For (the last address in it no trusted proxy added) and the scheme from
    # X-Forwarded-Proto. Everyone else's X-Forwarded-* is ignored, so no client can choose
    # the address its limits, its exemption and the logs go by. Empty: no proxy.
    trusted_proxies: str = ""
    # More header fields than this is a 431 at the gateway (gunicorn refuses over 100, and
    # nginx adds a dozen of its own).
    max_request_headers: int = 64
    # nginx's JavaScript module (njs), for the header count, and set-misc (with the
    # development kit it needs) for the token digest, in C: njs 0.7's crypto cost 0.6 ms of
    # nginx's CPU per request, six times all the rest (docs/benchmarks.md). Debian's paths.
    njs_module: str = "/usr/lib/nginx/modules/ngx_http_js_module.so"
    ndk_module: str = "/usr/lib/nginx/modules/ndk_http_module.so"
    set_misc_module: str = "/usr/lib/nginx/modules/ngx_http_set_misc_module.so"

    @field_validator("rate_limit_exempt", "trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        _network_list(value)  # a ValueError names the bad one
        return value

    @property
    def exempt_networks(self) -> list[IPv4Network | IPv6Network]:
        """The networks of `rate_limit_exempt`."""
        return _network_list(self.rate_limit_exempt)

    @property
    def trusted_proxy_networks(self) -> list[IPv4Network | IPv6Network]:
        """The networks of `trusted_proxies`."""
        return _network_list(self.trusted_proxies)


def _network_list(value: str) -> list[IPv4Network | IPv6Network]:
    return [ip_network(v.strip()) for v in value.split(",") if v.strip()]
