"""What the gateway tells the dashboard's page: its run-time configuration (/config.json)
and its Content-Security-Policy, which names one by one the origins the page may connect
to."""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit


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
