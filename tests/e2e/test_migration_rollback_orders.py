"""Rolling back `packages` and `operators` in every order the move allows (issue 20, item 5;
review R4), and the operators who cannot move their logins (review R12), with `python -m
migrate` run as a user would and the whole stack serving operators and agents meanwhile.

A foreign key is checked where its table takes writes, against that database's copy of the
table it references: `multi_city_hotel_packages.operator_id -> users` must be suspended on a
side whenever packages take writes there and profiles do not. After every rollback an
operator who signs up then (approved by an administrator) and one from before each create a
package, publish it and an agent books it, through the gateway; and the key is where both
ends now take writes, validated, or suspended where they do not.

These tests move tables, so they get a stack of their own on other ports, started for this
module and stopped after it, also when tests fail. They run in order: each one leaves the
move where the next expects it."""
from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devstack import api as devstack
from devstack.api import Layout
from tests.builders.admins import new_admin
from tests.builders.agents import active_agent
from tests.builders.operators import Operator, approve, new_operator
from tests.builders.packages import TODAY, package_fields
from tests.conftest import TEST_PORT_OFFSET, TEST_STATE
from tests.e2e.migration import migrate, ok, sql, status
from tests.helpers import api

# `devstack`: a devstack stack of its own.
pytestmark = [pytest.mark.stack, pytest.mark.devstack]

FK = "multi_city_hotel_packages_operator_id_fkey"
PACKAGES = ("packages", ("addons", "exclusions", "packages"))
OPERATORS = ("operators", ("operators",))


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, str]]:
    """A fresh whole stack whose operator tables the tests move back and forth."""
    layout = Layout(state=Path(f"{TEST_STATE}-rollback-orders"),
                    port_offset=TEST_PORT_OFFSET + 4000)
    with devstack.fresh_stack(layout) as env:
        yield env


@pytest.fixture(scope="module")
def people(stack) -> dict:
    """An administrator, an agent, and an operator approved before anything moved."""
    gateway = stack["GATEWAY_URL"]
    admin = new_admin(gateway, stack)
    return {"admin": admin, "agent": active_agent(gateway, stack).token,
            "existing": approve(gateway, new_operator(stack, prefix="before"),
                                admin_token=admin.token)}


def move(env: dict, group: tuple[str, tuple[str, ...]], token: str) -> str:
    """Move a switch group to RDS (backup and start where needed, verify, shadow reads,
    switch reads, switch writes); the output of switch-writes."""
    switch_reads(env, group, token)
    return ok(env, "switch-writes", group[0])


def switch_reads(env: dict, group: tuple[str, tuple[str, ...]], token: str) -> None:
    """Move a switch group up to switch-reads: backup and start where needed, verify,
    shadow reads."""
    carrier, members = group
    for unit in members:
        state = status(env)[unit]["state"]
        if state == "new":
            ok(env, "backup", unit)
        if state in ("new", "rolled_back"):
            ok(env, "start", unit)
        ok(env, "verify", unit)
    ok(env, "shadow", carrier, "on")
    path = "/api/packages" if carrier == "packages" else "/api/operators/me"
    for _ in range(50):
        assert api(env["GATEWAY_URL"], "GET", path, token).status_code == 200
        if status(env)[carrier]["shadow_compared"] >= 1:
            break
    ok(env, "switch-reads", carrier)


def sells(env: dict, people: dict, label: str) -> Operator:
    """An operator who signs up now, approved by an administrator, and the operator from
    before each create a package and publish it through the gateway, and the agent books
    each; the new operator."""
    gateway = env["GATEWAY_URL"]
    fresh = approve(gateway, new_operator(env, prefix=f"new-{label}"),
                    admin_token=people["admin"].token)
    for who, operator in (("a new operator", fresh), ("an existing operator", people["existing"])):
        made = api(gateway, "POST", "/api/operators/me/packages", operator.token,
                     json=package_fields())
        assert made.status_code == 201, f"{label}: {who} cannot create a package: {made.text}"
        package_id = made.json()["id"]
        published = api(gateway, "POST", f"/api/operators/me/packages/{package_id}/publish",
                          operator.token)
        assert published.status_code == 200, f"{label}: {who} cannot publish: {published.text}"
        booked = api(gateway, "POST", "/api/bookings", people["agent"],
                       headers={"Idempotency-Key": uuid.uuid4().hex},
                       json={"package_id": package_id,
                             "departure_date": str(TODAY + datetime.timedelta(days=30)),
                             "travellers": [{"full_name": "A Traveller",
                                             "email": "t@example.com"}],
                             "addon_ids": []})
        assert booked.status_code == 201, f"{label}: {who}'s package cannot be booked: " \
                                          f"{booked.text}"
    return fresh


def key_on(env: dict, side: str) -> bool | None:
    """Whether the key exists on `side`: None if not, else whether it is validated."""
    found = sql(env, side, "select convalidated from pg_constraint where conname = %s "
                           "and conrelid = 'public.multi_city_hotel_packages'::regclass", (FK,))
    return found[0][0] if found else None


