"""The local Supabase Auth stand-in (devstack/supabase/auth_standin), driven with the real
supabase-py client and with plain HTTP, on a database prepared by devstack/supabase/bootstrap.sql.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import jwt
import psycopg
import pytest
import requests
from jwt.utils import base64url_encode
from psycopg.conninfo import make_conninfo
from supabase_auth.errors import AuthApiError, AuthWeakPasswordError
from supabase_auth.types import AuthResponse, Session, User

from supabase import Client, create_client

REPO = Path(__file__).resolve().parents[2]
LOCAL = REPO / "devstack" / "supabase"
# Its one import name, as devstack and docker-compose.yml run it.
STANDIN = "devstack.supabase.auth_standin"
PG_BIN = Path(os.environ.get("AUTH_STANDIN_PG_BIN", "/usr/lib/postgresql/15/bin"))
# Shorter than Supabase's 10 s, so a test can outwait it.
REUSE_INTERVAL = 3

pytestmark = pytest.mark.skipif(
    not (PG_BIN / "initdb").exists(),
    reason=f"needs the PostgreSQL 15 server binaries ({PG_BIN / 'initdb'} is missing)")


# --- Throwaway PostgreSQL ---------------------------------------------------------------------
# Self-contained on purpose: to run against the shared stack instead, replace this block with a
# session fixture `auth_db_url` yielding a superuser URL of a database where bootstrap.sql ran
# (and drop the skipif above). Nothing below this block starts or stops PostgreSQL.

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(command: list[str | Path]) -> list[str]:
    # initdb and pg_ctl refuse to run as root.
    argv = [str(part) for part in command]
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def apply_sql_file(db_url: str, path: Path) -> None:
    """Run a SQL file with psql, stopping at the first error, as a person would."""
    subprocess.run([str(PG_BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db_url,
                    "-f", str(path)], check=True, capture_output=True, text=True)


def _catalog_snapshot(db_url: str) -> list[tuple]:
    with psycopg.connect(db_url) as conn:
        return conn.execute("""
            select 'role', rolname || ':' || rolcanlogin || rolinherit || rolbypassrls
              from pg_roles where rolname in ('anon', 'authenticated', 'service_role',
                                              'authenticator', 'supabase_auth_admin')
            union all select 'member', r.rolname || '>' || m.rolname
              from pg_auth_members am join pg_roles r on r.oid = am.roleid
              join pg_roles m on m.oid = am.member where m.rolname = 'authenticator'
            union all select 'class', oid::regclass::text || ':' || relacl::text
              from pg_class where relnamespace in ('auth'::regnamespace, 'extensions'::regnamespace)
            union all select 'proc', oid::regprocedure::text || ':' || coalesce(proacl::text, '')
              from pg_proc where pronamespace = 'auth'::regnamespace
            union all select 'default_acl', defaclobjtype::text || ':' || defaclacl::text
              from pg_default_acl
            union all select 'schema', nspname || ':' || nspacl::text
              from pg_namespace where nspname in ('auth', 'extensions', 'public')
            union all select 'extension', extname || ':' || extnamespace::regnamespace::text
              from pg_extension
            order by 1, 2""").fetchall()


@pytest.fixture(scope="session")
def auth_db_url() -> Iterator[str]:
    """A fresh PostgreSQL 15 with bootstrap.sql applied twice (the second run must be a no-op)."""
    base = Path(tempfile.mkdtemp(prefix="auth-standin-pg-"))
    password = secrets.token_urlsafe(16)
    (base / "pwfile").write_text(password + "\n")
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(base / "pwfile", "postgres")
    port = int(os.environ.get("AUTH_STANDIN_PG_PORT") or _free_port())
    subprocess.run(_as_postgres([PG_BIN / "initdb", "-D", base / "data", "-U", "postgres",
                                 "--pwfile", base / "pwfile", "--auth", "scram-sha-256",
                                 "-E", "UTF8", "--no-sync"]), check=True, capture_output=True)
    subprocess.run(_as_postgres([PG_BIN / "pg_ctl", "-D", base / "data", "-l", base / "server.log",
                                 "-w", "-t", "60", "-o",
                                 f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off",
                                 "start"]), check=True, capture_output=True)
    db_url = f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"
    try:
        apply_sql_file(db_url, LOCAL / "bootstrap.sql")
        first = _catalog_snapshot(db_url)
        apply_sql_file(db_url, LOCAL / "bootstrap.sql")
        assert _catalog_snapshot(db_url) == first, "a second bootstrap.sql run changed the catalog"
        yield db_url
    finally:
        subprocess.run(_as_postgres([PG_BIN / "pg_ctl", "-D", base / "data", "-m", "immediate",
                                     "-w", "stop"]), capture_output=True)
        shutil.rmtree(base, ignore_errors=True)

# --- End of the throwaway PostgreSQL ---------------------------------------------------------


@dataclass(frozen=True)
class Standin:
    url: str
    anon_key: str
    service_key: str
    secret: str
    db_url: str

    @property
    def auth(self) -> str:
        """Base URL of the auth API."""
        return f"{self.url}/auth/v1"

    def headers(self, key: str | None = None, bearer: str | None = None) -> dict[str, str]:
        """Headers like supabase-py's: apikey, bearer, and the 2024-01-01 API version."""
        key = key or self.anon_key
        return {"apikey": key, "Authorization": f"Bearer {bearer or key}",
                "X-Supabase-Api-Version": "2024-01-01"}


