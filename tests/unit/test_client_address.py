"""The client address a service counts failed logins under
(shared/travel_platform/client_address.py): X-Forwarded-For is believed only from the
gateway, and only from the right."""
from __future__ import annotations

from ipaddress import ip_network

import pytest

from travel_platform.client_address import client_address
from travel_platform.settings import AccountAttemptSettings

GATEWAY = (ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8"))


@pytest.mark.parametrize("peer, forwarded_for, client", [
    # Through the gateway: nginx appended the address it was connected from.
    ("127.0.0.1", "203.0.113.7", "203.0.113.7"),
    # What the client wrote itself is left of it, and proves nothing.
    ("127.0.0.1", "198.51.100.1, 203.0.113.7", "203.0.113.7"),
    # Behind a load balancer inside the VPC, then the gateway.
    ("127.0.0.1", "198.51.100.1, 203.0.113.7, 10.0.3.4", "203.0.113.7"),
    # Called straight, not through the gateway: the header is anybody's.
    ("203.0.113.9", "198.51.100.1", "203.0.113.9"),
    ("203.0.113.9", None, "203.0.113.9"),
    # The gateway with no header: itself.
    ("127.0.0.1", None, "127.0.0.1"),
    # Nonsense in the header is a key like any other, never a way past the proxies.
    ("127.0.0.1", "not-an-address", "not-an-address"),
])
def test_the_client_is_the_rightmost_address_not_a_proxy_of_ours(peer, forwarded_for, client):
    assert client_address(peer=peer, forwarded_for=forwarded_for, proxies=GATEWAY) == client


def test_no_proxies_configured_means_no_header_is_believed():
    assert client_address(peer="127.0.0.1", forwarded_for="203.0.113.7", proxies=()) == "127.0.0.1"


def test_a_malformed_proxy_network_fails_at_start_up():
    with pytest.raises(ValueError):
        AccountAttemptSettings(client_address_proxies="127.0.0.1/32,gateway")
    parsed = AccountAttemptSettings(client_address_proxies=" 127.0.0.1/32 , 10.0.0.0/8")
    assert parsed.proxy_networks == (ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8"))
