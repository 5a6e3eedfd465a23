"""gateway-auth's verdict cache: reused for the seconds given, never past them, and keyed
by a digest so no token is held as a key."""
from __future__ import annotations

import time

from gateway_auth import VerdictCache


def test_a_verdict_is_reused_for_its_seconds_and_then_forgotten():
    cache = VerdictCache()
    key = VerdictCache.key("supabase", "Bearer a.b.c")
    cache.put(key, ("", 200, {"X-Auth-Subject": "u1"}), seconds=1)
    assert cache.get(key) == ("", 200, {"X-Auth-Subject": "u1"})
    time.sleep(1.05)
    assert cache.get(key) is None


def test_a_verdict_given_no_seconds_is_not_kept():
    cache = VerdictCache()
    key = VerdictCache.key("any", "Bearer x.y.z")
    cache.put(key, ("", 200, {}), seconds=0)
    assert cache.get(key) is None


def test_keys_are_digests_that_tell_policies_and_tokens_apart():
    token = "Bearer header.payload.signature"
    key = VerdictCache.key("cognito", token)
    assert b"signature" not in key and len(key) == 32
    assert key != VerdictCache.key("supabase", token)
    assert key != VerdictCache.key("cognito", token + "x")