def _run_module(*args: str, env: dict[str, str] | None = None) -> str:
    """`python -m ARGS` from the repository's root, where devstack and gunicorn run it."""
    result = subprocess.run([sys.executable, "-m", *args], cwd=REPO, env=env, check=True,
                            capture_output=True, text=True)
    return result.stdout


def _standin_cli(*args: str, env: dict[str, str] | None = None) -> str:
    return _run_module(STANDIN, *args, env=env)


def _gunicorn(port: int, workers: int) -> list[str]:
    """The stand-in under gunicorn, as devstack and docker-compose.yml start it: by its one
    import name, from the repository's root (the caller's cwd, which gunicorn puts on the
    path as python -m does)."""
    command = [sys.executable, "-m", "gunicorn",
               "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", "4"]
    if "--no-control-socket" in _run_module("gunicorn", "--help"):
        # gunicorn 27+ opens a control socket at one fixed path per user: two would collide.
        command.append("--no-control-socket")
    return [*command, f"{STANDIN}:create_app()"]


@pytest.fixture(scope="session")
def standin(auth_db_url: str) -> Iterator[Standin]:
    """The stand-in under gunicorn, exactly as deployed, configured only by the environment."""
    workdir = Path(tempfile.mkdtemp(prefix="auth-standin-"))
    key_file = workdir / "signing-key.pem"
    secret = secrets.token_urlsafe(48)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SUPABASE_URL": url, "SUPABASE_JWT_SECRET": secret,
           "AUTH_DB_URL": auth_db_url, "AUTH_SIGNING_KEY_FILE": str(key_file),
           "AUTH_REFRESH_TOKEN_REUSE_INTERVAL": str(REUSE_INTERVAL)}
    _standin_cli("signing-key", str(key_file))
    api_keys = dict(line.split("=", 1) for line in _standin_cli("api-keys", env=env).split())
    log = (workdir / "gunicorn.log").open("w")
    process = subprocess.Popen(_gunicorn(port, workers=2), cwd=REPO, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited: {(workdir / 'gunicorn.log').read_text()}")
            try:
                if requests.get(f"{url}/auth/v1/health", timeout=5).ok:
                    break
            except (requests.ConnectionError, requests.Timeout):
                # Not listening yet, or listening but a worker still booting (slow under
                # load): both mean "not ready yet", only the deadline means "failed".
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"stand-in did not start: {(workdir / 'gunicorn.log').read_text()}")
            time.sleep(0.1)
        yield Standin(url=url, anon_key=api_keys["SUPABASE_ANON_KEY"],
                      service_key=api_keys["SUPABASE_SERVICE_ROLE_KEY"], secret=secret,
                      db_url=auth_db_url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def admin(standin: Standin) -> Client:
    """A supabase client holding the service_role key."""
    return create_client(standin.url, standin.service_key)


@pytest.fixture
def client(standin: Standin) -> Client:
    """A supabase client holding the anon key, as a browser or app would."""
    return create_client(standin.url, standin.anon_key)


def _email() -> str:
    return f"operator-{uuid.uuid4().hex[:12]}@example.com"


@pytest.fixture
def user(admin: Client) -> dict[str, str]:
    """A confirmed user made through the admin API."""
    email, password = _email(), "correct horse battery"
    created = admin.auth.admin.create_user({"email": email, "password": password,
                                            "email_confirm": True,
                                            "user_metadata": {"company_name": "Nordic Tours"}})
    return {"id": created.user.id, "email": email, "password": password}


def _sign_in(client: Client, user: dict[str, str]) -> AuthResponse:
    return client.auth.sign_in_with_password({"email": user["email"],
                                              "password": user["password"]})


def _session(response: AuthResponse) -> Session:
    """The session a sign-in or refresh answered with (it must have)."""
    assert response.session is not None, "no session in the answer"
    return response.session


def _user(response: AuthResponse) -> User:
    """The user a sign-in or sign-up answered with (it must have)."""
    assert response.user is not None, "no user in the answer"
    return response.user


def _user_of_token(client: Client, token: str) -> User:
    """The user GoTrue's GET /user answers for `token` (it must know one)."""
    response = client.auth.get_user(token)
    assert response is not None and response.user is not None, "no user for the token"
    return response.user


def _value(conn: psycopg.Connection, query: str, params: tuple = ()) -> Any:
    """The one value of a query that must answer one row."""
    row = conn.execute(query, params).fetchone()
    assert row is not None, f"no row: {query}"
    return row[0]


# --- bootstrap.sql --------------------------------------------------------------------------

def test_bootstrap_makes_supabase_roles_and_auth_functions(auth_db_url: str) -> None:
    with psycopg.connect(auth_db_url) as conn:
        roles = {name: flags for name, *flags in conn.execute(
            "select rolname, rolcanlogin, rolinherit, rolbypassrls from pg_roles"
            " where rolname in ('anon', 'authenticated', 'service_role', 'authenticator',"
            " 'supabase_auth_admin')")}
        assert roles == {"anon": [False, False, False], "authenticated": [False, False, False],
                         "service_role": [False, False, True],
                         "authenticator": [False, False, False],
                         "supabase_auth_admin": [False, False, False]}
        members = _value(
            conn, "select array_agg(r.rolname::text order by r.rolname) from pg_auth_members am"
            " join pg_roles r on r.oid = am.roleid join pg_roles m on m.oid = am.member"
            " where m.rolname = 'authenticator'")
        assert members == ["anon", "authenticated", "service_role"]
        assert _value(conn, "select nspowner::regrole::text from pg_namespace"
                            " where nspname = 'auth'") == "supabase_auth_admin"
        sub = uuid.uuid4()
        conn.execute("select set_config('request.jwt.claims', %s, true)",
                     (f'{{"sub": "{sub}", "role": "authenticated", "email": "a@b.c"}}',))
        conn.execute("set local role authenticated")
        assert conn.execute("select auth.uid(), auth.role(), auth.email(), auth.jwt() ->> 'sub'"
                            ).fetchone() == (sub, "authenticated", "a@b.c", str(sub))
        conn.rollback()
        legacy = uuid.uuid4()   # PostgREST < 9 set one setting per claim
        conn.execute("select set_config('request.jwt.claim.sub', %s, true)", (str(legacy),))
        assert _value(conn, "select auth.uid()") == legacy
        conn.rollback()
        assert conn.execute("select auth.uid(), auth.jwt()").fetchone() == (None, None)


def test_bootstrap_default_privileges_leave_rows_to_rls(auth_db_url: str) -> None:
    with psycopg.connect(auth_db_url) as conn:
        conn.execute("create table public.standin_probe (id int)")
        granted = conn.execute(
            "select has_table_privilege(r, 'public.standin_probe', 'select, insert, delete')"
            " from unnest(array['anon', 'authenticated', 'service_role']) r").fetchall()
        assert granted == [(True,), (True,), (True,)]
        assert not _value(conn, "select has_table_privilege('anon', 'auth.users', 'select')")
        conn.rollback()


def test_migrations_apply_on_the_bootstrapped_database(auth_db_url: str) -> None:
    migrations = sorted((REPO / "supabase" / "migrations").glob("*.sql"))
    with psycopg.connect(auth_db_url) as conn:
        for path in migrations:   # in one transaction, rolled back: the database stays as it was
            conn.execute(path.read_text())
        conn.rollback()


# --- Gateway, health, JWKS -------------------------------------------------------------------

def test_health_and_jwks_need_no_api_key(standin: Standin) -> None:
    health = requests.get(f"{standin.auth}/health", timeout=5)
    assert health.status_code == 200 and health.json()["name"] == "GoTrue"
    jwks = requests.get(f"{standin.auth}/.well-known/jwks.json", timeout=5).json()
    [key] = jwks["keys"]
    assert {k: key[k] for k in ("kty", "crv", "alg", "use", "key_ops")} == {
        "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "key_ops": ["verify"]}
    assert "d" not in key
    joserfc = pytest.importorskip("joserfc.jwk")
    assert key["kid"] == joserfc.ECKey.import_key(key).thumbprint()   # RFC 7638


def test_api_key_is_required(standin: Standin) -> None:
    body = {"email": "a@example.com", "password": "whatever"}
    url = f"{standin.auth}/token?grant_type=password"
    missing = requests.post(url, json=body, timeout=5)
    assert missing.status_code == 401
    assert missing.json()["message"] == "No API key found in request"
    forged = jwt.encode({"role": "service_role", "iss": "supabase"}, "x" * 40, algorithm="HS256")
    for bad_key in (forged, "not-a-jwt"):
        response = requests.post(url, json=body, headers={"apikey": bad_key}, timeout=5)
        assert response.status_code == 401
        assert response.json()["message"] == "Invalid API key"


# --- Admin API -------------------------------------------------------------------------------

def test_admin_create_user_returns_gotrue_user(admin: Client) -> None:
    email = _email()
    created = admin.auth.admin.create_user({
        "email": email.upper(), "password": "s3cret-pass", "email_confirm": True,
        "user_metadata": {"company_name": "Fjord Travel"}, "app_metadata": {"tier": "gold"}})
    user = created.user
    assert user.email == email and user.aud == "authenticated" and user.role == "authenticated"
    assert user.email_confirmed_at is not None and user.confirmed_at is not None
    assert user.user_metadata == {"company_name": "Fjord Travel"}
    assert user.app_metadata == {"provider": "email", "providers": ["email"], "tier": "gold"}
    assert user.identities == [] and user.is_anonymous is False
    assert admin.auth.admin.get_user_by_id(user.id).user.email == email
    assert email in {u.email for u in admin.auth.admin.list_users(page=1, per_page=1000)}


def test_admin_create_user_stores_a_bcrypt_hash(admin: Client, standin: Standin) -> None:
    created = admin.auth.admin.create_user({"email": _email(), "password": "s3cret-pass"})
    with psycopg.connect(standin.db_url) as conn:
        hashed = _value(conn, "select encrypted_password from auth.users where id = %s",
                        (created.user.id,))
    assert hashed.startswith(("$2a$10$", "$2b$10$"))
    assert bcrypt.checkpw(b"s3cret-pass", hashed.encode())


def test_duplicate_email_is_422_email_exists(admin: Client, user: dict[str, str]) -> None:
    with pytest.raises(AuthApiError) as caught:
        admin.auth.admin.create_user({"email": user["email"].upper(), "password": "another-1"})
    assert (caught.value.status, caught.value.code) == (422, "email_exists")


def test_weak_password_and_bad_email_are_refused(admin: Client) -> None:
    with pytest.raises(AuthWeakPasswordError) as weak:
        admin.auth.admin.create_user({"email": _email(), "password": "12345"})
    assert (weak.value.status, weak.value.code, weak.value.reasons) == (
        422, "weak_password", ["length"])
    with pytest.raises(AuthApiError) as bad_email:
        admin.auth.admin.create_user({"email": "not an email", "password": "long-enough"})
    assert (bad_email.value.status, bad_email.value.code) == (400, "validation_failed")


def test_admin_endpoints_refuse_the_anon_key(client: Client, standin: Standin,
                                             user: dict[str, str]) -> None:
    with pytest.raises(AuthApiError) as listing:
        client.auth.admin.list_users()
    assert (listing.value.status, listing.value.code) == (403, "not_admin")
    with pytest.raises(AuthApiError) as creating:
        client.auth.admin.create_user({"email": _email(), "password": "long-enough"})
    assert (creating.value.status, creating.value.code) == (403, "not_admin")
    # A signed-in user's own token is no admin credential either.
    access_token = _session(_sign_in(client, user)).access_token
    as_user = requests.get(f"{standin.auth}/admin/users", timeout=5,
                           headers=standin.headers(bearer=access_token))
    assert as_user.status_code == 403 and as_user.json()["code"] == "not_admin"
    no_bearer = requests.get(f"{standin.auth}/admin/users", timeout=5,
                             headers={"apikey": standin.service_key})
    assert no_bearer.status_code == 401


def test_admin_list_users_pages(admin: Client, standin: Standin) -> None:
    for _ in range(3):
        admin.auth.admin.create_user({"email": _email(), "password": "long-enough"})
    response = requests.get(f"{standin.auth}/admin/users", params={"page": 1, "per_page": 2},
                            headers=standin.headers(standin.service_key), timeout=5)
    body = response.json()
    assert response.status_code == 200 and body["aud"] == "authenticated"
    assert len(body["users"]) == 2 and int(response.headers["X-Total-Count"]) >= 3
    second = admin.auth.admin.list_users(page=2, per_page=2)
    assert not {u["id"] for u in body["users"]} & {u.id for u in second}


def test_admin_delete_user_ends_their_sessions(admin: Client, client: Client,
                                               user: dict[str, str]) -> None:
    access_token = _session(_sign_in(client, user)).access_token
    admin.auth.admin.delete_user(user["id"])
    with pytest.raises(AuthApiError) as caught:
        client.auth.get_user(access_token)
    assert (caught.value.status, caught.value.code) == (403, "user_not_found")


# --- Sign-in, tokens -------------------------------------------------------------------------

def test_sign_in_returns_a_supabase_session(client: Client, standin: Standin,
                                            user: dict[str, str]) -> None:
    before = int(time.time())
    response = _sign_in(client, user)
    session = _session(response)
    assert session.token_type == "bearer" and session.expires_in == 3600
    assert session.expires_at is not None
    assert before + 3600 <= session.expires_at <= int(time.time()) + 3600
    assert session.refresh_token and _user(response).id == user["id"]
    assert _user(response).last_sign_in_at is not None
    current = client.auth.get_session()
    assert current is not None and current.access_token == session.access_token


def test_access_token_verifies_against_jwks_with_supabase_claims(
        client: Client, standin: Standin, user: dict[str, str]) -> None:
    token = _session(_sign_in(client, user)).access_token
    header = jwt.get_unverified_header(token)
    signing_key = jwt.PyJWKClient(f"{standin.auth}/.well-known/jwks.json").get_signing_key_from_jwt(
        token)
    claims = jwt.decode(token, signing_key.key, algorithms=["ES256"], audience="authenticated",
                        issuer=f"{standin.url}/auth/v1")
    assert header == {"alg": "ES256", "kid": signing_key.key_id, "typ": "JWT"}
    assert set(claims) == {"iss", "aud", "exp", "iat", "sub", "email", "phone", "app_metadata",
                           "user_metadata", "role", "aal", "amr", "session_id", "is_anonymous"}
    assert claims["sub"] == user["id"] and claims["email"] == user["email"]
    assert claims["role"] == "authenticated" and claims["aal"] == "aal1"
    assert claims["phone"] == "" and claims["is_anonymous"] is False
    assert claims["app_metadata"] == {"provider": "email", "providers": ["email"]}
    assert claims["user_metadata"] == {"company_name": "Nordic Tours"}
    assert claims["exp"] - claims["iat"] == 3600
    [amr] = claims["amr"]
    assert amr["method"] == "password" and abs(amr["timestamp"] - claims["iat"]) <= 5
    uuid.UUID(claims["session_id"])
    # The client's own verification (JWKS fetched through the apikey-guarded client) agrees.
    verified = client.auth.get_claims(token)
    assert verified is not None and verified["claims"]["sub"] == user["id"]


def test_wrong_password_and_unknown_email_get_the_same_error(
        client: Client, standin: Standin, user: dict[str, str]) -> None:
    errors = []
    for email in (user["email"], _email()):
        with pytest.raises(AuthApiError) as caught:
            client.auth.sign_in_with_password({"email": email, "password": "wrong password"})
        errors.append((caught.value.status, caught.value.code, caught.value.message))
    assert errors == [(400, "invalid_credentials", "Invalid login credentials")] * 2
    bodies = {requests.post(f"{standin.auth}/token?grant_type=password", timeout=5,
                            headers=standin.headers(),
                            json={"email": email, "password": "wrong password"}).text
              for email in (user["email"], _email())}
    assert len(bodies) == 1


def test_unconfirmed_email_cannot_sign_in(admin: Client, client: Client) -> None:
    email = _email()
    admin.auth.admin.create_user({"email": email, "password": "long-enough"})
    with pytest.raises(AuthApiError) as caught:
        client.auth.sign_in_with_password({"email": email, "password": "long-enough"})
    assert (caught.value.status, caught.value.code) == (400, "email_not_confirmed")
    with pytest.raises(AuthApiError) as wrong:   # no hint about the account without the password
        client.auth.sign_in_with_password({"email": email, "password": "wrong password"})
    assert wrong.value.code == "invalid_credentials"


def test_banned_user_cannot_sign_in_or_refresh(admin: Client, client: Client,
                                               user: dict[str, str]) -> None:
    refresh_token = _session(_sign_in(client, user)).refresh_token
    admin.auth.admin.update_user_by_id(user["id"], {"ban_duration": "24h"})
    with pytest.raises(AuthApiError) as sign_in:
        _sign_in(client, user)
    assert sign_in.value.code == "user_banned"
    with pytest.raises(AuthApiError) as refresh:
        client.auth.refresh_session(refresh_token)
    assert refresh.value.code == "user_banned"
    admin.auth.admin.update_user_by_id(user["id"], {"ban_duration": "none"})
    assert _sign_in(client, user).session is not None


def test_gotrue_style_2a_hashes_are_accepted(standin: Standin, client: Client) -> None:
    # Users seeded or imported from a real project carry GoTrue's (Go's) $2a$ hashes.
    email, user_id = _email(), uuid.uuid4()
    hashed = "$2a$" + bcrypt.hashpw(b"from-gotrue", bcrypt.gensalt(10)).decode()[4:]
    with psycopg.connect(standin.db_url) as conn:
        conn.execute("""insert into auth.users (instance_id, id, aud, role, email,
                          encrypted_password, email_confirmed_at, raw_app_meta_data,
                          raw_user_meta_data, created_at, updated_at)
                        values ('00000000-0000-0000-0000-000000000000', %s, 'authenticated',
                          'authenticated', %s, %s, now(), '{}', '{}', now(), now())""",
                     (user_id, email, hashed))
    response = client.auth.sign_in_with_password({"email": email, "password": "from-gotrue"})
    assert _user(response).id == str(user_id)


def test_get_user_returns_the_signed_in_user(client: Client, user: dict[str, str]) -> None:
    token = _session(_sign_in(client, user)).access_token
    fetched = _user_of_token(client, token)
    assert (fetched.id, fetched.email) == (user["id"], user["email"])
    assert fetched.user_metadata == {"company_name": "Nordic Tours"}


def test_get_user_refuses_tampered_and_foreign_tokens(client: Client, standin: Standin,
                                                      user: dict[str, str]) -> None:
    token = _session(_sign_in(client, user)).access_token
    claims = jwt.decode(token, options={"verify_signature": False})
    # Right claims, signed with the project secret but naming our key: must not pass (GoTrue
    # verifies a token naming a kid with that key only).
    kid = jwt.get_unverified_header(token)["kid"]
    hs256 = jwt.encode(claims, standin.secret, algorithm="HS256", headers={"kid": kid})
    header, _, signature = token.split(".")
    other_payload = base64url_encode(json.dumps({**claims, "sub": str(uuid.uuid4())}).encode())
    for bad in (hs256, f"{header}.{other_payload.decode()}.{signature}", standin.service_key):
        with pytest.raises(AuthApiError) as caught:
            client.auth.get_user(bad)
        assert (caught.value.status, caught.value.code) == (403, "bad_jwt")
    response = requests.get(f"{standin.auth}/user", headers={"apikey": standin.anon_key},
                            timeout=5)
    assert response.status_code == 401


def test_get_user_accepts_a_legacy_secret_token_of_a_live_session(
        client: Client, standin: Standin, user: dict[str, str]) -> None:
    # GoTrue keeps verifying HS256 tokens without a kid with the project's JWT secret
    # (projects that sign with it); the session and user must still exist, as for any token.
    token = _session(_sign_in(client, user)).access_token
    claims = jwt.decode(token, options={"verify_signature": False})
    legacy = jwt.encode(claims, standin.secret, algorithm="HS256")
    assert _user_of_token(client, legacy).id == user["id"]
    client.auth.admin.sign_out(token)
    with pytest.raises(AuthApiError) as caught:
        client.auth.get_user(legacy)
    assert (caught.value.status, caught.value.code) == (403, "session_not_found")


def _refresh(standin: Standin, refresh_token: str) -> requests.Response:
    return requests.post(f"{standin.auth}/token?grant_type=refresh_token",
                         json={"refresh_token": refresh_token}, headers=standin.headers(),
                         timeout=10)


def test_refresh_rotates_and_the_old_token_is_refused_after_the_reuse_interval(
        client: Client, standin: Standin, user: dict[str, str]) -> None:
    first = _session(_sign_in(client, user))
    refreshed = _session(client.auth.refresh_session())
    assert refreshed.refresh_token != first.refresh_token
    assert refreshed.user.id == user["id"]
    claims = [jwt.decode(s.access_token, options={"verify_signature": False})
              for s in (first, refreshed)]
    assert claims[0]["session_id"] == claims[1]["session_id"]
    assert _user_of_token(client, refreshed.access_token).id == user["id"]
    # Within the reuse interval the used token gets the session's current one, as on
    # Supabase: a client that lost the answer to its refresh stays signed in.
    again = _refresh(standin, first.refresh_token)
    assert again.status_code == 200, again.text
    assert again.json()["refresh_token"] == refreshed.refresh_token
    time.sleep(REUSE_INTERVAL + 0.5)
    with pytest.raises(AuthApiError) as reused:
        client.auth.refresh_session(first.refresh_token)
    assert (reused.value.status, reused.value.code) == (400, "refresh_token_already_used")
    # As on GoTrue: a token reused after the interval revokes the session's whole family.
    with pytest.raises(AuthApiError) as family:
        client.auth.refresh_session(refreshed.refresh_token)
    assert family.value.code == "refresh_token_already_used"
    with pytest.raises(AuthApiError) as unknown:
        client.auth.refresh_session("no-such-token")
    assert (unknown.value.status, unknown.value.code) == (400, "refresh_token_not_found")


def test_two_tabs_refreshing_at_once_both_stay_signed_in(
        client: Client, standin: Standin, user: dict[str, str]) -> None:
    """Issue 10 item 12: concurrent refreshes with one token all get the session's one new
    token (the reuse interval), instead of the losers revoking the whole session."""
    refresh_token = _session(_sign_in(client, user)).refresh_token
    barrier, answers = threading.Barrier(4), []

    def refresh() -> None:
        barrier.wait()
        answers.append(_refresh(standin, refresh_token))

    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    [current] = {a.json()["refresh_token"] for a in answers}
    assert current != refresh_token
    # The session lives on: its current token refreshes as usual.
    assert _refresh(standin, current).status_code == 200


def test_logout_kills_the_session(client: Client, user: dict[str, str]) -> None:
    session = _session(_sign_in(client, user))
    client.auth.sign_out()
    assert client.auth.get_session() is None
    with pytest.raises(AuthApiError) as caught:
        client.auth.get_user(session.access_token)
    assert (caught.value.status, caught.value.code) == (403, "session_not_found")
    with pytest.raises(AuthApiError):
        client.auth.refresh_session(session.refresh_token)


def test_logout_scopes(standin: Standin, user: dict[str, str]) -> None:
    sessions = [_session(_sign_in(create_client(standin.url, standin.anon_key), user))
                for _ in range(3)]

    def alive(session) -> bool:
        return requests.get(f"{standin.auth}/user", timeout=5,
                            headers=standin.headers(bearer=session.access_token)).ok

    def logout(session, scope: str) -> int:
        return requests.post(f"{standin.auth}/logout", params={"scope": scope}, timeout=5,
                             headers=standin.headers(bearer=session.access_token)).status_code

    assert logout(sessions[0], "local") == 204
    assert [alive(s) for s in sessions] == [False, True, True]
    assert logout(sessions[1], "others") == 204
    assert [alive(s) for s in sessions] == [False, True, False]
    assert logout(sessions[1], "global") == 204
    assert not alive(sessions[1])


def test_sign_up_autoconfirms_and_signs_in(client: Client) -> None:
    email = _email()
    response = client.auth.sign_up({"email": email, "password": "long-enough",
                                     "options": {"data": {"company_name": "Baltic Trips"}}})
    assert response.session is not None and _user(response).email == email
    assert _user(response).user_metadata == {"company_name": "Baltic Trips"}
    with pytest.raises(AuthApiError) as again:
        client.auth.sign_up({"email": email, "password": "long-enough"})
    assert (again.value.status, again.value.code) == (422, "user_already_exists")


# --- Errors are GoTrue's JSON, never HTML -----------------------------------------------------

def test_errors_are_json(standin: Standin) -> None:
    unknown = requests.get(f"{standin.auth}/nope", headers=standin.headers(), timeout=5)
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    wrong_method = requests.delete(f"{standin.auth}/token", headers=standin.headers(), timeout=5)
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method_not_allowed"
    not_json = requests.post(f"{standin.auth}/token?grant_type=password", data="email=x",
                             headers=standin.headers(), timeout=5)
    assert not_json.status_code == 400 and not_json.json()["code"] == "bad_json"
    assert not_json.headers["X-Supabase-Api-Version"] == "2024-01-01"
    grant = requests.post(f"{standin.auth}/token?grant_type=magic", json={},
                          headers=standin.headers(), timeout=5)
    assert grant.status_code == 400 and grant.headers["Content-Type"] == "application/json"


def test_cors_preflight_needs_no_api_key(standin: Standin) -> None:
    preflight = requests.options(f"{standin.auth}/token", timeout=5, headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "apikey, authorization, content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "apikey" in preflight.headers["Access-Control-Allow-Headers"]


def test_legacy_error_shape_without_the_version_header(standin: Standin) -> None:
    response = requests.post(f"{standin.auth}/token?grant_type=password", timeout=5,
                             headers={"apikey": standin.anon_key},
                             json={"email": _email(), "password": "wrong password"})
    assert response.status_code == 400
    assert response.json() == {"code": 400, "error_code": "invalid_credentials",
                               "msg": "Invalid login credentials"}


# --- Start-up ----------------------------------------------------------------------------------

def _refused_start(settings: dict[str, str]) -> str:
    """Start the stand-in as deployed with only `settings` of its own variables set: it must
    refuse to start (gunicorn exits, nothing listens). What it said, for the reason."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("SUPABASE_", "AUTH_"))}
    run = subprocess.run(_gunicorn(_free_port(), workers=1), cwd=REPO, env={**env, **settings},
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0, run.stdout + run.stderr
    return run.stdout + run.stderr


def test_missing_settings_fail_fast(tmp_path: Path) -> None:
    said = _refused_start({"SUPABASE_URL": "http://127.0.0.1:1", "AUTH_SIGNING_KEY_FILE": "x"})
    assert "SUPABASE_JWT_SECRET, AUTH_DB_URL" in said
    said = _refused_start({"SUPABASE_URL": "http://127.0.0.1:1", "SUPABASE_JWT_SECRET": "s" * 40,
                           "AUTH_DB_URL": "postgresql://nowhere",
                           "AUTH_SIGNING_KEY_FILE": str(tmp_path / "missing.pem")})
    assert re.search(r"AUTH_SIGNING_KEY_FILE: .* does not exist", said), said


def test_a_database_without_bootstrap_is_refused(auth_db_url: str, tmp_path: Path) -> None:
    name = f"bare_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(auth_db_url, autocommit=True) as conn:
        conn.execute(f"create database {name}")
    try:
        key_file = tmp_path / "key.pem"
        _standin_cli("signing-key", str(key_file))
        bare_url = make_conninfo(auth_db_url, dbname=name)
        said = _refused_start({"SUPABASE_URL": "http://127.0.0.1:1",
                               "SUPABASE_JWT_SECRET": "s" * 40, "AUTH_DB_URL": bare_url,
                               "AUTH_SIGNING_KEY_FILE": str(key_file)})
        assert "apply devstack/supabase/bootstrap.sql first" in said, said
    finally:
        with psycopg.connect(auth_db_url, autocommit=True) as conn:
            conn.execute(f"drop database {name} with (force)")
