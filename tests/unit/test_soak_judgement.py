"""What the soak calls a leak: memory that grew past the bound and was still growing at
the end, not a part that rose to a high-water mark early and stayed (nginx's buffers for
its busiest moment)."""
from __future__ import annotations

from bench.soak import leaking


def summary(growth: dict[str, float], last_third: dict[str, float]) -> dict:
    return {"memory_growth": growth, "memory_growth_last_third": last_third}


def test_a_part_still_growing_at_the_end_leaks():
    assert leaking(summary({"gateway": 0.35}, {"gateway": 0.12})) == {"gateway": 0.35}


def test_a_part_that_rose_to_a_mark_and_stayed_does_not():
    assert leaking(summary({"gateway": 0.35}, {"gateway": 0.0})) == {}


def test_slow_steady_growth_past_the_bound_leaks():
    # 12% over the run, 4% of it in the last third: the pace of a leak, not a mark.
    assert leaking(summary({"rds": 0.12}, {"rds": 0.04})) == {"rds": 0.12}


def test_growth_within_the_bound_is_no_leak_whatever_its_pace():
    assert leaking(summary({"moto": 0.09}, {"moto": 0.09})) == {}


def test_memory_counts_a_process_s_own_pages_not_the_shared_zones_it_fills():
    # nginx's rate-limit zones and PostgreSQL's shared buffers are shared mappings that
    # fill up to their configured size: no leak, however much of them one worker touched.
    import mmap
    import os

    from bench.soak import _private_kib

    size = 16 * 1024 * 1024
    before = _private_kib([os.getpid()])
    zone = mmap.mmap(-1, size, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
    zone.write(b"z" * size)
    after_zone = _private_kib([os.getpid()])
    heap = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    heap.write(b"h" * size)
    after_heap = _private_kib([os.getpid()])
    assert after_zone - before < 2048, (before, after_zone)
    assert after_heap - after_zone >= 15 * 1024, (after_zone, after_heap)
    zone.close()
    heap.close()