def suspended(env: dict) -> set[tuple[str, str]]:
    """The suspended keys `status` names, as (side, name)."""
    return {(fk["side"], fk["name"]) for unit in status(env).values()
            for fk in unit["suspended_fks"]}


def states(env: dict) -> tuple[str, str]:
    """The states of packages and operators."""
    units = status(env)
    return units["packages"]["state"], units["operators"]["state"]


# Packages moved, then operators; back in the same order as they would go wrong -------------

def test_both_moved_then_operators_rolled_back_keeps_packages_writable(stack, people):
    env = stack
    token = people["agent"]
    out = move(env, PACKAGES, token)
    assert f"foreign key {FK}" in out and "suspended on rds" in out
    assert key_on(env, "rds") is None and key_on(env, "supabase") is True
    sells(env, people, "packages-moved")
    out = move(env, OPERATORS, people["existing"].token)
    assert f"foreign key {FK} restored" in out
    assert key_on(env, "rds") is True and suspended(env) == set()
    sells(env, people, "both-moved")

    out = ok(env, "rollback", "operators")
    # Packages stay on RDS, whose copy of users is frozen now: the key is suspended there.
    assert states(env) == ("writes_switched", "rolled_back")
    assert f"foreign key {FK}" in out and "suspended on rds" in out
    assert key_on(env, "rds") is None and key_on(env, "supabase") is True
    assert suspended(env) == {("rds", FK)}
    fresh = sells(env, people, "operators-rolled-back")
    # The new operator's profile is on Supabase only; their package on RDS.
    assert sql(env, "rds", "select count(*) from users where id = %s", (fresh.id,)) == [(0,)]
    assert sql(env, "rds", "select count(*) from multi_city_hotel_packages "
                           "where operator_id = %s", (fresh.id,)) == [(1,)]


def test_starting_operators_again_empties_their_copy_and_packages_stay_writable(stack, people):
    env = stack
    # As an older version of the tool left it after `rollback operators`: the key in place
    # on RDS. `start` suspends it before it empties the copy of users.
    sql(env, "rds", "set migrate.ddl = 'allowed'; "
                    f"alter table multi_city_hotel_packages add constraint {FK} foreign key "
                    "(operator_id) references users (id) on delete cascade not valid")
    out = ok(env, "start", "operators")
    assert f"foreign key {FK}" in out and "suspended on rds" in out
    assert key_on(env, "rds") is None and suspended(env) == {("rds", FK)}
    assert states(env) == ("writes_switched", "replicating")
    sells(env, people, "operators-started-again")


def test_then_packages_rolled_back_too(stack, people):
    env = stack
    ok(env, "rollback", "packages")
    assert states(env) == ("rolled_back", "replicating")
    # Everything takes writes on Supabase, where the key never left.
    assert key_on(env, "supabase") is True
    sells(env, people, "packages-rolled-back-after-operators")


# Both moved again, then packages rolled back first, then operators ------------------------------

def test_both_moved_then_packages_rolled_back_first(stack, people):
    env = stack
    move(env, PACKAGES, people["agent"])
    out = move(env, OPERATORS, people["existing"].token)
    assert f"foreign key {FK} restored" in out
    assert key_on(env, "rds") is True and suspended(env) == set()

    out = ok(env, "rollback", "packages")
    # Packages are written on Supabase again, profiles still on RDS: Supabase's copy of
    # users is frozen, so the key is suspended there.
    assert states(env) == ("rolled_back", "writes_switched")
    assert f"foreign key {FK}" in out and "suspended on supabase" in out
    assert key_on(env, "supabase") is None and suspended(env) == {("supabase", FK)}
    fresh = sells(env, people, "packages-rolled-back-first")
    assert sql(env, "supabase", "select count(*) from users where id = %s", (fresh.id,)) == [(0,)]
    people["signed_up_on_rds"] = fresh


def test_then_operators_rolled_back_and_the_key_comes_back_on_supabase(stack, people):
    env = stack
    out = ok(env, "rollback", "operators")
    assert states(env) == ("rolled_back", "rolled_back")
    # The profiles written on RDS were replayed, so every package's operator is there.
    assert f"foreign key {FK} restored" in out
    assert key_on(env, "supabase") is True and suspended(env) == set()
    assert sql(env, "supabase", "select count(*) from users where id = %s",
               (people["signed_up_on_rds"].id,)) == [(1,)]
    sells(env, people, "operators-rolled-back-second")


# Operators moved alone, while packages are on Supabase, and rolled back ----------------------

