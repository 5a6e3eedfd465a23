"""Each error a user can get from operator-service's rules, without a database: the pure
rules (operator_service/rules.py) on their own, the rest through the service modules
over an in-memory repository."""
from __future__ import annotations

import datetime
import uuid
from contextlib import contextmanager

import psycopg
import pytest
from operator_service import administration, logins, packages, profiles, repository, rules
from operator_service.schemas import MAX_STOPS, PackageCreate

from travel_platform.auth import Identity
from travel_platform.errors import APIError, status_and_code

TODAY = datetime.date(2027, 3, 1)
ME = str(uuid.uuid4())


def operator_token() -> Identity:
    return Identity(source="supabase", subject=ME, email="me@example.com", groups=(),
                    role=None, expires_at=0, claims={})


def raised(call) -> tuple[int, str]:
    """What the caller gets: the HTTP status and the error code."""
    with pytest.raises(APIError) as error:
        call()
    return status_and_code(error.value)


def complete(**overrides) -> dict:
    package = {"status": "draft", "stops": [{"city": "Lisbon"}],
               "price_per_traveller": "1290.00", "first_departure_date": TODAY,
               "last_departure_date": TODAY + datetime.timedelta(days=30),
               "capacity_per_departure": 10, "min_travellers": 1, "max_travellers": 4}
    return {**package, **overrides}


# --- the pure rules ---------------------------------------------------------------------

@pytest.mark.parametrize("profile", [None, {"status": "pending"}, {"status": "suspended"}])
def test_an_operator_who_is_not_active_cannot_publish(profile):
    assert raised(lambda: rules.ensure_active(profile, action="publish packages")) == (
        403, "operator_not_active")


def test_an_active_operator_may_publish():
    rules.ensure_active({"status": "active"}, action="publish packages")


def test_a_suspended_operator_changes_nothing_a_pending_one_prepares_drafts():
    assert raised(lambda: rules.ensure_not_suspended({"status": "suspended"})) == (
        403, "operator_suspended")
    for profile in (None, {"status": "pending"}, {"status": "active"}):
        rules.ensure_not_suspended(profile)


def test_contradicting_fields_are_422_package_inconsistent():
    assert raised(lambda: rules.ensure_consistent({"min_travellers": 5, "max_travellers": 2})) == (
        422, "package_inconsistent")
    rules.ensure_consistent({"min_travellers": 2, "max_travellers": 5})


def test_an_incomplete_package_is_422_package_incomplete_a_complete_one_passes():
    rules.ensure_complete(complete(), today=TODAY, refusal="incomplete")
    assert raised(lambda: rules.ensure_complete(complete(stops=[]), today=TODAY,
                                                refusal="incomplete")) == (
        422, "package_incomplete")


@pytest.mark.parametrize(("status", "allowed", "ok"), [
    ("draft", ("draft",), True), ("published", ("draft",), False),
    ("archived", ("draft", "published"), False), ("published", ("draft", "published"), True)])
def test_a_package_action_starts_only_from_its_statuses(status, allowed, ok):
    def act():
        rules.ensure_status_allows(status, allowed=allowed, action="publish")

    if ok:
        act()
    else:
        assert raised(act) == (409, "invalid_status_transition")


def test_a_package_holds_a_bounded_number_of_parts_at_positions_within_the_list():
    rules.ensure_room_for_part("stops", count=MAX_STOPS - 1, position=MAX_STOPS)
    assert raised(lambda: rules.ensure_room_for_part("stops", count=MAX_STOPS,
                                                     position=None)) == (422, "too_many_parts")
    assert raised(lambda: rules.ensure_room_for_part("stops", count=2, position=4)) == (
        422, "invalid_position")


# --- through the service, over an in-memory repository --------------------------------

class FakeData:
    """DataSources with one database: every query and transaction gets the same stand-in
    connection; the repository functions it is handed to are replaced below."""

    conn = object()

    @contextmanager
    def transaction(self, *, identity, tables, write=True):
        yield self.conn

    def read(self, *, identity, tables, query, own=False):
        return query(self.conn)

    def read_on(self, side, *, identity, query):
        return query(self.conn)

    def holds(self, side):
        return False


