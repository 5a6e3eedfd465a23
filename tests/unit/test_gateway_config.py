"""The gateway's table of services and route families, and the nginx configuration rendered
from it: every family routed to its service under its policy, nothing left unfilled."""
from __future__ import annotations

import re
from pathlib import Path

import gateway_config
import pytest
from gateway_auth.routes import POLICIES, PUBLIC


def _render(**deployment) -> str:
    values = {"CORS_ORIGIN_MAP": "", "STATE_DIR": "/state", "LOG_DIR": "/logs",
              "SWAGGER_UI_DIR": "/swagger",
              "GATEWAY_HOST": "127.0.0.1", "GATEWAY_PORT": "8080",
              "GATEWAY_STATUS_PORT": "8081"}
    return gateway_config.render_nginx(values, port=lambda name: 1000 + len(name),
                                       **deployment)


def test_every_family_names_a_known_service_and_a_policy_gateway_auth_checks():
    names = {s.name for s in gateway_config.SERVICES}
    for family in gateway_config.ROUTE_FAMILIES:
        assert family.service in names and family.policy in POLICIES, family


def test_every_family_is_routed_to_its_service_behind_the_token_check():
    config = _render()
    for family in gateway_config.ROUTE_FAMILIES:
        upstream = gateway_config.service(family.service).upstream
        block = re.search(r"location ~ " + re.escape(family.pattern) + r" \{(.*?)\n\s*\}",
                          config, re.S)
        assert block, family.prefix
        assert "auth.conf;" in block[1] and f"proxy_pass http://${upstream}_target;" in block[1]
        assert re.search(rf"~{re.escape(family.pattern)}\s+{family.policy};", config)


def test_each_service_has_an_upstream_on_its_port_and_a_docs_link():
    config = _render()
    for service in gateway_config.SERVICES:
        port = 1000 + len(service.name)
        assert f"upstream {service.upstream} {{ server 127.0.0.1:{port};" in config
        assert f'${service.upstream}_target {{ default "{service.upstream}"; }}' in config
        assert f"/docs/{service.name}.json  ${service.upstream}_target;" in config
    links = {link["url"] for link in gateway_config.docs_links()}
    assert links == {f"{s.name}.json" for s in gateway_config.SERVICES}


def test_with_a_resolver_each_part_is_found_by_name_again_and_again_not_once():
    config = _render(host=lambda name: name, resolver="127.0.0.11")
    assert "resolver 127.0.0.11 valid=2s" in config
    assert not re.search(r"^\s*upstream \w+ \{", config, re.M)
    for name in ("gateway-auth", *(s.name for s in gateway_config.SERVICES)):
        variable = name.replace("-", "_") + "_target"
        assert f'${variable} {{ default "{name}:{1000 + len(name)}"; }}' in config


def test_public_routes_come_before_their_familys_policy():
    config = _render()
    for family in gateway_config.ROUTE_FAMILIES:
        if family.public:
            public = config.index(f"{family.prefix}/(")
            assert config[public:].splitlines()[0].endswith(f"  {PUBLIC};")
            assert public < config.index(f"~{family.pattern}  {family.policy};")


def test_every_placeholder_is_filled_and_every_include_exists():
    config = _render()
    assert "{{" not in config
    for included in re.findall(r"include (\S+);", config):
        assert Path(included).is_file(), included


def test_each_family_waits_its_own_read_timeout_and_retries_only_idempotent_requests():
    config = _render()
    for family in gateway_config.ROUTE_FAMILIES:
        block = re.search(r"location ~ " + re.escape(family.pattern) + r" \{(.*?)\n\s*\}",
                          config, re.S)
        assert block, family.prefix
        assert f"proxy_read_timeout {family.read_timeout}s;" in block[1]
        assert f"proxy_next_upstream_timeout {2 * family.read_timeout}s;" in block[1]
        # nginx never passes a POST or PATCH on to another server unless told to.
        assert "non_idempotent" not in block[1]


def test_nginx_drops_idle_service_connections_before_gunicorn_does():
    """Else gunicorn closes a kept-alive connection just as nginx reuses it, and a POST on it
    fails with a 502 (seen once in the soak test's 15,000 requests)."""
    from travel_platform.gunicorn import config as gunicorn_config

    upstreams = re.findall(r"upstream (\w+) \{([^}]*)\}", _render())
    assert {name for name, _ in upstreams} >= {"gateway_auth", "agent_service"}
    for name, block in upstreams:
        found = re.search(r"keepalive_timeout (\d+)s;", block)
        assert found and int(found[1]) < gunicorn_config.keepalive, name


def test_x_forwarded_for_is_believed_only_from_the_trusted_proxies():
    settings = gateway_config.GatewaySettings(trusted_proxies="10.0.1.0/24, 10.0.2.0/24")
    config = _render(settings=settings)
    assert re.findall(r"set_real_ip_from (\S+);", config) == ["10.0.1.0/24", "10.0.2.0/24"]
    assert "real_ip_header X-Forwarded-For;" in config and "real_ip_recursive on;" in config
    untrusting = _render(settings=gateway_config.GatewaySettings(trusted_proxies=""))
    assert "set_real_ip_from" not in untrusting and "real_ip_header" not in untrusting


def test_the_dashboard_connects_only_to_origins_named_one_by_one():
    connect = gateway_config.dashboard_connect_origins(
        supabase_url="https://abc.supabase.co/", s3_bucket="uploads", aws_region="eu-west-1",
        s3_endpoint=None)
    assert connect == ["https://abc.supabase.co", "https://uploads.s3.amazonaws.com",
                       "https://uploads.s3.eu-west-1.amazonaws.com"]
    policy = gateway_config.dashboard_policy(connect)
    assert "connect-src 'self' https://abc.supabase.co https://uploads.s3" in policy
    assert "frame-ancestors 'none'" in policy
    # Nothing but an origin reaches the policy: no scheme-wide source, no second directive.
    for bad in ("https:", "*", "https://x.example; script-src *", "javascript:alert(1)"):
        with pytest.raises(ValueError):
            gateway_config.dashboard_policy([bad])


def test_with_supabase_off_the_dashboard_is_told_of_no_supabase(tmp_path: Path):
    connect = gateway_config.dashboard_connect_origins(
        supabase_url=None, s3_bucket="uploads", aws_region="eu-west-1", s3_endpoint=None)
    assert connect == ["https://uploads.s3.amazonaws.com",
                       "https://uploads.s3.eu-west-1.amazonaws.com"]
    config = gateway_config.write_dashboard_config(tmp_path, supabase_url=None, anon_key=None)
    assert "supabase" not in config.read_text().lower()


def test_the_gateway_takes_both_supabase_settings_or_neither(monkeypatch):
    from gateway_config.serve import DashboardSettings

    from travel_platform.settings import SettingsError, load_settings

    base = {"AWS_S3_BUCKET": "uploads", "AWS_REGION": "eu-west-1"}
    for name in ("SUPABASE_URL", "SUPABASE_ANON_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert load_settings(DashboardSettings, base).supabase_url is None
    with pytest.raises(SettingsError, match="missing: SUPABASE_ANON_KEY"):
        load_settings(DashboardSettings, {**base, "SUPABASE_URL": "https://abc.supabase.co"})
