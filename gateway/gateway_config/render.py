"""nginx.conf from the gateway's table (table.py) and limits (settings.py): the `location`
blocks, upstreams, policy map and docs map, the rate-limit zones and the token digest;
devstack (and a deployment's own renderer, `serve.py` in a container) fill the rest of
`gateway/nginx.conf.template` from their settings. Files the template or the rendered
locations `include` (gateway/*.conf) stay plain nginx."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path

from gateway_config.dashboard import dashboard_policy
from gateway_config.settings import GatewaySettings
from gateway_config.table import GATEWAY_AUTH, ROUTE_FAMILIES, SERVICES, docs_links, rx, service

GATEWAY_DIR = Path(__file__).resolve().parent.parent
TEMPLATE = GATEWAY_DIR / "nginx.conf.template"


def _policy_map() -> str:
    lines = ["map $uri $route_policy {"]
    for family in ROUTE_FAMILIES:
        if family.public:
            paths = "|".join(rx(p) for p in family.public)
            lines.append(f"    ~^{rx(family.prefix)}/({paths})$  public;")
        lines += [f'    "~^{rx(family.prefix)}{admin}$"  agent;' for admin in family.admin]
    lines += [f"    ~{family.pattern}  {family.policy};" for family in ROUTE_FAMILIES]
    lines += ["    default  deny;", "}"]
    return "\n".join(lines)


def _docs_map() -> str:
    lines = ["map $uri $docs_upstream {"]
    lines += [f"    /docs/{s.name}.json  ${s.upstream}_target;" for s in SERVICES]
    return "\n".join([*lines, "}"])


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