@pytest.fixture
def db(monkeypatch):
    """`operators` by id, `packages` by id; what the repository functions read."""
    tables: dict = {"operators": {}, "packages": {}, "fk_error": False}

    def get_operator(*, conn, user_id):
        return tables["operators"].get(str(user_id))

    def change_operator_status(*, conn, user_id, from_status, to_status, changed_by):
        found = tables["operators"].get(str(user_id))
        if found is None or found["status"] != from_status:
            return None
        found["status"] = to_status
        return found

    def find_own_package(*, conn, package_id, operator_id, lock=False):
        found = tables["packages"].get(package_id)
        return found if found is not None and found["operator_id"] == operator_id else None

    def ensure_operator(*, conn, user_id, company_name, contact_email):
        if tables["fk_error"]:
            raise psycopg.errors.ForeignKeyViolation("insert violates foreign key")

    for name, fn in {
        "get_operator": get_operator, "change_operator_status": change_operator_status,
        "find_own_package": find_own_package, "ensure_operator": ensure_operator,
        "delete_part": lambda *, conn, part, package_id, part_id: False,
        "supabase_sign_in_emails": lambda *, conn, user_ids: {},
    }.items():
        monkeypatch.setattr(repository, name, fn)
    return tables


def test_an_unknown_operator_is_404_operator_not_found_for_administrators(db):
    unknown = uuid.uuid4()
    assert raised(lambda: administration.get_operator(
        data=FakeData(), identity=operator_token(), operator_id=unknown)) == (
        404, "operator_not_found")
    assert raised(lambda: administration.change_operator_status(
        data=FakeData(), identity=operator_token(), operator_id=unknown, action="approve")) == (
        404, "operator_not_found")


def test_approving_an_operator_who_is_not_pending_is_409_naming_both(db):
    someone = str(uuid.uuid4())
    db["operators"][someone] = {"id": someone, "status": "active"}
    with pytest.raises(APIError) as error:
        administration.change_operator_status(data=FakeData(), identity=operator_token(),
                                              operator_id=someone, action="approve")
    assert status_and_code(error.value) == (409, "invalid_status_transition")
    assert error.value.details == [{"current_status": "active", "required_status": "pending"}]


def test_someone_elses_or_an_unknown_package_is_404_package_not_found(db):
    theirs = uuid.uuid4()
    db["packages"][theirs] = {"id": theirs, "operator_id": str(uuid.uuid4()), "status": "draft"}
    for package_id in (theirs, uuid.uuid4()):
        assert raised(lambda package_id=package_id: packages.archive_package(
            data=FakeData(), identity=operator_token(), package_id=package_id)) == (
            404, "package_not_found")


@pytest.mark.parametrize(("part", "code"), [
    ("stops", "stop_not_found"), ("addons", "addon_not_found"),
    ("exclusions", "exclusion_not_found")])
def test_removing_a_part_the_package_does_not_have_is_404_naming_the_part(db, part, code):
    mine = uuid.uuid4()
    db["packages"][mine] = {"id": mine, "operator_id": ME, "status": "draft"}
    assert raised(lambda: packages.remove_part(data=FakeData(), identity=operator_token(),
                                               package_id=mine, part=part,
                                               part_id=uuid.uuid4())) == (404, code)


def test_publishing_before_approval_is_403_before_the_package_is_read(db):
    db["operators"][ME] = {"id": ME, "status": "pending"}
    assert raised(lambda: packages.publish_package(
        data=FakeData(), identity=operator_token(), package_id=uuid.uuid4())) == (
        403, "operator_not_active")


def test_a_write_of_a_deleted_account_is_401_account_deleted(db):
    db["fk_error"] = True            # the account and its profile went after the token
    assert raised(lambda: packages.create_package(
        data=FakeData(), identity=operator_token(), new=PackageCreate(title="Gone"))) == (
        401, "account_deleted")


def test_a_foreign_key_refusing_a_live_operator_is_503_data_moving(db):
    db["fk_error"] = True            # the key was checked against a stale copy of `users`
    db["operators"][ME] = {"id": ME, "status": "active"}
    assert raised(lambda: profiles.update_operator(
        data=FakeData(), identity=operator_token(), changes={"company_name": "Live"})) == (
        503, "data_moving")


def test_signing_a_supabase_token_out_of_the_pool_is_403_wrong_token_issuer():
    class NoPool:
        def __getattr__(self, name):
            raise AssertionError("the pool must not be asked")

    assert raised(lambda: logins.log_out(accounts=NoPool(), identity=operator_token(),
                                         access_token="supabase-token")) == (
        403, "wrong_token_issuer")
