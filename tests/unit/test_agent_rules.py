"""agent-service's rules, each error a user can get from it, without a database: the pure
rules (agent_service/rules.py) on their own, the rest through the service modules over
an in-memory repository and document store."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from decimal import Decimal

import pytest
from agent_service import accounts, administration, documents, lookup, profiles, repository, rules
from agent_service.accounts import AttemptLimit

from travel_platform.auth import Identity
from travel_platform.errors import APIError, status_and_code

ME = "sub-me"


def agent_token(subject: str = ME) -> Identity:
    return Identity(source="cognito", subject=subject, email=None, groups=(), role=None,
                    expires_at=0, claims={})


def operator_token() -> Identity:
    return Identity(source="supabase", subject=str(uuid.uuid4()), email=None, groups=(),
                    role=None, expires_at=0, claims={})


def refusal(error: APIError) -> tuple[int, str]:
    """What the caller gets: the HTTP status and the error code."""
    return status_and_code(error)


def agent(sub: str, status: str, name: str = "Atlas") -> dict:
    return {"id": uuid.uuid4(), "cognito_sub": sub, "agency_name": name, "status": status,
            "commission_rate": Decimal("0.1000"), "status_changed_by": None}


# --- the pure rules ---------------------------------------------------------------------

def test_an_agent_learns_about_themselves_only():
    rows = [agent(ME, "active"), agent("sub-other", "active", "Rival")]
    assert rules.agents_shown_to(agent_token(), rows) == [
        {"sub": ME, "agency_name": "Atlas", "status": "active",
         "commission_rate": Decimal("0.1000")}]


def test_an_operator_learns_only_the_agency_names_of_agents_who_can_have_booked():
    rows = [agent("a", "active", "A"), agent("s", "suspended", "S"), agent("p", "pending", "P")]
    assert rules.agents_shown_to(operator_token(), rows) == [
        {"sub": "a", "agency_name": "A"}, {"sub": "s", "agency_name": "S"}]


@pytest.mark.parametrize(("status", "replaced", "taken_over"), [
    ("pending", False, True),      # its Cognito user is gone, nobody acted on it
    ("active", False, False),      # an administrator approved it: the address is held
    ("suspended", False, False),
    ("active", True, True),        # its Cognito user was unconfirmed and just replaced
])
def test_a_row_is_taken_over_only_when_nobody_can_log_in_to_it(status, replaced, taken_over):
    assert rules.may_take_over({"status": status}, replaced=replaced) is taken_over


def test_a_held_address_is_409_email_already_registered():
    assert refusal(rules.email_taken()) == (409, "email_already_registered")


def test_a_suspended_agent_cannot_change_documents_a_pending_one_can():
    rules.ensure_may_change_documents({"status": "pending"})
    rules.ensure_may_change_documents({"status": "active"})
    with pytest.raises(APIError) as error:
        rules.ensure_may_change_documents({"status": "suspended"})
    assert refusal(error.value) == (403, "agent_suspended")


def test_an_agent_keeps_at_most_twenty_documents():
    rules.ensure_room_for_document(rules.MAX_DOCUMENTS_PER_AGENT - 1)
    with pytest.raises(APIError) as error:
        rules.ensure_room_for_document(rules.MAX_DOCUMENTS_PER_AGENT)
    assert refusal(error.value) == (409, "too_many_documents")


# --- through the service, over an in-memory repository --------------------------------

class FakePool:
    @contextmanager
    def connection(self):
        yield self

    @contextmanager
    def transaction(self):
        yield


class FakeStore:
    """S3 as the document flow sees it: `objects` maps keys to (size, type, content)."""

    def __init__(self, objects: dict | None = None):
        self.objects = dict(objects or {})
        self.deleted: list[str] = []

    def copy(self, *, source, target):
        if source not in self.objects:
            return False
        self.objects[target] = self.objects[source]
        return True

    def describe(self, *, key):
        size, content_type, _ = self.objects[key]
        return {"size": size, "content_type": content_type}

    def first_bytes(self, *, key, count):
        return self.objects[key][2][:count]

    def delete(self, *, key):
        self.deleted.append(key)
        self.objects.pop(key, None)


@pytest.fixture
def rows(monkeypatch):
    """The repository's tables in memory: `agents` by sub, `documents` by id."""
    tables: dict = {"agents": {}, "documents": {}, "attempts": 0}

    def by_sub(*, conn, cognito_sub, for_update=False):
        return tables["agents"].get(cognito_sub)

    def by_id(*, conn, agent_id):
        return next((a for a in tables["agents"].values() if a["id"] == agent_id), None)

    def update_profile(*, conn, cognito_sub, changes):
        found = tables["agents"].get(cognito_sub)
        return None if found is None else {**found, **changes}

    def change_status(*, conn, agent_id, from_status, to_status, changed_by):
        found = by_id(conn=conn, agent_id=agent_id)
        if found is None or found["status"] != from_status:
            return None
        found["status"] = to_status
        return found

    def document(*, conn, agent_id, document_id):
        found = tables["documents"].get(document_id)
        return found if found is not None and found["agent_id"] == agent_id else None

    def count_attempt(*, conn, flow, account, window_seconds):
        tables["attempts"] += 1
        return tables["attempts"], 42

    for name, fn in {
        "get_agent_by_sub": by_sub, "get_agent": by_id, "update_profile": update_profile,
        "change_status": change_status, "get_document": document,
        "set_commission_rate": lambda *, conn, agent_id, commission_rate: None,
        "count_account_attempt": count_attempt,
        "refund_account_attempt": lambda **kwargs: None,
        "mark_document_uploaded": lambda *, conn, document_id, s3_key: {
            **tables["documents"][document_id], "status": "uploaded", "s3_key": s3_key},
    }.items():
        monkeypatch.setattr(repository, name, fn)
    return tables


