"""Sign-up makes the Cognito user and the agent row together or not at all, including
the failures the stack cannot produce on demand (a database that fails, an undo that
fails, a commit that fails)."""
from __future__ import annotations

import logging
from contextlib import contextmanager

import psycopg
import pytest
from agent_service import repository
from agent_service.accounts import sign_up
from agent_service.schemas import SignUpRequest

from travel_platform.cognito import UsernameTaken
from travel_platform.errors import Conflict, ServiceUnavailable, Unprocessable

REQUEST = SignUpRequest(email="new@example.com", password="Sturdy-pass-2024",
                        agency_name="Atlas", country="PT")


class FakeAccounts:
    """Cognito as sign-up sees it; records what was asked of it."""

    def __init__(self, *, sign_up_results=None, existing=None, delete_error=None):
        self.sign_up_results = list(sign_up_results or [
            {"UserSub": "sub-1", "UserConfirmed": False}])
        self.existing = existing
        self.delete_error = delete_error
        self.calls: list[tuple] = []

    def sign_up(self, *, email, password):
        self.calls.append(("sign_up", email))
        result = self.sign_up_results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    def user_status(self, *, email):
        self.calls.append(("user_status", email))
        return self.existing

    def delete_user(self, *, username):
        self.calls.append(("delete_user", username))
        if self.delete_error:
            raise self.delete_error


class FakePool:
    """Connections whose transaction can fail at commit."""

    def __init__(self, *, commit_error=None):
        self.commit_error = commit_error

    @contextmanager
    def connection(self):
        yield self

    @contextmanager
    def transaction(self):
        yield
        if self.commit_error:
            raise self.commit_error


@pytest.fixture
def database(monkeypatch):
    """Repository functions replaced; `state` says what they do."""
    state = {"insert_error": None, "row_by_email": None, "inserted": [], "restarted": []}

    def insert_agent(**kwargs):
        if state["insert_error"]:
            raise state["insert_error"]
        state["inserted"].append(kwargs["cognito_sub"])
        return {"id": "a-1", "cognito_sub": kwargs["cognito_sub"], "status": "pending",
                "status_changed_by": None}

    def restart_agent(**kwargs):
        state["restarted"].append((kwargs["agent_id"], kwargs["cognito_sub"]))
        return {"id": kwargs["agent_id"], "cognito_sub": kwargs["cognito_sub"],
                "status": "pending", "status_changed_by": None}

    monkeypatch.setattr(repository, "restart_agent", restart_agent)
    monkeypatch.setattr(repository, "lock_sign_up", lambda **kwargs: None)
    monkeypatch.setattr(repository, "insert_agent", insert_agent)
    monkeypatch.setattr(repository, "get_agent_by_email", lambda **kwargs: state["row_by_email"])
    return state


def test_both_are_made(database):
    accounts = FakeAccounts()
    result = sign_up(pool=FakePool(), accounts=accounts, request=REQUEST)
    assert result["agent"]["cognito_sub"] == "sub-1" and "status_changed_by" not in result["agent"]
    assert database["inserted"] == ["sub-1"]
    assert ("delete_user", "sub-1") not in accounts.calls


def test_a_failed_insert_deletes_the_new_cognito_user(database):
    database["insert_error"] = psycopg.OperationalError("connection lost")
    accounts = FakeAccounts()
    with pytest.raises(psycopg.OperationalError):
        sign_up(pool=FakePool(), accounts=accounts, request=REQUEST)
    assert accounts.calls[-1] == ("delete_user", "sub-1")


def test_a_duplicate_row_is_409_after_the_undo(database):
    database["insert_error"] = psycopg.errors.UniqueViolation("travel_agents_email_key")
    accounts = FakeAccounts()
    with pytest.raises(Conflict) as error:
        sign_up(pool=FakePool(), accounts=accounts, request=REQUEST)
    assert error.value.code == "email_already_registered"
    assert accounts.calls[-1] == ("delete_user", "sub-1")


def test_a_failed_commit_deletes_the_new_cognito_user(database):
    accounts = FakeAccounts()
    with pytest.raises(psycopg.OperationalError):
        sign_up(pool=FakePool(commit_error=psycopg.OperationalError("commit")),
                        accounts=accounts, request=REQUEST)
    assert accounts.calls[-1] == ("delete_user", "sub-1")