def test_operators_moved_alone_then_rolled_back(stack, people):
    env = stack
    switch_reads(env, OPERATORS, people["existing"].token)
    # A switch-writes refused after it suspended the key on Supabase (a row changed on RDS
    # behind the tool's back) leaves the key where both ends still take writes.
    operator_id, company = sql(env, "rds", "select id, company_name from users limit 1")[0]
    sql(env, "rds", "update users set company_name = 'tampered' where id = %s",
        (operator_id,), replica=True)
    refused = migrate(env, "switch-writes", "operators")
    assert refused.returncode == 3 and "rows of operators differ" in refused.stderr
    assert f"foreign key {FK} restored" in refused.stdout
    assert key_on(env, "supabase") is True and suspended(env) == set()
    assert states(env) == ("rolled_back", "reads_switched")
    sql(env, "rds", "update users set company_name = %s where id = %s", (company, operator_id),
        replica=True)
    ok(env, "verify", "operators")

    out = ok(env, "switch-writes", "operators")
    assert states(env) == ("rolled_back", "writes_switched")
    assert f"foreign key {FK}" in out and "suspended on supabase" in out
    assert key_on(env, "supabase") is None
    sells(env, people, "operators-moved-alone")

    out = ok(env, "rollback", "operators")
    assert states(env) == ("rolled_back", "rolled_back")
    assert f"foreign key {FK} restored" in out
    assert key_on(env, "supabase") is True and suspended(env) == set()
    sells(env, people, "operators-alone-rolled-back")


# Operators who cannot move their logins ----------------------------------------------------

def _admin_api(env: dict, method: str, path: str, **body) -> dict:
    key = env["SUPABASE_SERVICE_ROLE_KEY"]
    answer = requests.request(method, f"{env['SUPABASE_URL']}/auth/v1/admin/users{path}",
                              headers={"apikey": key, "Authorization": f"Bearer {key}"},
                              json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_plan_names_who_would_leave_an_oauth_sign_in_or_a_second_factor_behind(stack):
    env = stack
    # Made as Supabase Auth makes them: a Google-only user (no password), and a user with a
    # verified TOTP factor (GoTrue's auth.mfa_factors, seeded by SQL).
    google = _admin_api(env, "POST", "", email=f"google-{uuid.uuid4().hex[:8]}@example.com",
                        email_confirm=True,
                        app_metadata={"provider": "google", "providers": ["google"]})
    totp = new_operator(env, prefix="totp", sign_in=False)
    sql(env, "supabase", "insert into auth.mfa_factors (id, user_id, friendly_name, "
        "factor_type, status) values (%s, %s, 'phone app', 'totp', 'verified')",
        (str(uuid.uuid4()), totp.id))
    said = migrate(env, "plan").stdout
    [google_note] = [line for line in said.splitlines() if google["id"] in line]
    assert "NOTE" in google_note and "google only" in google_note
    assert "reset code" in google_note
    [totp_note] = [line for line in said.splitlines() if totp.id in line]
    assert "second factor (totp)" in totp_note
    assert "the operators' pool's MFA is OFF" in totp_note


def test_a_phone_only_operator_is_named_and_blocks_finalize_until_handled(stack, people):
    env = stack
    move(env, PACKAGES, people["agent"])
    move(env, OPERATORS, people["existing"].token)
    assert key_on(env, "rds") is True and suspended(env) == set()
    sells(env, people, "both-moved-again")
    # Supabase Auth accounts made with a phone number, which the schema allows (the
    # stand-in's admin API makes them as GoTrue's does): one still works, one is gone.
    phone = [_admin_api(env, "POST", "", phone=f"4477009{uuid.uuid4().int % 10**5:05d}",
                        phone_confirm=True, password=f"Pw-{uuid.uuid4().hex}")["id"]
             for _ in range(2)]
    logins = status(env)["operators"]["logins"]
    why = {entry["id"]: entry["why"] for entry in logins["cannot_move"]}
    assert why == dict.fromkeys(phone, "no e-mail (phone sign-up)")
    text = ok(env, "status")
    assert all(f"CANNOT MOVE operator {p}: no e-mail (phone sign-up)" in text for p in phone)

    refused = migrate(env, "finalize", "operators")
    assert refused.returncode == 3, refused.stderr
    assert "2 active operators cannot move" in refused.stderr
    assert all(p in refused.stderr for p in phone)
    assert "give each an e-mail in Supabase Auth" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1

    # Handled: one gets an e-mail (and then moves as anyone does), the other is banned.
    email = f"was-phone-{uuid.uuid4().hex[:8]}@example.com"
    _admin_api(env, "PUT", f"/{phone[0]}", email=email, email_confirm=True)
    _admin_api(env, "PUT", f"/{phone[1]}", ban_duration="87600h")
    logins = status(env)["operators"]["logins"]
    assert logins["cannot_move"] == [] and logins["remaining"] >= 1
    refused = migrate(env, "finalize", "operators")
    assert refused.returncode == 3 and "import-logins operators" in refused.stderr
    imported = ok(env, "import-logins", "operators")
    assert email in imported
    ok(env, "finalize", "operators")
    assert states(env) == ("writes_switched", "finalized")
    assert sql(env, "rds", "select linked_via from operator_identities where operator_id = %s",
               (phone[0],)) == [("import",)]

