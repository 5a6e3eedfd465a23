"""Named mutations of the security and money rules, and the tests that must notice each.

A mutation is one small text replacement in one file: the rule broken the way a careless
edit would break it. `tests` (pytest files or node ids, narrowed by `k`) are kept small
so that the whole check runs in minutes; each selection must fail once the rule is broken
(and pass on the unmutated code, which the baseline run checks)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutation:
    """One rule broken in one place."""

    name: str
    rule: str          # what a user would see go wrong
    path: str          # file, relative to the repository
    old: str           # text that must occur exactly once in the file
    new: str
    tests: tuple[str, ...]     # pytest files or node ids
    k: str | None = None       # and a `-k` expression selecting among them


BOOKINGS = "tests/e2e/test_bookings.py"
TOKENS = "tests/e2e/test_token_rules.py"
GATEWAY = "tests/e2e/test_gateway.py"
BOOKING_SERVICE = "services/booking-service/booking_service"
AUTH = "shared/travel_platform/auth/tokens.py"
LIVENESS = "shared/travel_platform/auth/revocation.py"
LIVENESS_UNIT = "tests/unit/test_revocation_checks.py"
REVOCATION = "tests/e2e/test_revocation.py"
GATEWAY_RENDER = "gateway/gateway_config/render.py"
GATEWAY_DASHBOARD = "gateway/gateway_config/dashboard.py"
RATE_LIMITS = "tests/e2e/test_rate_limits.py"
EDGE_HEADERS = "tests/e2e/test_edge_headers.py"
ABUSE = "tests/e2e/test_operator_login_abuse.py"
GATE = "20261207100000_approval_gate.sql"
OPERATOR_RLS = "tests/integration/test_operator_rls.py"
APPROVAL = "tests/e2e/test_operator_approval.py"
OPERATOR_LOGINS = "services/operator-service/operator_service/logins.py"
OPERATOR_PASSWORDS = "services/operator-service/operator_service/passwords.py"
LOGINS_E2E = "tests/e2e/test_operator_logins.py"
# The ordered module's tests that open the window, then one of them.
WINDOW_TESTS = "before_the_move or moves_the_demo or in_the_window_supabase"
PASSWORD_TESTS = "before_the_move or moves_the_demo or changes_on_both_sides"

MUTATIONS: tuple[Mutation, ...] = (
    # --- money ---------------------------------------------------------------------------
    Mutation("decline-keeps-seats", "declining a booking does not give its seats back",
             f"{BOOKING_SERVICE}/rules.py",
             'FREES_SEATS = {"cancelled", "declined"}', 'FREES_SEATS = {"cancelled"}',
             (f"{BOOKINGS}::test_declining_gives_the_seats_back",)),
    Mutation("cancel-keeps-seats", "cancelling a booking does not give its seats back",
             f"{BOOKING_SERVICE}/rules.py",
             'FREES_SEATS = {"cancelled", "declined"}', 'FREES_SEATS = {"declined"}',
             (f"{BOOKINGS}::test_cancelling_gives_the_seats_back",)),
    Mutation("cancel-after-departure", "an agent can cancel after the departure date",
             f"{BOOKING_SERVICE}/rules.py",
             'BEFORE_DEPARTURE_ONLY = {"cancel", "confirm"}', 'BEFORE_DEPARTURE_ONLY = {"confirm"}',
             (BOOKINGS,), k="cancel_once_the_departure_date"),
    Mutation("confirm-after-departure", "an operator can confirm after the departure date",
             f"{BOOKING_SERVICE}/rules.py",
             'BEFORE_DEPARTURE_ONLY = {"cancel", "confirm"}', 'BEFORE_DEPARTURE_ONLY = {"cancel"}',
             (BOOKINGS,), k="confirm_once_the_departure_date"),
    Mutation("cancel-on-departure-day", "an agent can cancel on the departure day itself",
             f"{BOOKING_SERVICE}/rules.py",
             'booking["departure_date"] <= today:', 'booking["departure_date"] < today:',
             (BOOKINGS,), k="cancel_once_the_departure_date"),
    Mutation("total-overflows", "a total the bookings table cannot hold is a 500",
             f"{BOOKING_SERVICE}/pricing.py", "if total > MAX_AMOUNT:",
             "if total > MAX_AMOUNT * 10:",
             (f"{BOOKINGS}::test_a_total_larger_than_the_platform_holds_is_422_and_writes_nothing",)),
    Mutation("commission-shown-to-operators", "operators see the agent's commission",
             f"{BOOKING_SERVICE}/rules.py",
             'AGENT_ONLY_FIELDS = ("commission_rate", "commission_amount")',
             'AGENT_ONLY_FIELDS = ("commission_rate",)',
             (f"{BOOKINGS}::test_operators_never_see_the_agents_commission",)),
    Mutation("idempotency-key-any-agent", "agent B sending agent A's key is handed A's booking",
             f"{BOOKING_SERVICE}/repository.py",
             'where agent_sub = %s and idempotency_key = %s""", (agent_sub, key)',
             'where idempotency_key = %s""", (key,)',
             (f"{BOOKINGS}::test_an_idempotency_key_belongs_to_the_agent_who_sent_it",)),
    Mutation("idempotency-fingerprint-ignored",
             "a different request under a used key silently returns the first booking",
             f"{BOOKING_SERVICE}/rules.py",
             "if stored_fingerprint != body_fingerprint:",
             "if stored_fingerprint is None:",
             (f"{BOOKINGS}::test_the_same_idempotency_key_returns_the_same_booking",)),
    Mutation("capacity-doubled", "a departure sells more seats than it has",
             f"{BOOKING_SERVICE}/making.py",
             "    capacity = package.capacity_per_departure\n",
             "    capacity = package.capacity_per_departure * 2\n",
             (f"{BOOKINGS}::test_cancelling_gives_the_seats_back",)),
    Mutation("commission-on-base-price", "commission is computed without the add-ons",
             f"{BOOKING_SERVICE}/pricing.py",
             "commission=_money(total * commission_rate)",
             "commission=_money(base * commission_rate)",
             (f"{BOOKINGS}::test_full_journey_agent_books_operator_confirms_both_see_it",)),
    Mutation("booking-owner-unchecked", "anyone can read or move anyone's booking by its id",
             f"{BOOKING_SERVICE}/repository.py",
             "where id = %(id)s and {owner.column} = %(who)s",
             "where id = %(id)s and %(who)s is not null",
             (f"{BOOKINGS}::test_other_peoples_bookings_are_404",)),
    Mutation("inactive-agents-book", "a pending or suspended agent can book",
             f"{BOOKING_SERVICE}/rules.py",
             'if agent is None or agent.status != "active":', "if agent is None:",
             (f"{BOOKINGS}::test_only_active_agents_book",)),
    # --- access ----------------------------------------------------------------------------
    Mutation("admin-download-open", "any agent can download any agent's document",
             "services/agent-service/agent_service/routes_administration.py",
             '@require_admin\ndef agent_document_download',
             '@require_identity(AGENT)\ndef agent_document_download',
             ("tests/e2e/test_agent_documents.py::"
              "test_only_admins_download_an_agents_document_by_the_admin_route",)),
    Mutation("admins-check-open", "any agent passes the administrators' check",
             "shared/travel_platform/auth/tokens.py",
             "return self.is_agent and ADMIN_GROUP in self.groups",
             "return self.is_agent",
             ("tests/e2e/test_agent_admin.py::"
              "test_agents_who_are_not_admins_get_403_on_every_admin_route",)),
    Mutation("lookup-tells-anyone", "any token holder learns any agent's agency and status",
             "services/agent-service/agent_service/rules.py",
             'for row in rows if row["cognito_sub"] == identity.subject]', "for row in rows]",
             ("tests/e2e/test_agent_admin.py",), k="lookup_tells"),
    Mutation("squatter-blocks-owner", "an unconfirmed sign-up keeps the owner of the address out",
             "services/agent-service/agent_service/accounts.py",
             'if status != "UNCONFIRMED":', "if status is not None:",
             ("tests/e2e/test_agent_accounts.py",), k="squatter"),
    Mutation("code-confirms-any-account", "the owner's code confirms a squatter's account",
             "services/agent-service/agent_service/accounts.py",
             "    accounts.check_unconfirmed_password(email=email, password=password)\n", "",
             ("tests/e2e/test_agent_accounts.py",), k="squatter"),
    Mutation("checked-document-replaceable", "a confirmed document's file can be replaced",
             "services/agent-service/agent_service/documents.py",
             "if not store.copy(source=upload_key, target=checked_key):",
             "checked_key = upload_key\n        if store.describe(key=upload_key) is None:",
             ("tests/e2e/test_agent_documents.py",), k="what_confirm_checked"),
    # --- tokens ----------------------------------------------------------------------------
    # The issuer's own expiry check (the revocation check) refuses an expired token within seconds
    # anyway, so the verdict cache's expiry cap is held by its unit test.
    Mutation("verdict-cached-past-expiry",
             "the gateway keeps letting a token through after it expired",
             "gateway/gateway_auth/verdicts.py",
             "min(MAX_CACHE_SECONDS, identity.expires_at - now, fresh_for)",
             "min(MAX_CACHE_SECONDS, fresh_for)",
             (LIVENESS_UNIT,), k="gateway_verdicts"),
    Mutation("signature-unchecked", "a token signed by anyone is accepted",
             AUTH,
             'options: Options = {"require": REQUIRED_CLAIMS, "verify_aud": audience is not None}',
             'options: Options = {"require": REQUIRED_CLAIMS, "verify_aud": audience is not None,\n'
             '               "verify_signature": False}',
             # Only tests that call the services straight: no gateway in front to hide it.
             ("tests/e2e/test_services_direct.py", TOKENS),
             k="tampered_token_itself or (signature and service)"),
    Mutation("id-token-accepted", "a Cognito ID token works as an access token",
             AUTH, 'if claims.get("token_use") != "access":',
             'if claims.get("token_use") not in ("access", "id"):',
             (TOKENS,), k="token_use"),
    Mutation("any-app-client", "a token of another app client of the pool is accepted",
             AUTH, 'if claims.get("client_id") not in self._client_ids:',
             'if claims.get("client_id") is None:',
             (TOKENS,), k="client_id"),
    Mutation("any-audience", "a Supabase token meant for another audience is accepted",
             AUTH, '"verify_aud": audience is not None}', '"verify_aud": False}',
             (TOKENS,), k="audience"),
    Mutation("api-key-roles-accepted", "a token with the anon or service_role role is a user",
             AUTH, 'if claims.get("role") != "authenticated":',
             'if claims.get("role") not in ("authenticated", "anon", "service_role"):',
             (TOKENS,), k="role"),
    Mutation("algorithm-from-token", "the token chooses the algorithm its key is used with",
             AUTH, "key, key_alg = jwk.key, jwk.algorithm_name\n            if key_alg != alg:",
             "key, key_alg = jwk.key, alg\n            if key_alg != alg:",
             (TOKENS,), k="algorithm_from_key"),
    # End to end the issuer refuses an expired token too (the revocation check): the unit tests hold
    # our own check.
    Mutation("expiry-ignored", "an expired token is accepted",
             AUTH, "leeway=leeway, options=options)", "leeway=leeway + 86400, options=options)",
             (TOKENS, "tests/unit/test_tokens.py"), k="expiry or expired"),
    # --- revocation (shared/travel_platform/auth/revocation.py) ---------------------------
    Mutation("issuer-never-asked", "a signed-out, banned or deleted user's token works until "
             "it expires", "shared/travel_platform/web.py",
             "fresh_for = revocation.check(token, identity.source, expires_at=identity.expires_at)",
             "fresh_for = 0.0",
             (REVOCATION,), k="refused_everywhere and (supabase_logout or cognito_global)"),
    Mutation("gateway-verdict-outlives-answer", "the gateway lets a revoked token through to "
             "the services for up to 30 s", "gateway/gateway_auth/verdicts.py",
             "min(MAX_CACHE_SECONDS, identity.expires_at - now, fresh_for)",
             "min(MAX_CACHE_SECONDS, identity.expires_at - now)",
             (REVOCATION, LIVENESS_UNIT), k="gateway"),
    Mutation("answer-reused-past-fresh", "a revoked token keeps working as long as an old "
             "answer is remembered", LIVENESS,
             "if answer is not None and now - answer.asked_at < self.fresh_seconds:",
             "if answer is not None:",
             (LIVENESS_UNIT,), k="reused_while_fresh"),
    Mutation("stale-served-unbounded", "while an issuer is down, a revoked token works for "
             "an hour", LIVENESS, "ttl=fresh_seconds + stale_seconds,", "ttl=3600,",
             (LIVENESS_UNIT,), k="down"),
    Mutation("supabase-ban-ignored", "a banned operator's token keeps working", LIVENESS,
             "        if until > datetime.now(UTC):\n            return DISABLED",
             "        if until is None:\n            return DISABLED",
             (REVOCATION, LIVENESS_UNIT), k="ban or banned"),
    Mutation("supabase-sign-out-ignored", "a signed-out operator's token keeps working",
             LIVENESS, 'return DELETED if code == "user_not_found" else SIGNED_OUT',
             'return DELETED if code == "user_not_found" else None',
             (REVOCATION,), k="refused_everywhere and supabase_logout"),
    Mutation("cognito-sign-out-ignored", "a signed-out or disabled agent's token keeps working",
             LIVENESS, "                return SIGNED_OUT\n            raise IssuerUnreachable",
             "                return None\n            raise IssuerUnreachable",
             (REVOCATION, LIVENESS_UNIT), k="cognito_global or cognito_admin_disable or getuser"),
    Mutation("deleted-operator-500", "a deleted operator's write is a 500 (a foreign-key "
             "error)", "services/operator-service/operator_service/profiles.py",
             "except psycopg.errors.ForeignKeyViolation as exc:",
             "except psycopg.errors.UniqueViolation as exc:",
             ("tests/integration/test_operator_data_layer.py",), k="deleted"),
    # --- the operators' approval gate in the database (issue 21, finding 5) -------------
    Mutation("operators-write-package-status", "an operator publishes (or un-archives) their "
             "own package by direct SQL, approved or not",
             f"supabase/migrations/{GATE}", "and not attisdropped and attname <> 'status';",
             "and not attisdropped;",
             (OPERATOR_RLS,), k="sets_a_package_status or brought_back"),
    Mutation("publisher-unarchives", "operator-service's status path brings an archived "
             "package back", f"supabase/migrations/{GATE}",
             "using (operator_id = (select auth.uid()) and status in ('draft', 'published'))",
             "using (operator_id = (select auth.uid()))",
             (OPERATOR_RLS,), k="only_operator_service"),
    Mutation("suspended-still-listed", "a suspended operator's packages stay in the catalogue "
             "and bookable", f"supabase/migrations/{GATE}",
             "and operator_id <> all ((select private.suspended_operator_ids())::uuid[]));",
             "and true);",
             (OPERATOR_RLS,), k="leave_the_catalogue"),
    Mutation("suspended-still-writes", "a suspended operator changes their packages by direct "
             "SQL", f"supabase/migrations/{GATE}",
             "'create policy %I on public.%I as restrictive for %s",
             "'create policy %I on public.%I as permissive for %s",
             (OPERATOR_RLS,), k="suspended_operator_changes_nothing or adds_nothing"),
    Mutation("suspended-listed-while-moving", "while packages are read from RDS before the "
             "profiles are there, a suspended operator's packages are back in the catalogue",
             "services/operator-service/operator_service/catalogue.py",
             "    if {data.source_of(PACKAGE_TABLES, reads=True), "
             "data.source_of(PACKAGE_TABLES)} == {",
             "    if True or {data.source_of(PACKAGE_TABLES, reads=True), "
             "data.source_of(PACKAGE_TABLES)} == {",
             (OPERATOR_RLS,), k="read_apart"),
    Mutation("suspended-edit-unexplained", "a suspended operator's edit is a bare 404 (the "
             "database refuses it) instead of saying why",
             "services/operator-service/operator_service/rules.py",
             'if profile is not None and profile["status"] == "suspended":', "if False:",
             (APPROVAL,), k="leave_the_catalogue"),
    Mutation("admins-see-typed-email-only", "administrators approve on the e-mail the operator "
             "typed, not the one they signed up with",
             "services/operator-service/operator_service/administration.py",
             'row["sign_ins"] = sign_ins', 'row["sign_ins"] = []',
             (APPROVAL,), k="verified_sign_in_email"),
    # --- operators' logins (docs/operator-logins.md) ------------------------------------
    Mutation("supabase-after-finalize", "after finalize an old Supabase token still works",
             "shared/travel_platform/auth/operator_logins.py",
             '"finalized": frozenset({SOURCE_COGNITO_OPERATORS}),', '"finalized": BOTH,',
             ("tests/unit/test_operator_admission.py",), k="phase or moved"),
    Mutation("migration-without-password", "a first sign-in moves an operator whatever the "
             "password", "aws/lambdas/user_migration.py",
             "user = supabase.check_password(email=email, password=password)",
             "user = supabase.find_user(email=email) or supabase.check_password(\n"
             "            email=email, password=password)",
             ("tests/unit/test_user_migration.py",), k="vouch"),
    Mutation("pool-token-as-itself", "an operators'-pool token acts as its Cognito sub, not "
             "as the operator it is linked to", "shared/travel_platform/auth/operator_logins.py",
             "return dataclasses.replace(identity, subject=operator_id, email=email,",
             "return dataclasses.replace(identity, email=email,",
             ("tests/unit/test_operator_admission.py",), k="stands_for"),
    # --- the gateway's edge (issue 21: client address, token key, labels, headers) -------
    Mutation("xff-ignored-behind-proxy", "behind the load balancer every client shares one "
             "rate-limit bucket: one flood of failed logins keeps everyone out",
             GATEWAY_RENDER, '"real_ip_header X-Forwarded-For;", ', "",
             (RATE_LIMITS,), k="load_balancer"),
    Mutation("xff-from-anyone", "a direct client escapes its limits (or takes the exempt "
             "address) by writing X-Forwarded-For", GATEWAY_RENDER,
             '*(f"set_real_ip_from {network};" for network in networks)',
             '"set_real_ip_from 0.0.0.0/0;"', (RATE_LIMITS,), k="direct_client"),
    Mutation("token-bucket-per-spelling", "a token gets a new bucket for every spelling of "
             "its Authorization header", GATEWAY_RENDER,
             "$token;", "$http_authorization;",
             (RATE_LIMITS,), k="spelled"),
    Mutation("method-label-unbounded", "made-up HTTP methods each add Prometheus series",
             "shared/travel_platform/metrics.py",
             'return method if method in METHODS else "other"', "return method",
             ("tests/e2e/test_monitoring.py",), k="made_up"),
    Mutation("hsts-on-a-clients-word", "HSTS on a direct client's claimed X-Forwarded-Proto",
             "gateway/nginx.conf.template", '"1:https"  https;', '~:https$  https;',
             (EDGE_HEADERS,), k="hsts"),
    Mutation("hsts-never-sent", "browsers are never told to keep to HTTPS",
             "gateway/nginx.conf.template", 'https    "max-age=31536000";', 'https    "";',
             (EDGE_HEADERS,), k="hsts"),
    Mutation("dashboard-framable", "another site can frame the dashboard (clickjacking its "
             "approve buttons)", GATEWAY_DASHBOARD, "; frame-ancestors 'none'\")", "\")",
             (EDGE_HEADERS,), k="framed"),
    Mutation("dashboard-connects-anywhere", "the dashboard's page may send requests (and "
             "tokens) to any host", GATEWAY_DASHBOARD, "connect-src 'self'{connect}",
             "connect-src 'self' https:{connect}", (EDGE_HEADERS,), k="framed"),
    # --- the operators' pool and the sign-in budget (issue 21, second round) ------------
    Mutation("forgot-password-unconfirmed", "the trigger's ForgotPassword creates a verified "
             "pool user for an unconfirmed Supabase sign-up of someone else's address",
             "aws/lambdas/user_migration.py", "        if not found.confirmed:\n",
             "        if False:\n", ("tests/unit/test_user_migration.py",), k="unconfirmed"),
    Mutation("trigger-left-attached", "finalize leaves the UserMigration trigger on the pool",
             "migrate/logins.py", 'trigger = triggers.pop("UserMigration", None)',
             'trigger = triggers.get("UserMigration")', ("tests/unit/test_operator_pool.py",)),
    Mutation("detach-resets-pool", "detaching the trigger resets the pool's other settings "
             "(admin-create-only, password policy) to Cognito's defaults", "migrate/logins.py",
             "cognito.update_user_pool(**pool_update(pool, lambda_config=triggers))",
             "cognito.update_user_pool(UserPoolId=pool_id, LambdaConfig=triggers)",
             ("tests/unit/test_operator_pool.py",)),
    Mutation("operators-pool-open-sign-up", "anyone can sign up to the operators' pool",
             "aws/scripts/provision.py",
             '"AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True}',
             '"AdminCreateUserConfig": {"AllowAdminCreateUserOnly": False}',
             ("tests/unit/test_terraform.py",), k="signs_up or user_pool"),
    Mutation("finalize-keeps-trigger", "finalize operators leaves the UserMigration trigger "
             "attached", "migrate/steps/finalize.py",
             "        run.say(logins.detach_user_migration(run.settings))\n", "        pass\n",
             (ABUSE,), k="finalize_takes"),
    Mutation("trigger-decrypts-anything", "the trigger's role decrypts whatever the platform "
             "key protects", "aws/infrastructure/iam.tf",
             'variable = "kms:EncryptionContext:aws:lambda:FunctionArn"',
             'variable = "kms:ViaService"', ("tests/unit/test_terraform.py",), k="decrypts"),
    Mutation("squatter-holds-address", "a pool user linked to no operator keeps the operator "
             "out (409 for ever)", "services/operator-service/operator_service/logins.py",
             "if found is not None and _disposable(accounts, found):", "if False:",
             (ABUSE,), k="squatter_of"),
    Mutation("import-skips-squatter", "import-logins skips an operator whose address a "
             "squatter holds, and finalize waits for them", "migrate/logins.py",
             "if found is not None and _disposable(settings, rds, found, email=email):",
             "if False:", (ABUSE,), k="import_logins_replaces"),
    Mutation("another-operators-user-replaced", "a pool user of another operator is deleted "
             "by a sign-in with this operator's address",
             "services/operator-service/operator_service/logins.py",
             'if user["attributes"].get(user_migration.OPERATOR_ID_ATTRIBUTE):\n'
             '        return False\n    with accounts.rds',
             'if False:\n        return False\n    with accounts.rds', (ABUSE,),
             k="another_operator"),
    Mutation("unknown-email-spends-budget", "logins with made-up e-mails spend Supabase "
             "Auth's sign-in budget, then every first sign-in is refused",
             "services/operator-service/operator_service/logins.py",
             "    _supabase_user(accounts, email)\n    event =", "    event =",
             (ABUSE,), k="made_up_emails"),
    Mutation("unknown-email-answers-fast", "an unknown e-mail is refused faster than a wrong "
             "password: the timing tells who is an operator",
             "services/operator-service/operator_service/logins.py",
             "        _CHECK_TIME.wait()\n", "", (ABUSE,), k="answer_alike"),
    Mutation("supabase-429-is-503", "Supabase Auth's rate limit is answered 503 unreachable",
             "services/operator-service/operator_service/logins.py",
             "    except user_migration.Throttled as exc:\n"
             "        raise _throttled(exc) from None\n", "",
             (ABUSE,), k="own_limit"),
    Mutation("guesses-lock-out-everywhere", "ten guesses from one address lock the owner out "
             "at theirs too", "shared/travel_platform/rate_limits.py",
             'keys = {flow: digest(f"{account}\\n{address}"),', "keys = {flow: digest(account),",
             (ABUSE,), k="guesser"),
    Mutation("no-account-ceiling", "guesses from many addresses never stop",
             "shared/travel_platform/rate_limits.py",
             'f"{flow}_all": limit.all_addresses}', 'f"{flow}_all": limit.all_addresses * 1000}',
             (ABUSE,), k="ceiling"),
    Mutation("operator-guesses-unlimited", "an operator's password can be guessed without "
             "limit", "services/operator-service/operator_service/logins.py",
             "account=email, address=address, limit=accounts.attempts)",
             "account=email, address=address, limit=PasswordAttemptLimit(\n"
             "                                per_address=10**6, all_addresses=10**6,\n"
             "                                window_seconds=accounts.attempts.window_seconds))",
             (ABUSE,), k="operators_guesser"),
    Mutation("forwarded-for-from-anyone", "a client chooses the address its failures count "
             "under (X-Forwarded-For believed from anyone)",
             "shared/travel_platform/client_address.py",
             "while hops and _is_proxy(address, proxies):", "while hops:",
             ("tests/unit/test_client_address.py",)),
    # --- sessions after a password change (issue 21, finding 6) ---------------------------
    Mutation("agent-password-change-keeps-sessions", "after an agent changes their password "
             "a stolen session still refreshes and works",
             "services/agent-service/agent_service/accounts.py",
             "    accounts.sign_out_user(username=email)\n    return accounts.login(",
             "    return accounts.login(",
             ("tests/e2e/test_agent_account_recovery.py",), k="ends_every_other_session"),
    Mutation("agent-reset-keeps-sessions", "after an agent resets a forgotten password a "
             "stolen refresh token still works",
             "services/agent-service/agent_service/accounts.py",
             "    accounts.sign_out_user(username=email)\n    return {\"password_changed\": True}",
             "    return {\"password_changed\": True}",
             ("tests/e2e/test_agent_account_recovery.py",), k="reset_password_ends"),
    # --- operators bound by Supabase Auth in the window (issue 21, finding 4) --------------
    Mutation("pool-login-trusts-its-copy", "in the window an operator's old password still "
             "signs in at /api/operators/login after it changed in Supabase Auth",
             OPERATOR_LOGINS,
             "            if SOURCE_SUPABASE in issuers:\n                _supabase_vouches(",
             "            if not issuers:\n                _supabase_vouches(",
             (LOGINS_E2E,), k=WINDOW_TESTS),
    Mutation("pool-token-ignores-supabase-ban", "in the window a banned or deleted operator's "
             "pool token keeps working", "shared/travel_platform/web.py",
             "and SOURCE_SUPABASE in logins.issuers():", "and not logins.issuers():",
             (LOGINS_E2E,), k=WINDOW_TESTS),
    Mutation("finalize-forgets-bans", "after finalize an operator banned in Supabase Auth "
             "signs in to the pool (or resets their way in)", "migrate/steps/finalize.py",
             "        disabled = logins.carry_bans_over(run.settings, run.rds, say=run.say)\n",
             "        disabled = 0\n", (LOGINS_E2E,)),
    Mutation("operator-password-change-keeps-pool-sessions", "after an operator changes their "
             "password a stolen pool refresh token still works", OPERATOR_PASSWORDS,
             "        accounts.cognito.sign_out_user(username=email)\n", "",
             (LOGINS_E2E,), k=PASSWORD_TESTS),
    Mutation("operator-password-change-keeps-supabase-sessions", "after an operator changes "
             "their password a stolen Supabase refresh token still works", OPERATOR_PASSWORDS,
             'scope="others" if keep_supabase_session else "global"', 'scope="local"',
             (LOGINS_E2E,), k=PASSWORD_TESTS),
)
