"""Operators as administrators see and change them: profiles with the e-mails they
sign in with, and approval, suspension, reactivation."""
from __future__ import annotations

from operator_service import repository
from operator_service.datasource import RDS, SUPABASE, USERS, DataSources
from travel_platform.accounts import TRANSITIONS
from travel_platform.api import page
from travel_platform.auth import Identity
from travel_platform.errors import InvalidTransition, NotFound


def list_operators(*, data: DataSources, identity: Identity, status: str | None, limit: int,
                   offset: int) -> dict:
    """A page of operators' profiles (of one status), oldest first, each with the e-mail
    addresses the operator signs in with."""
    def query(conn) -> dict:
        total = repository.count_operators(conn=conn, status=status)
        rows = repository.list_operators(conn=conn, status=status, limit=limit, offset=offset)
        return page(rows, total=total, limit=limit, offset=offset)

    found = data.read(identity=identity, tables=[USERS], query=query, own=True)
    found["data"] = _with_sign_ins(data, identity, found["data"])
    return found


def get_operator(*, data: DataSources, identity: Identity, operator_id) -> dict:
    """One operator's profile, with the e-mail addresses they sign in with."""
    found = data.read(identity=identity, tables=[USERS], own=True,
                      query=lambda conn: repository.get_operator(conn=conn, user_id=operator_id))
    if found is None:
        raise NotFound("no such tour operator", code="operator_not_found")
    return _with_sign_ins(data, identity, [found])[0]


def _with_sign_ins(data: DataSources, identity: Identity, rows: list[dict]) -> list[dict]:
    """Each profile with `sign_ins`: the address of each account the operator signs in
    with, as its issuer holds it (Supabase Auth's account; the operators' Cognito pool's
    user, once linked), beside the `contact_email` the operator typed. An administrator
    approves on these: the contact e-mail proves nothing, anyone can type any address."""
    ids = [row["id"] for row in rows]
    if not ids:
        return rows
    supabase = (data.read_on(SUPABASE, identity=identity, query=lambda conn:
                             repository.supabase_sign_in_emails(conn=conn, user_ids=ids))
                if data.holds(SUPABASE) else {})
    cognito = (data.read_on(RDS, identity=identity, query=lambda conn:
                            repository.cognito_sign_in_emails(conn=conn, user_ids=ids))
               if data.holds(RDS) else {})
    for row in rows:
        key, sign_ins = str(row["id"]), []
        if key in supabase:
            sign_ins.append({"issuer": "supabase", "email": supabase[key]["email"],
                             "confirmed": supabase[key]["confirmed"]})
        if key in cognito:
            # Linked at a sign-in Supabase Auth vouched for, or imported from its accounts.
            sign_ins.append({"issuer": "cognito", "email": cognito[key], "confirmed": True})
        row["sign_ins"] = sign_ins
    return rows


def change_operator_status(*, data: DataSources, identity: Identity, operator_id,
                           action: str) -> dict:
    """approve (pending -> active), suspend (active -> suspended), reactivate (suspended ->
    active); 409 with the current status when the operator is not where `action` starts."""
    needed, target = TRANSITIONS[action]
    with data.transaction(identity=identity, tables=[USERS]) as conn:
        changed = repository.change_operator_status(conn=conn, user_id=operator_id,
                                                    from_status=needed, to_status=target,
                                                    changed_by=identity.subject)
        current = (repository.get_operator(conn=conn, user_id=operator_id)
                   if changed is None else None)
    if changed is not None:
        return _with_sign_ins(data, identity, [changed])[0]
    if current is None:
        raise NotFound("no such tour operator", code="operator_not_found")
    raise InvalidTransition(f"cannot {action} an operator who is {current['status']}: needs "
                            f"{needed}", current_status=current["status"],
                            required_status=needed)
