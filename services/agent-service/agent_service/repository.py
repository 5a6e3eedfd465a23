"""SQL of agent-service (RDS `travel_agent_db`)."""
from __future__ import annotations

from psycopg import sql

from travel_platform import rate_limits

_AGENT_COLUMNS = """id, cognito_sub, email, agency_name, phone, country, status, commission_rate,
                    status_changed_at, status_changed_by, created_at, updated_at"""
_DOCUMENT_COLUMNS = """id, agent_id, s3_key, file_name, content_type, size_bytes, kind, status,
                       uploaded_at, created_at, updated_at"""
# Columns an agent may change on their own profile.
_PROFILE_COLUMNS = frozenset({"agency_name", "phone", "country"})
# First key of the two-key advisory locks taken by sign-up (any constant of our own).
_SIGN_UP_LOCK_SPACE = 7_201_126


def lock_sign_up(*, conn, email: str) -> None:
    """Serialise sign-ups of one e-mail address until the end of the transaction."""
    conn.execute("select pg_advisory_xact_lock(%s, hashtext(lower(%s)))",
                 (_SIGN_UP_LOCK_SPACE, email))


def count_account_attempt(*, conn, flow: str, account: bytes,
                          window_seconds: int) -> tuple[int, int]:
    """Count one attempt at `flow` by `account` (a digest) in the current window:
    (attempts in the window so far, seconds until it ends)."""
    return rate_limits.count_attempt(conn=conn, table="account_attempts", bucket=flow,
                                     key=account, window_seconds=window_seconds)


def refund_account_attempt(*, conn, flow: str, account: bytes, window_seconds: int) -> None:
    """Take back an attempt counted by count_account_attempt (it succeeded)."""
    rate_limits.refund_attempt(conn=conn, table="account_attempts", bucket=flow, key=account,
                               window_seconds=window_seconds)


def insert_agent(*, conn, cognito_sub: str, email: str, agency_name: str, country: str,
                 phone: str | None) -> dict:
    """A new travel agent, pending approval."""
    return conn.execute(
        f"""insert into travel_agents (cognito_sub, email, agency_name, country, phone)
            values (%s, %s, %s, %s, %s) returning {_AGENT_COLUMNS}""",
        (cognito_sub, email, agency_name, country, phone)).fetchone()


def restart_agent(*, conn, agent_id, cognito_sub: str, agency_name: str, country: str,
                  phone: str | None) -> dict:
    """Give an agent row to a new sign-up of its address: new sub and profile, and pending
    again with the default commission, as if just inserted."""
    return conn.execute(
        f"""update travel_agents
               set cognito_sub = %s, agency_name = %s, country = %s, phone = %s,
                   status = 'pending', commission_rate = default, status_changed_at = null,
                   status_changed_by = null, created_at = now()
             where id = %s returning {_AGENT_COLUMNS}""",
        (cognito_sub, agency_name, country, phone, agent_id)).fetchone()


def get_agent_by_sub(*, conn, cognito_sub: str, for_update: bool = False) -> dict | None:
    """The travel agent row for a Cognito user, or None."""
    lock = " for update" if for_update else ""
    return conn.execute(
        f"select {_AGENT_COLUMNS} from travel_agents where cognito_sub = %s{lock}",
        (cognito_sub,)).fetchone()


def get_agent_by_email(*, conn, email: str) -> dict | None:
    """The travel agent with this e-mail address (any case), or None."""
    return conn.execute(
        f"select {_AGENT_COLUMNS} from travel_agents where lower(email) = lower(%s)",
        (email,)).fetchone()


def get_agent(*, conn, agent_id) -> dict | None:
    """One travel agent by id, or None."""
    return conn.execute(f"select {_AGENT_COLUMNS} from travel_agents where id = %s",
                        (agent_id,)).fetchone()


def update_profile(*, conn, cognito_sub: str, changes: dict) -> dict | None:
    """Change profile columns of an agent; returns the new row, None if there is none."""
    unknown = set(changes) - _PROFILE_COLUMNS
    if unknown or not changes:
        raise ValueError(f"not profile columns: {sorted(unknown) or 'none given'}")
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(column), sql.Placeholder(column))
        for column in sorted(changes))
    query = sql.SQL("update travel_agents set {} where cognito_sub = {} returning {}").format(
        assignments, sql.Placeholder("cognito_sub"), sql.SQL(_AGENT_COLUMNS))
    return conn.execute(query, {**changes, "cognito_sub": cognito_sub}).fetchone()


