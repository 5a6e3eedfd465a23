"""The client's address as a service sees it behind the gateway.

nginx passes the address it was connected from on in X-Forwarded-For (appended to whatever
the client sent there), so the header is only as good as whoever spoke to us last. A
service believes it only from a proxy of CLIENT_ADDRESS_PROXIES (the gateway), and then only
from the right: walking right to left, each entry is the address the proxy to its right was
connected from, until one is not a proxy of ours; that one is the client. Anything further
left was written by the client and proves nothing. Called straight (not through the gateway),
the connection's own address is the client's, whatever the header says."""
from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

Networks = Sequence[IPv4Network | IPv6Network]


def _is_proxy(address: str, proxies: Networks) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in proxies)


def client_address(*, peer: str | None, forwarded_for: str | None, proxies: Networks) -> str:
    """The client's address: `peer` (the connection's) unless it is a proxy of ours, then
    the rightmost entry of `forwarded_for` that is not."""
    address = peer or ""
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    while hops and _is_proxy(address, proxies):
        address = hops.pop()
    return address


def request_client_address() -> str:
    """The client address of the Flask request being served, by the app's settings
    (AccountAttemptSettings.proxy_networks in app.config["SETTINGS"])."""
    from flask import current_app, request

    proxies = getattr(current_app.config["SETTINGS"], "proxy_networks", ())
    return client_address(peer=request.remote_addr,
                          forwarded_for=request.headers.get("X-Forwarded-For"), proxies=proxies)
