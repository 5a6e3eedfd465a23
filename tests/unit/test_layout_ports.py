"""Every stack's ports are valid TCP ports, whatever its offset."""
from pathlib import Path

import pytest

from devstack.api import BASE_PORTS, Layout


@pytest.mark.parametrize("offset", [0, 10000, 40000, 50000])
def test_ports_stay_in_range_and_distinct_modulo_1000(offset):
    layout = Layout(state=Path("/nowhere"), port_offset=offset)
    ports = [layout.port(part) for part in BASE_PORTS]
    assert all(1024 < port <= 65535 for port in ports)
    assert len({port % 1000 for port in ports}) == len(ports)