def list_agents(*, conn, status: str | None, limit: int, offset: int) -> tuple[list[dict], int]:
    """A page of agents, optionally of one status, oldest first (the order they wait for
    review), and how many match in all."""
    params = {"status": status, "limit": limit, "offset": offset}
    where = "%(status)s::text is null or status = %(status)s"
    rows = conn.execute(
        f"""select {_AGENT_COLUMNS}, count(*) over () as total from travel_agents
             where {where}
             order by created_at, id limit %(limit)s offset %(offset)s""", params).fetchall()
    # A page past the end has no row to carry the count.
    total = rows[0]["total"] if rows else conn.execute(
        f"select count(*) as total from travel_agents where {where}", params).fetchone()["total"]
    for row in rows:
        row.pop("total")
    return rows, total


def change_status(*, conn, agent_id, from_status: str, to_status: str,
                  changed_by: str) -> dict | None:
    """Move an agent from one status to another; None unless it was in `from_status`."""
    return conn.execute(
        f"""update travel_agents
               set status = %s, status_changed_at = now(), status_changed_by = %s
             where id = %s and status = %s returning {_AGENT_COLUMNS}""",
        (to_status, changed_by, agent_id, from_status)).fetchone()


def set_commission_rate(*, conn, agent_id, commission_rate) -> dict | None:
    """Set an agent's commission rate; None if there is no such agent."""
    return conn.execute(
        f"""update travel_agents set commission_rate = %s where id = %s
            returning {_AGENT_COLUMNS}""",
        (commission_rate, agent_id)).fetchone()


def find_agents_by_subs(*, conn, cognito_subs: list[str]) -> list[dict]:
    """Status, agency and commission of the agents among these Cognito subs."""
    return conn.execute(
        """select cognito_sub, agency_name, status, commission_rate from travel_agents
            where cognito_sub = any(%s) order by cognito_sub""",
        (cognito_subs,)).fetchall()


def count_documents(*, conn, agent_id) -> int:
    """How many documents an agent has, uploaded or not."""
    return conn.execute("select count(*) as n from agent_documents where agent_id = %s",
                        (agent_id,)).fetchone()["n"]


def insert_document(*, conn, document_id, agent_id, s3_key: str, file_name: str,
                    content_type: str, size_bytes: int, kind: str) -> dict:
    """A document whose file is yet to be uploaded."""
    return conn.execute(
        f"""insert into agent_documents
              (id, agent_id, s3_key, file_name, content_type, size_bytes, kind)
            values (%s, %s, %s, %s, %s, %s, %s) returning {_DOCUMENT_COLUMNS}""",
        (document_id, agent_id, s3_key, file_name, content_type, size_bytes, kind)).fetchone()


def list_documents(*, conn, agent_id) -> list[dict]:
    """An agent's documents, newest first."""
    return conn.execute(
        f"""select {_DOCUMENT_COLUMNS} from agent_documents where agent_id = %s
             order by created_at desc, id""",
        (agent_id,)).fetchall()


def get_document(*, conn, agent_id, document_id) -> dict | None:
    """One document of one agent, or None (also when it belongs to someone else)."""
    return conn.execute(
        f"select {_DOCUMENT_COLUMNS} from agent_documents where id = %s and agent_id = %s",
        (document_id, agent_id)).fetchone()


def mark_document_uploaded(*, conn, document_id, s3_key: str) -> dict:
    """Record that a document's file arrived and was checked, and the key of the checked
    copy that downloads serve."""
    return conn.execute(
        f"""update agent_documents set status = 'uploaded', uploaded_at = now(), s3_key = %s
             where id = %s returning {_DOCUMENT_COLUMNS}""",
        (s3_key, document_id)).fetchone()


def delete_document(*, conn, document_id) -> None:
    """Remove a document's row."""
    conn.execute("delete from agent_documents where id = %s", (document_id,))
