"""SQL against GoTrue's tables in schema auth (see devstack/supabase/bootstrap.sql).

Every function takes an open connection and leaves the transaction to the caller.
Connections use psycopg's dict_row, so rows come back as dicts.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from psycopg import Connection, sql
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

# The app's pool returns rows as dicts (see auth_standin.create_app).
Conn = Connection[DictRow]
DictPool = ConnectionPool[Conn]


def _one(row: DictRow | None) -> DictRow:
    """The row of a statement that always returns one (an insert or update ... returning)."""
    if row is None:
        raise LookupError("the statement returned no row")
    return row

INSTANCE_ID = uuid.UUID(int=0)   # GoTrue's single-tenant instance id
USER_COLUMNS = """id, aud, role, email, encrypted_password, email_confirmed_at, phone,
  phone_confirmed_at, confirmed_at, last_sign_in_at, raw_app_meta_data, raw_user_meta_data,
  created_at, updated_at, banned_until, deleted_at, is_anonymous, is_sso_user,
  confirmation_token, confirmation_sent_at, recovery_token, recovery_sent_at,
  (select coalesce(jsonb_agg(jsonb_build_object(
             'id', f.id, 'friendly_name', f.friendly_name, 'factor_type', f.factor_type,
             'status', f.status, 'created_at', f.created_at, 'updated_at', f.updated_at)
           order by f.created_at), '[]'::jsonb)
     from auth.mfa_factors f where f.user_id = users.id) as factors"""
# What admin updates may set, so that column names never come from a request.
UPDATABLE_USER_COLUMNS = frozenset({
    "email", "phone", "encrypted_password", "email_confirmed_at", "phone_confirmed_at", "role",
    "raw_app_meta_data", "raw_user_meta_data", "banned_until", "confirmation_token",
    "confirmation_sent_at", "recovery_token", "recovery_sent_at"})


def find_user_by_email(*, conn: Conn, email: str) -> dict[str, Any] | None:
    """The password-capable (non-SSO) user with this email, any case."""
    return conn.execute(
        f"select {USER_COLUMNS} from auth.users"
        " where lower(email) = lower(%s) and is_sso_user = false", (email,)).fetchone()


def find_user_by_id(*, conn: Conn, user_id: uuid.UUID) -> dict[str, Any] | None:
    """The user with this id."""
    return conn.execute(f"select {USER_COLUMNS} from auth.users where id = %s",
                        (user_id,)).fetchone()


def create_user(*, conn: Conn, user_id: uuid.UUID, email: str | None, phone: str | None,
                encrypted_password: str, email_confirmed: bool, phone_confirmed: bool, role: str,
                app_metadata: dict[str, Any], user_metadata: dict[str, Any],
                banned_until: datetime | None = None) -> dict[str, Any]:
    """Insert a user; psycopg.errors.UniqueViolation if the id, email or phone is taken."""
    return _one(conn.execute(
        f"""insert into auth.users (instance_id, id, aud, role, email, encrypted_password,
              email_confirmed_at, phone, phone_confirmed_at, raw_app_meta_data,
              raw_user_meta_data, is_super_admin, created_at, updated_at, banned_until)
            values (%(instance)s, %(id)s, 'authenticated', %(role)s, %(email)s, %(password)s,
              case when %(email_confirmed)s then now() end, %(phone)s,
              case when %(phone_confirmed)s then now() end, %(app)s, %(user)s, false,
              now(), now(), %(banned_until)s)
            returning {USER_COLUMNS}""",
        {"instance": INSTANCE_ID, "id": user_id, "role": role, "email": email,
         "password": encrypted_password, "email_confirmed": email_confirmed, "phone": phone,
         "phone_confirmed": phone_confirmed, "app": Jsonb(app_metadata),
         "user": Jsonb(user_metadata), "banned_until": banned_until}).fetchone())


def update_user(*, conn: Conn, user_id: uuid.UUID,
                changes: dict[str, Any]) -> dict[str, Any] | None:
    """Set the given columns (names from UPDATABLE_USER_COLUMNS); None if no such user."""
    unknown = set(changes) - UPDATABLE_USER_COLUMNS
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    assignments: list[sql.Composable] = [
        sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder(name)) for name in changes]
    assignments.append(sql.SQL("updated_at = now()"))
    values = {name: Jsonb(value) if isinstance(value, dict) else value
              for name, value in changes.items()}
    query = sql.SQL("update auth.users set {} where id = {} returning {}").format(
        sql.SQL(", ").join(assignments), sql.Placeholder("user_id"), sql.SQL(USER_COLUMNS))
    return conn.execute(query, {**values, "user_id": user_id}).fetchone()


def record_sign_in(*, conn: Conn, user_id: uuid.UUID) -> dict[str, Any]:
    """Stamp last_sign_in_at and return the updated user."""
    return _one(conn.execute(
        f"update auth.users set last_sign_in_at = now(), updated_at = now() where id = %s"
        f" returning {USER_COLUMNS}", (user_id,)).fetchone())


def list_users(*, conn: Conn, limit: int, offset: int,
               contains: str | None = None) -> tuple[list[dict[str, Any]], int]:
    """One page of users, newest first, and the total count; with `contains`, only those
    whose e-mail contains it (GoTrue's `filter`)."""
    where, params = ("where email ilike %s", ["%" + contains + "%"]) if contains else ("", [])
    total = _one(conn.execute(f"select count(*) as n from auth.users {where}",
                              params).fetchone())["n"]
    rows = conn.execute(
        f"select {USER_COLUMNS} from auth.users {where} order by created_at desc, id"
        " limit %s offset %s", (*params, limit, offset)).fetchall()
    return rows, total


def delete_user(*, conn: Conn, user_id: uuid.UUID) -> bool:
    """Delete a user with their sessions and refresh tokens; False if no such user."""
    return conn.execute("delete from auth.users where id = %s", (user_id,)).rowcount == 1


def soft_delete_user(*, conn: Conn, user_id: uuid.UUID) -> bool:
    """Mark a user deleted as GoTrue does: no credentials, no sessions, email freed."""
    deleted = conn.execute(
        """update auth.users set deleted_at = now(), updated_at = now(), email = null,
             phone = null, encrypted_password = '' where id = %s and deleted_at is null""",
        (user_id,)).rowcount == 1
    conn.execute("delete from auth.sessions where user_id = %s", (user_id,))
    return deleted


def create_session(*, conn: Conn, user_id: uuid.UUID) -> dict[str, Any]:
    """Start a session (aal1) for a user."""
    return _one(conn.execute(
        """insert into auth.sessions (id, user_id, created_at, updated_at, aal)
           values (%s, %s, now(), now(), 'aal1') returning id, user_id, created_at, not_after""",
        (uuid.uuid4(), user_id)).fetchone())


def find_session(*, conn: Conn, session_id: uuid.UUID) -> dict[str, Any] | None:
    """The session with this id."""
    return conn.execute(
        "select id, user_id, created_at, not_after from auth.sessions where id = %s",
        (session_id,)).fetchone()


def touch_session(*, conn: Conn, session_id: uuid.UUID) -> None:
    """Record that the session was just refreshed."""
    conn.execute("update auth.sessions set updated_at = now() where id = %s", (session_id,))


def delete_sessions(*, conn: Conn, user_id: uuid.UUID, session_id: uuid.UUID,
                    scope: str) -> None:
    """Sign out: this session ("local"), all the user's ("global"), or all but this ("others")."""
    # Refresh tokens go with their session (on delete cascade).
    if scope == "local":
        conn.execute("delete from auth.sessions where id = %s", (session_id,))
    elif scope == "global":
        conn.execute("delete from auth.sessions where user_id = %s", (user_id,))
    elif scope == "others":
        conn.execute("delete from auth.sessions where user_id = %s and id <> %s",
                     (user_id, session_id))
    else:
        raise ValueError(f"unknown scope {scope!r}")


def insert_refresh_token(*, conn: Conn, token: str, user_id: uuid.UUID,
                         session_id: uuid.UUID, parent: str | None = None) -> None:
    """Store a new, unrevoked refresh token of a session."""
    conn.execute(
        """insert into auth.refresh_tokens
             (instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id)
           values (%s, %s, %s, false, now(), now(), %s, %s)""",
        (INSTANCE_ID, token, str(user_id), parent, session_id))


def lock_refresh_token(*, conn: Conn, token: str) -> dict[str, Any] | None:
    """The refresh token row with its session, locked until the transaction ends."""
    # FOR UPDATE makes a concurrent refresh of the same token wait, then see it revoked.
    return conn.execute(
        """select rt.id, rt.token, rt.revoked, rt.updated_at, rt.session_id, s.user_id,
                  s.created_at as session_created_at, s.not_after
             from auth.refresh_tokens rt join auth.sessions s on s.id = rt.session_id
            where rt.token = %s
              for update of rt""", (token,)).fetchone()


def active_refresh_token(*, conn: Conn, session_id: uuid.UUID) -> dict[str, Any] | None:
    """The session's newest unrevoked refresh token (token, parent), or None."""
    return conn.execute(
        """select token, parent from auth.refresh_tokens
            where session_id = %s and not revoked order by id desc limit 1""",
        (session_id,)).fetchone()


def revoke_refresh_token(*, conn: Conn, token_id: int) -> None:
    """Mark one refresh token used."""
    conn.execute("update auth.refresh_tokens set revoked = true, updated_at = now()"
                 " where id = %s", (token_id,))


def revoke_session_refresh_tokens(*, conn: Conn, session_id: uuid.UUID) -> None:
    """Revoke every refresh token of a session (GoTrue's answer to a reused token)."""
    conn.execute("update auth.refresh_tokens set revoked = true, updated_at = now()"
                 " where session_id = %s and not revoked", (session_id,))