def add_agent(rows, status="active") -> dict:
    row = agent(ME, status)
    rows["agents"][ME] = row
    return row


def add_document(rows, owner: dict, *, status="pending", size=1000,
                 content_type="application/pdf") -> dict:
    document_id = uuid.uuid4()
    row = {"id": document_id, "agent_id": owner["id"], "status": status, "size_bytes": size,
           "content_type": content_type, "file_name": "licence.pdf",
           "s3_key": f"agents/{ME}/documents/{document_id}/licence.pdf"}
    rows["documents"][document_id] = row
    return row


def raised(call) -> tuple[int, str]:
    with pytest.raises(APIError) as error:
        call()
    return refusal(error.value)


def test_a_token_without_an_agent_profile_is_404_agent_profile_not_found(rows):
    assert raised(lambda: profiles.describe_agent(pool=FakePool(), identity=agent_token())) == (
        404, "agent_profile_not_found")
    assert raised(lambda: profiles.update_profile(pool=FakePool(), identity=agent_token(),
                                                  changes={"phone": "+351"})) == (
        404, "agent_profile_not_found")


def test_an_unknown_agent_is_404_agent_not_found_for_administrators(rows):
    unknown = uuid.uuid4()
    assert raised(lambda: administration.get_agent(pool=FakePool(), agent_id=unknown)) == (
        404, "agent_not_found")
    assert raised(lambda: administration.set_commission_rate(
        pool=FakePool(), agent_id=unknown, commission_rate=Decimal("0.2"))) == (
        404, "agent_not_found")
    assert raised(lambda: documents.agent_documents(pool=FakePool(), agent_id=unknown)) == (
        404, "agent_not_found")


@pytest.mark.parametrize(("status", "action", "needed"), [
    ("active", "approve", "pending"), ("pending", "suspend", "active"),
    ("active", "reactivate", "suspended")])
def test_a_status_change_from_the_wrong_status_is_409_naming_both(rows, status, action, needed):
    row = add_agent(rows, status)
    with pytest.raises(APIError) as error:
        administration.change_status(pool=FakePool(), admin=agent_token("admin"),
                                     agent_id=row["id"], action=action)
    assert refusal(error.value) == (409, "invalid_status_transition")
    assert error.value.details == [{"current_status": status, "required_status": needed}]


def test_someone_elses_or_an_unknown_document_is_404_document_not_found(rows):
    me = add_agent(rows)
    theirs = add_document(rows, agent("sub-other", "active"))
    for document_id in (theirs["id"], uuid.uuid4()):
        assert raised(lambda document_id=document_id: documents.download_link(
            pool=FakePool(), store=FakeStore(), identity=agent_token(),
            document_id=document_id)) == (404, "document_not_found")
    assert me["status"] == "active"


def test_a_document_is_downloaded_only_once_its_file_was_uploaded_and_checked(rows):
    pending = add_document(rows, add_agent(rows))
    assert raised(lambda: documents.download_link(
        pool=FakePool(), store=FakeStore(), identity=agent_token(),
        document_id=pending["id"])) == (409, "document_not_uploaded")


def test_confirming_before_any_upload_is_409_document_not_uploaded(rows):
    pending = add_document(rows, add_agent(rows))
    assert raised(lambda: documents.confirm_upload(
        pool=FakePool(), store=FakeStore(), identity=agent_token(),
        document_id=pending["id"])) == (409, "document_not_uploaded")


def test_a_file_that_is_not_the_one_announced_is_422_upload_mismatch_and_removed(rows):
    pending = add_document(rows, add_agent(rows), size=1000)
    store = FakeStore({pending["s3_key"]: (999, "application/pdf", b"MZ\x90\x00")})
    with pytest.raises(APIError) as error:
        documents.confirm_upload(pool=FakePool(), store=store, identity=agent_token(),
                                 document_id=pending["id"])
    assert refusal(error.value) == (422, "upload_mismatch")
    assert {d["field"] for d in error.value.details} == {"size", "content"}
    assert store.objects == {}        # neither the upload nor its checked copy is kept


def test_the_announced_file_is_checked_and_kept_under_a_key_no_form_writes(rows):
    pending = add_document(rows, add_agent(rows), size=8)
    store = FakeStore({pending["s3_key"]: (8, "application/pdf", b"%PDF-1.7")})
    checked = documents.confirm_upload(pool=FakePool(), store=store, identity=agent_token(),
                                       document_id=pending["id"])
    assert checked["status"] == "uploaded"
    assert list(store.objects) == [f"agents/{ME}/checked/{pending['id']}/licence.pdf"]


def test_an_account_past_its_attempts_is_429_with_retry_after(rows):
    limit = AttemptLimit(attempts=1, window_seconds=60, all_addresses=5)

    def attempt():
        with accounts.counted_attempt(pool=FakePool(), limit=limit, flow="signup",
                                      account="New@Example.com", address="192.0.2.1"):
            pass

    attempt()
    with pytest.raises(APIError) as error:
        attempt()
    assert refusal(error.value) == (429, "too_many_requests")
    assert error.value.headers["Retry-After"] == "42"


def test_booking_service_learns_what_the_rules_allow(rows, monkeypatch):
    monkeypatch.setattr(repository, "find_agents_by_subs",
                        lambda *, conn, cognito_subs: [agent(ME, "active"),
                                                       agent("p", "pending")])
    assert [e["sub"] for e in lookup.lookup_agents(
        pool=FakePool(), identity=operator_token(), subs=[ME, "p"])["data"]] == [ME]
