"""SQL of operator-service, run as the caller so Supabase's row-level security applies."""
from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Iterator

from shared.auth import Identity


@contextmanager
def as_caller(*, pool, identity: Identity) -> Iterator:
    """A transaction running as `authenticated` with the operator's claims (as PostgREST
    does for supabase-js), or as `anon` for anyone else, so RLS policies decide."""
    if identity.source == "supabase":
        role, claims = "authenticated", identity.claims
    else:
        role, claims = "anon", {"role": "anon"}
    with pool.connection() as conn, conn.transaction():
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        conn.execute(f"set local role {role}")
        yield conn


def get_operator(*, conn, user_id: str) -> dict | None:
    """The operator profile row of a Supabase user, or None."""
    return conn.execute(
        "select id, company_name, contact_email, created_at, updated_at from users where id = %s",
        (user_id,)).fetchone()


_PACKAGE_COLUMNS = """id, operator_id, title, description, status, price_per_traveller,
                      currency, created_at, updated_at"""


def list_published_packages(*, conn, limit: int, offset: int) -> list[dict]:
    """Published packages, newest first."""
    return conn.execute(
        f"""select {_PACKAGE_COLUMNS} from multi_city_hotel_packages
             where status = 'published' order by created_at desc, id limit %s offset %s""",
        (limit, offset)).fetchall()


def get_package(*, conn, package_id) -> dict | None:
    """One package, if row-level security lets the caller see it."""
    return conn.execute(
        f"select {_PACKAGE_COLUMNS} from multi_city_hotel_packages where id = %s",
        (package_id,)).fetchone()
