"""The nginx configuration of the gateway, rendered from the registry of services.

The services and their route families are the registry's (shared/travel_platform/services.json,
whose fields shared/travel_platform/registry.py explains): every part there with `api` gets an
upstream, a docs link and a `location` per route family (its path prefix, the token issuer
it accepts, the policy gateway-auth checks, its public and administrators' routes, its read
timeout), and gateway-auth its own upstream. So a new service is a row there, and nothing
here. `render_nginx` turns them into the gateway's `location` blocks, upstreams, policy map
and docs map; devstack
(and a deployment's own renderer) fill the rest of `gateway/nginx.conf.template` from their
settings. Files the template or the rendered locations `include` (gateway/*.conf) stay
plain nginx."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from travel_platform.registry import Route, registry

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


class RouteFamily(Route):
    """One of the registry's route families (its fields: travel_platform.registry) and the
    service it goes to."""

    service: str

    @property
    def pattern(self) -> str:
        """The regex nginx matches the family on: the prefix, then `/` or the end."""
        return f"^{_rx(self.prefix)}(/|$)"


SERVICES = tuple(Service(part.name, part.port) for part in registry().services)
# gateway-auth, the token check nginx asks before each guarded request (auth_request).
GATEWAY_AUTH = "gateway-auth"
GATEWAY_AUTH_PORT = registry().part(GATEWAY_AUTH).port


def port_of(name: str) -> int:
    """The port a part behind the gateway listens on (at offset 0; in a container, always)."""
    return GATEWAY_AUTH_PORT if name == GATEWAY_AUTH else service(name).port


def write_dashboard_config(folder: Path, *, supabase_url: str | None,
                           anon_key: str | None) -> Path:
    """What the dashboard needs to know at run time, served by the gateway at /config.json:
    where Supabase Auth is and its anon key (public by design: it only identifies the
    project; what a user may do comes from their own token). With Supabase off, neither:
    the dashboard then signs operators in through the API only."""
    path = folder / "dashboard-config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    config = ({"supabaseUrl": supabase_url, "supabaseAnonKey": anon_key}
              if supabase_url and anon_key else {})
    path.write_text(json.dumps(config))
    return path


# The dashboard's Content-Security-Policy, sent as a header (a <meta> policy cannot say
# frame-ancestors): scripts, styles and images from its own origin only, none inline; no
# page of another site may frame it (its admin approve buttons could be clicked unseen);
# and it connects only to its own origin (the API) and the few others it needs, named one
# by one (dashboard_connect_origins): a scheme-wide `https:` would let an injected request
# carry a token anywhere.
DASHBOARD_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; "
                    "img-src 'self' data:; connect-src 'self'{connect}; form-action 'self'; "
                    "base-uri 'self'; object-src 'none'; frame-ancestors 'none'")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](:[0-9]+)?$")


def origin(url: str) -> str:
    """The origin (scheme://host[:port]) of an http(s) URL; a ValueError for anything else,
    so nothing but an origin is ever written into a policy."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not _HOST.match(parts.netloc):
        raise ValueError(f"not an http(s) URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def dashboard_connect_origins(*, supabase_url: str | None, s3_bucket: str, aws_region: str,
                              s3_endpoint: str | None) -> list[str]:
    """Where the dashboard's page connects besides its own origin: Supabase Auth (operators
    sign in with supabase-js; none with Supabase off) and the S3 bucket its presigned upload
    forms post to (the endpoint browsers use, or S3's own names for the bucket: global and
    regional)."""
    uploads = ([s3_endpoint] if s3_endpoint else
               [f"https://{s3_bucket}.s3.amazonaws.com",
                f"https://{s3_bucket}.s3.{aws_region}.amazonaws.com"])
    supabase = [supabase_url] if supabase_url else []
    return list(dict.fromkeys(origin(url) for url in [*supabase, *uploads]))


def dashboard_policy(connect_origins: list[str]) -> str:
    """The dashboard's Content-Security-Policy, connecting to `connect_origins` too."""
    return DASHBOARD_POLICY.format(connect="".join(f" {origin(o)}" for o in connect_origins))


# Every api part's families, in the registry's order (the order of nginx's locations).
ROUTE_FAMILIES = tuple(RouteFamily(service=part.name, **route.model_dump())
                       for part in registry().services for route in part.routes)


def _rx(text: str) -> str:
    """`text` as a PCRE literal (a path: only dots and the like need escaping)."""
    return re.escape(text).replace("\\-", "-")


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


def service(name: str) -> Service:
    """The service of that name (a ValueError naming the registry's services if none)."""
    for known in SERVICES:
        if known.name == name:
            return known
    raise ValueError(f"no service {name!r} with `api` in the registry; known: "
                     f"{', '.join(s.name for s in SERVICES)}")


def _policy_map() -> str:
    lines = ["map $uri $route_policy {"]
    for family in ROUTE_FAMILIES:
        if family.public:
            paths = "|".join(_rx(p) for p in family.public)
            lines.append(f"    ~^{_rx(family.prefix)}/({paths})$  public;")
        lines += [f'    "~^{_rx(family.prefix)}{rx}$"  agent;' for rx in family.admin]
    lines += [f"    ~{family.pattern}  {family.policy};" for family in ROUTE_FAMILIES]
    lines += ["    default  deny;", "}"]
    return "\n".join(lines)


def _docs_map() -> str:
    lines = ["map $uri $docs_upstream {"]
    lines += [f"    /docs/{s.name}.json  ${s.upstream}_target;" for s in SERVICES]
    return "\n".join([*lines, "}"])


def docs_links() -> list[dict[str, str]]:
    """Swagger UI's list of documents: each service's OpenAPI document and its families."""
    def prefixes(name: str) -> str:
        return ", ".join(f.prefix for f in ROUTE_FAMILIES if f.service == name)

    return [{"url": f"{s.name}.json", "name": f"{s.name} ({prefixes(s.name)})"}
            for s in SERVICES]


# nginx keeps an idle connection to a service for less than gunicorn does (its `keepalive`,
# 15 s): otherwise gunicorn closes one just as nginx reuses it, and a POST on it, which
# nginx may not retry, fails as a 502 (one in ~15,000 requests of the soak test).
UPSTREAM_KEEPALIVE = "keepalive 32; keepalive_timeout 10s;"


def _targets(port: Callable[[str], int], host: Callable[[str], str],
             resolver: str | None) -> str:
    """Where nginx sends each part's requests, as a variable per part (`$<upstream>_target`).

    Without a resolver: an `upstream` block per part, its address fixed when nginx starts,
    with keep-alive connections (a local stack on one machine). With one (containers:
    Docker's DNS at 127.0.0.11): the part's name, looked up again every 2 s, every address
    it has; so replicas that are added, replaced or removed are found without a reload, and
    a request that cannot reach one replica goes to another (proxy_next_upstream)."""
    parts = [(GATEWAY_AUTH, GATEWAY_AUTH.replace("-", "_")),
             *((s.name, s.upstream) for s in SERVICES)]
    lines = [f"resolver {resolver} valid=2s ipv6=off;"] if resolver else []
    for name, upstream in parts:
        address = f"{host(name)}:{port(name)}"
        if not resolver:
            lines.append(f"upstream {upstream} {{ server {address}; {UPSTREAM_KEEPALIVE} }}")
        target = address if resolver else upstream
        lines.append(f'map $uri ${upstream}_target {{ default "{target}"; }}')
    return "\n".join(lines)


def _token_digest(key: str) -> list[str]:
    """The directives that set `$token_hash`, the digest of the request's token (see
    $bearer_token): an HMAC-SHA256 under `key`, made by set-misc in C.

    They go in each location that checks a token, not at server level: a server's rewrite
    directives run again in every subrequest, so the digest was made twice per request
    (once more for the `auth_request` subrequest, which shares the main request's
    variables and needs none of its own), and for every public route and static file too:
    the HMAC of a ~1 KiB token was a third of nginx's user-space instructions per request
    (docs/benchmarks.md, 1b)."""
    return [f'set_hmac_sha256 $token_mac "{key}" $bearer_token;',
            "set_encode_base64url $token_hash $token_mac;"]


def no_token_digest(key: str) -> str:
    """`$token_hash` of a request with no token (an HMAC of the empty string), as set-misc
    writes it (base64url, no padding): the value `$token_digest` maps to empty."""
    mac = hmac.new(key.encode(), b"", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _locations(gateway_dir: Path, token_digest_key: str) -> str:
    blocks = []
    for family in ROUTE_FAMILIES:
        blocks.append("\n".join([
            f"location ~ {family.pattern} {{",
            *(f"    {line}" for line in _token_digest(token_digest_key)),
            f"    include {gateway_dir}/auth.conf;",
            f"    include {gateway_dir}/proxy_headers.conf;",
            f"    proxy_read_timeout {family.read_timeout}s;",
            f"    proxy_send_timeout {family.read_timeout}s;",
            # An idempotent request (GET, HEAD, PUT, DELETE...; never a POST or PATCH, as
            # nginx does by default) that failed, timed out or met a 502/503 goes to another
            # server of the upstream where there is one; twice at most, so the client
            # waits two read timeouts at worst.
            "    proxy_next_upstream error timeout http_502 http_503;",
            "    proxy_next_upstream_tries 2;",
            f"    proxy_next_upstream_timeout {2 * family.read_timeout}s;",
            f"    proxy_pass http://${service(family.service).upstream}_target;",
            "}"]))
    return "\n\n".join(blocks)


def _rate_limit_zones(settings: GatewaySettings, gateway_dir: Path,
                      token_digest_key: str) -> str:
    """Keys and zones of the limits. A key is empty (so the request is not counted) for an
    exempt address and for routes outside the limit's scope: account flows are the public
    routes, the API every route a token policy guards."""
    exempt = "".join(f"\n    {network} 0;" for network in settings.exempt_networks)
    s = settings
    account_retry = math.ceil(60 / s.account_flows_per_minute_per_address)
    api_retry = math.ceil(1 / min(s.api_per_second_per_token, s.api_per_second_per_address))
    token_policies = "|".join(sorted({f.policy for f in ROUTE_FAMILIES}))
    zones = "\n".join(f"limit_req_zone ${key} zone={zone}:{size} rate={rate};"
                       for zone, key, size, rate, _ in _limits(settings))
    return f"""geo $rate_limited {{
    default 1;{exempt}
}}
js_import checks from {gateway_dir}/request_checks.js;
# The token, not the raw header: the services read the scheme in any case and split on any
# whitespace (shared/travel_platform/auth/tokens.py, bearer_token), so `bearer`, `BeArEr` or two
# spaces are one token and must drain one bucket and share one verdict; any other header
# is keyed as sent. Its digest ($token_hash, an HMAC-SHA256 under a key made when the
# config is rendered) is set in each location that checks a token; no header, no key: a
# request without one has the digest of the empty string, which maps to empty. (Mapped
# from the 43-character digest, not the header: a map lowercases and hashes its whole
# input, ~1 KiB of token each time.)
map $http_authorization $bearer_token {{
    "~*^\\s*bearer\\s+(?<token>\\S+)\\s*$"  $token;
    default                               $http_authorization;
}}
map $token_hash $token_digest {{
    "{no_token_digest(token_digest_key)}"  "";
    default  $token_hash;
}}
map "$rate_limited:$route_policy" $account_flow_address {{
    "1:public"  $binary_remote_addr;
    default     "";
}}
map "$rate_limited:$route_policy" $api_address {{
    ~^1:({token_policies})$  $binary_remote_addr;
    default                      "";
}}
map "$rate_limited:$route_policy" $api_token {{
    ~^1:({token_policies})$  $token_digest;
    default                      "";
}}
# Seconds until the bucket that refused a request lets the next one through.
map $route_policy $retry_after {{
    public   {account_retry};
    default  {api_retry};
}}
{zones}
limit_req_status 429;
limit_req_log_level warn;"""


def _limits(settings: GatewaySettings) -> list[tuple[str, str, str, str, int]]:
    """(zone, key variable, zone size, rate, burst) of each limit."""
    s = settings
    return [
        ("account_flows_by_address", "account_flow_address", "10m",
         f"{s.account_flows_per_minute_per_address}r/m", s.account_flows_burst_per_address),
        ("api_by_address", "api_address", "10m", f"{s.api_per_second_per_address}r/s",
         s.api_burst_per_address),
        ("api_by_token", "api_token", "20m", f"{s.api_per_second_per_token}r/s",
         s.api_burst_per_token),
    ]


def _client_address(settings: GatewaySettings) -> str:
    """http level: whether the connection comes from a trusted proxy (`$via_trusted_proxy`,
    tested on the connection's own address, which realip keeps in $realip_remote_addr)."""
    trusted = "".join(f"\n    {network} 1;" for network in settings.trusted_proxy_networks)
    return f"""geo $realip_remote_addr $via_trusted_proxy {{
    default 0;{trusted}
}}"""


def _real_ip(settings: GatewaySettings) -> str:
    """server level: on a trusted proxy's connection, $remote_addr (and with it every limit,
    the exemption, the log and the address sent on to the services) becomes the last address
    in X-Forwarded-For that no trusted proxy added: the one the outermost trusted proxy saw
    connect. What a client writes in front of it is skipped."""
    networks = settings.trusted_proxy_networks
    if not networks:
        return "# No trusted proxy (GATEWAY_TRUSTED_PROXIES): X-Forwarded-For is ignored."
    return "\n".join([*(f"set_real_ip_from {network};" for network in networks),
                      "real_ip_header X-Forwarded-For;", "real_ip_recursive on;"])


def _rate_limit_rules(settings: GatewaySettings) -> str:
    return "\n".join(f"limit_req zone={zone} burst={burst} nodelay;"
                     for zone, _, _, _, burst in _limits(settings))


def _indent(text: str, spaces: int) -> str:
    return "\n".join((" " * spaces + line) if line else line for line in text.splitlines())


def render_nginx(values: Mapping[str, str], *, port: Callable[[str], int],
                 host: str | Callable[[str], str] = "127.0.0.1",
                 resolver: str | None = None, gateway_dir: Path = GATEWAY_DIR,
                 settings: GatewaySettings | None = None,
                 token_digest_key: str | None = None) -> str:
    """gateway/nginx.conf.template with its `{{NAME}}` placeholders filled: the blocks
    made from the table and the settings (the environment's unless given), and `values`
    (folders, ports of the gateway's own parts) for the rest. `port(name)` is the port a
    service listens on in this deployment, `host(name)` (or `host`) its host; `resolver`:
    see `_targets`."""
    settings = settings or GatewaySettings()
    host_of = host if callable(host) else (lambda _name: host)
    # Keys the token digests, so nothing outside this nginx can match a digest in its
    # zones or cache files to a token: new at each render unless the caller keeps one
    # (devstack does, per stack, so that rendering again changes nothing).
    digest_key = token_digest_key or secrets.token_hex(32)
    generated = {
        "NJS_MODULE": settings.njs_module,
        "NDK_MODULE": settings.ndk_module,
        "SET_MISC_MODULE": settings.set_misc_module,
        "MAX_REQUEST_HEADERS": str(settings.max_request_headers),
        "RATE_LIMIT_ZONES": _indent(_rate_limit_zones(settings, gateway_dir, digest_key),
                                    4).lstrip(),
        "RATE_LIMIT_RULES": _indent(_rate_limit_rules(settings), 8).lstrip(),
        "CLIENT_ADDRESS": _indent(_client_address(settings), 4).lstrip(),
        "REAL_IP": _indent(_real_ip(settings), 8).lstrip(),
        "ROUTE_POLICY_MAP": _indent(_policy_map(), 4).lstrip(),
        "DOCS_MAP": _indent(_docs_map(), 4).lstrip(),
        "DOCS_CONFIG": json.dumps({"urls": docs_links()}, separators=(",", ":")),
        "SERVICE_UPSTREAMS": _indent(_targets(port, host_of, resolver), 4).lstrip(),
        "ROUTE_LOCATIONS": _indent(_locations(gateway_dir, digest_key), 8).lstrip(),
    }
    filled = {"STATUS_ALLOW": "allow 127.0.0.1;", "DASHBOARD_CSP": dashboard_policy([]),
              **values, "GATEWAY_DIR": str(gateway_dir),
              **generated}
    template = (gateway_dir / "nginx.conf.template").read_text()
    return re.sub(r"\{\{(\w+)\}\}", lambda m: filled[m.group(1)], template)
