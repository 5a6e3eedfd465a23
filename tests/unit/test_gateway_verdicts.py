"""gateway-auth's verdict cache: reused for the seconds given, never past them, and keyed
by a digest so no token is held as a key; and how long nginx may reuse a verdict."""
from __future__ import annotations

import time

import pytest
from gateway_auth.verdicts import NGINX_REUSE_SECONDS, VerdictCache, nginx_expires


def test_a_verdict_is_reused_for_its_seconds_and_then_forgotten():
    cache = VerdictCache()
    key = VerdictCache.key("supabase", "Bearer a.b.c")
    now = time.time()
    cache.put(key, ("", 200, {"X-Auth-Subject": "u1"}), seconds=1, now=now)
    assert cache.get(key) == (("", 200, {"X-Auth-Subject": "u1"}), now + 1)
    time.sleep(1.05)
    assert cache.get(key) is None


def test_a_verdict_given_no_seconds_is_not_kept():
    cache = VerdictCache()
    key = VerdictCache.key("any", "Bearer x.y.z")
    cache.put(key, ("", 200, {}), seconds=0, now=time.time())
    assert cache.get(key) is None


def test_keys_are_digests_that_tell_policies_and_tokens_apart():
    token = "Bearer header.payload.signature"
    key = VerdictCache.key("cognito", token)
    assert b"signature" not in key and len(key) == 32
    assert key != VerdictCache.key("supabase", token)
    assert key != VerdictCache.key("cognito", token + "x")


def nginx_keeps_until(expires: str) -> float:
    """The first wall-clock time at which nginx no longer reuses an entry stored with this
    X-Accel-Expires (it keeps one while its whole-second clock is <= the value)."""
    assert expires.startswith("@")
    return int(expires[1:]) + 1


@pytest.mark.parametrize("now", [1000.0, 1000.25, 1000.999])
@pytest.mark.parametrize("left", [1.0, 2.5, 30.0])
def test_nginx_reuses_a_verdict_for_at_most_a_second_and_never_past_its_end(now, left):
    expires = nginx_expires(now + left, now=now)
    if expires != "0":
        assert nginx_keeps_until(expires) <= min(now + left, now + NGINX_REUSE_SECONDS)
        assert nginx_keeps_until(expires) > now        # not already stale when stored


@pytest.mark.parametrize("left", [0.0, 0.4, -3.0])
def test_a_verdict_ending_within_the_second_is_not_given_to_nginx(left):
    assert nginx_expires(1000.5 + left, now=1000.5) == "0"


def test_a_verdict_good_for_long_is_reused_by_nginx_to_the_end_of_the_second():
    assert nginx_keeps_until(nginx_expires(1030.0, now=1000.0)) == 1001
