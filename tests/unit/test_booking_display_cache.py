"""The display cache of booking-service: per caller, bounded in time, can be turned off."""
import time

from booking_service.display_cache import DisplayCache


def test_entries_are_per_caller():
    cache = DisplayCache(ttl=60)
    cache.put_many("agent-a", "packages", {"p1": "Lisbon tour"})
    assert cache.get_many("agent-a", "packages", ["p1", "p2"]) == ({"p1": "Lisbon tour"}, {"p2"})
    assert cache.get_many("agent-b", "packages", ["p1"]) == ({}, {"p1"})
    assert cache.get_many("agent-a", "agents", ["p1"]) == ({}, {"p1"})


def test_entries_expire():
    cache = DisplayCache(ttl=0.05)
    cache.put_many("agent-a", "packages", {"p1": "Lisbon tour"})
    time.sleep(0.1)
    assert cache.get_many("agent-a", "packages", ["p1"]) == ({}, {"p1"})


def test_a_zero_ttl_turns_it_off():
    cache = DisplayCache(ttl=0)
    cache.put_many("agent-a", "packages", {"p1": "Lisbon tour"})
    assert cache.get_many("agent-a", "packages", ["p1"]) == ({}, {"p1"})