def test_a_failed_undo_is_logged_and_the_original_error_is_what_the_caller_sees(
        database, caplog):
    database["insert_error"] = psycopg.OperationalError("connection lost")
    accounts = FakeAccounts(delete_error=ServiceUnavailable("cognito down"))
    with caplog.at_level(logging.ERROR), pytest.raises(psycopg.OperationalError):
        sign_up(pool=FakePool(), accounts=accounts, request=REQUEST)
    assert "sub-1" in caplog.text


def test_a_cognito_refusal_leaves_nothing_to_undo(database):
    accounts = FakeAccounts(sign_up_results=[Unprocessable("weak", code="weak_password")])
    with pytest.raises(Unprocessable):
        sign_up(pool=FakePool(), accounts=accounts, request=REQUEST)
    assert [c[0] for c in accounts.calls] == ["sign_up"]
    assert database["inserted"] == []


@pytest.mark.parametrize("row_status", ["pending", "active"])
def test_a_squatters_unconfirmed_sign_up_makes_way_for_the_owner(database, row_status):
    # Someone signed up the owner's address and never confirmed it (even if an
    # administrator approved the row): the owner's sign-up replaces user and row.
    database["row_by_email"] = {"id": "a-0", "status": row_status}
    accounts = FakeAccounts(sign_up_results=[UsernameTaken("x"),
                                             {"UserSub": "sub-2", "UserConfirmed": False}],
                            existing=("u-0", "UNCONFIRMED"))
    result = sign_up(pool=FakePool(), accounts=accounts, request=REQUEST)
    assert result["agent"] == {"id": "a-0", "cognito_sub": "sub-2", "status": "pending"}
    assert ("delete_user", "u-0") in accounts.calls
    assert database["restarted"] == [("a-0", "sub-2")] and database["inserted"] == []


def test_a_confirmed_account_holds_its_address_and_the_409_does_not_advise_confirming(
        database):
    database["row_by_email"] = {"id": "a-0", "status": "pending"}
    accounts = FakeAccounts(sign_up_results=[UsernameTaken("x")], existing=("u-0", "CONFIRMED"))
    with pytest.raises(Conflict) as error:
        sign_up(pool=FakePool(), accounts=accounts, request=REQUEST)
    assert "confirm" not in error.value.message
    assert "delete_user" not in [c[0] for c in accounts.calls]
    assert database["restarted"] == []


def test_a_pending_row_whose_cognito_user_is_gone_is_taken_over(database):
    database["row_by_email"] = {"id": "a-0", "status": "pending"}
    result = sign_up(pool=FakePool(), accounts=FakeAccounts(), request=REQUEST)
    assert result["agent"]["id"] == "a-0" and database["restarted"] == [("a-0", "sub-1")]


def test_a_row_an_administrator_acted_on_keeps_its_address_after_its_user_is_gone(database):
    database["row_by_email"] = {"id": "a-0", "status": "suspended"}
    accounts = FakeAccounts()
    with pytest.raises(Conflict):
        sign_up(pool=FakePool(), accounts=accounts, request=REQUEST)
    assert accounts.calls[-1] == ("delete_user", "sub-1")
    assert database["restarted"] == [] and database["inserted"] == []


def test_a_confirmed_user_without_a_row_is_kept(database):
    accounts = FakeAccounts(sign_up_results=[UsernameTaken("x")], existing=("u-0", "CONFIRMED"))
    with pytest.raises(Conflict):
        sign_up(pool=FakePool(), accounts=accounts, request=REQUEST)
    assert "delete_user" not in [c[0] for c in accounts.calls]


def test_an_unconfirmed_user_without_a_row_is_replaced(database):
    accounts = FakeAccounts(sign_up_results=[UsernameTaken("x"),
                                             {"UserSub": "sub-2", "UserConfirmed": False}],
                            existing=("u-0", "UNCONFIRMED"))
    result = sign_up(pool=FakePool(), accounts=accounts, request=REQUEST)
    assert result["agent"]["cognito_sub"] == "sub-2"
    assert accounts.calls == [("sign_up", REQUEST.email), ("user_status", REQUEST.email),
                              ("delete_user", "u-0"), ("sign_up", REQUEST.email)]


def test_losing_a_race_for_the_replaced_user_is_409(database):
    accounts = FakeAccounts(sign_up_results=[UsernameTaken("x"), UsernameTaken("x")],
                            existing=("u-0", "UNCONFIRMED"))
    with pytest.raises(Conflict):
        sign_up(pool=FakePool(), accounts=accounts, request=REQUEST)
    assert database["inserted"] == []
