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
AUTH = "travel_platform/auth/tokens.py"
LIVENESS = "travel_platform/auth/liveness.py"
LIVENESS_UNIT = "tests/unit/test_liveness.py"
REVOCATION = "tests/e2e/test_revocation.py"
OPERATOR_LOGINS = "services/operator-service/operator_service/logins.py"
LOGINS_E2E = "tests/e2e/test_operator_logins.py"
# The ordered module's tests that open the window, then one of them.
WINDOW_TESTS = "before_the_move or moves_the_demo or in_the_window_supabase"
PASSWORD_TESTS = "before_the_move or moves_the_demo or changes_on_both_sides"

MUTATIONS: tuple[Mutation, ...] = (
    # --- money ---------------------------------------------------------------------------
    Mutation("decline-keeps-seats", "declining a booking does not give its seats back",
             f"{BOOKING_SERVICE}/service.py",
             'FREES_SEATS = {"cancelled", "declined"}', 'FREES_SEATS = {"cancelled"}',
             (f"{BOOKINGS}::test_declining_gives_the_seats_back",)),
    Mutation("cancel-keeps-seats", "cancelling a booking does not give its seats back",
             f"{BOOKING_SERVICE}/service.py",
             'FREES_SEATS = {"cancelled", "declined"}', 'FREES_SEATS = {"declined"}',
             (f"{BOOKINGS}::test_cancelling_gives_the_seats_back",)),
    Mutation("cancel-after-departure", "an agent can cancel after the departure date",
             f"{BOOKING_SERVICE}/service.py",
             'BEFORE_DEPARTURE_ONLY = {"cancel", "confirm"}', 'BEFORE_DEPARTURE_ONLY = {"confirm"}',
             (BOOKINGS,), k="cancel_once_the_departure_date"),
    Mutation("confirm-after-departure", "an operator can confirm after the departure date",
             f"{BOOKING_SERVICE}/service.py",
             'BEFORE_DEPARTURE_ONLY = {"cancel", "confirm"}', 'BEFORE_DEPARTURE_ONLY = {"cancel"}',
             (BOOKINGS,), k="confirm_once_the_departure_date"),
    Mutation("cancel-on-departure-day", "an agent can cancel on the departure day itself",
             f"{BOOKING_SERVICE}/service.py",
             'booking["departure_date"] <= today:', 'booking["departure_date"] < today:',
             (BOOKINGS,), k="cancel_once_the_departure_date"),
    Mutation("total-overflows", "a total the bookings table cannot hold is a 500",
             f"{BOOKING_SERVICE}/pricing.py", "if total > MAX_AMOUNT:",
             "if total > MAX_AMOUNT * 10:",
             (f"{BOOKINGS}::test_a_total_larger_than_the_platform_holds_is_422_and_writes_nothing",)),
    Mutation("commission-shown-to-operators", "operators see the agent's commission",
             f"{BOOKING_SERVICE}/service.py",
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
             f"{BOOKING_SERVICE}/service.py",
             'if existing.pop("request_fingerprint") != body_fingerprint:',
             'if existing.pop("request_fingerprint") is None:',
             (f"{BOOKINGS}::test_the_same_idempotency_key_returns_the_same_booking",)),
    Mutation("capacity-doubled", "a departure sells more seats than it has",
             f"{BOOKING_SERVICE}/service.py",
             "capacity=package.capacity_per_departure)",
             "capacity=package.capacity_per_departure * 2)",
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
             f"{BOOKING_SERVICE}/service.py",
             'if agent is None or agent.status != "active":', "if agent is None:",
             (f"{BOOKINGS}::test_only_active_agents_book",)),
    # --- access ----------------------------------------------------------------------------
    Mutation("admin-download-open", "any agent can download any agent's document",
             "services/agent-service/agent_service/routes.py",
             '@require_admin\ndef agent_document_download',
             '@require_identity(AGENT)\ndef agent_document_download',
             ("tests/e2e/test_agent_documents.py::"
              "test_only_admins_download_an_agents_document_by_the_admin_route",)),
    Mutation("admins-check-open", "any agent passes the administrators' check",
             "travel_platform/auth/tokens.py",
             "return self.is_agent and ADMIN_GROUP in self.groups",
             "return self.is_agent",
             ("tests/e2e/test_agent_admin.py::"
              "test_agents_who_are_not_admins_get_403_on_every_admin_route",)),
    Mutation("lookup-tells-anyone", "any token holder learns any agent's agency and status",
             "services/agent-service/agent_service/service.py",
             'for row in rows if row["cognito_sub"] == identity.subject]', "for row in rows]",
             ("tests/e2e/test_agent_admin.py",), k="lookup_tells"),
    Mutation("squatter-blocks-owner", "an unconfirmed sign-up keeps the owner of the address out",
             "services/agent-service/agent_service/service.py",
             'if status != "UNCONFIRMED":', "if status is not None:",
             ("tests/e2e/test_agent_accounts.py",), k="squatter"),
    Mutation("code-confirms-any-account", "the owner's code confirms a squatter's account",
             "services/agent-service/agent_service/service.py",
             "    accounts.check_unconfirmed_password(email=email, password=password)\n", "",
             ("tests/e2e/test_agent_accounts.py",), k="squatter"),
    Mutation("checked-document-replaceable", "a confirmed document's file can be replaced",
             "services/agent-service/agent_service/service.py",
             "if not store.copy(source=upload_key, target=checked_key):",
             "checked_key = upload_key\n        if store.describe(key=upload_key) is None:",
             ("tests/e2e/test_agent_documents.py",), k="what_confirm_checked"),
    # --- tokens ----------------------------------------------------------------------------
    # The issuer's own expiry check (liveness) refuses an expired token within seconds
    # anyway, so the verdict cache's expiry cap is held by its unit test.
    Mutation("verdict-cached-past-expiry",
             "the gateway keeps letting a token through after it expired",
             "gateway/gateway_auth/__init__.py",
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
    # End to end the issuer refuses an expired token too (liveness): the unit tests hold
    # our own check.
    Mutation("expiry-ignored", "an expired token is accepted",
             AUTH, "leeway=leeway, options=options)", "leeway=leeway + 86400, options=options)",
             (TOKENS, "tests/unit/test_tokens.py"), k="expiry or expired"),
    # --- revocation (travel_platform/auth/liveness.py) --------------------------------------
    Mutation("issuer-never-asked", "a signed-out, banned or deleted user's token works until "
             "it expires", "travel_platform/web.py",
             "g.verdict_fresh_for = liveness.check(token, identity.source,\n"
             "                                         expires_at=identity.expires_at)",
             "g.verdict_fresh_for = 0.0",
             (REVOCATION,), k="refused_everywhere and (supabase_logout or cognito_global)"),
    Mutation("gateway-verdict-outlives-answer", "the gateway lets a revoked token through to "
             "the services for up to 30 s", "gateway/gateway_auth/__init__.py",
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
             "error)", "services/operator-service/operator_service/service.py",
             "except psycopg.errors.ForeignKeyViolation:", "except psycopg.errors.UniqueViolation:",
             ("tests/integration/test_operator_data_layer.py",), k="deleted"),
    # --- operators' logins (docs/operator-logins.md) ------------------------------------
    Mutation("supabase-after-finalize", "after finalize an old Supabase token still works",
             "travel_platform/auth/operator_logins.py",
             '"finalized": frozenset({SOURCE_COGNITO_OPERATORS}),', '"finalized": BOTH,',
             ("tests/unit/test_operator_admission.py",), k="phase or moved"),
    Mutation("migration-without-password", "a first sign-in moves an operator whatever the "
             "password", "aws/lambdas/user_migration.py",
             "user = supabase.check_password(email=email, password=password)",
             "user = supabase.find_user(email=email) or supabase.check_password(\n"
             "            email=email, password=password)",
             ("tests/unit/test_user_migration.py",), k="vouch"),
    Mutation("pool-token-as-itself", "an operators'-pool token acts as its Cognito sub, not "
             "as the operator it is linked to", "travel_platform/auth/operator_logins.py",
             "return dataclasses.replace(identity, subject=operator_id, email=email,",
             "return dataclasses.replace(identity, email=email,",
             ("tests/unit/test_operator_admission.py",), k="stands_for"),
    # --- sessions after a password change (issue 21, finding 6) ---------------------------
    Mutation("agent-password-change-keeps-sessions", "after an agent changes their password "
             "a stolen session still refreshes and works",
             "services/agent-service/agent_service/service.py",
             "    accounts.sign_out_user(username=email)\n    return accounts.login(",
             "    return accounts.login(",
             ("tests/e2e/test_agent_account_recovery.py",), k="ends_every_other_session"),
    Mutation("agent-reset-keeps-sessions", "after an agent resets a forgotten password a "
             "stolen refresh token still works",
             "services/agent-service/agent_service/service.py",
             "    accounts.sign_out_user(username=email)\n    return {\"password_changed\": True}",
             "    return {\"password_changed\": True}",
             ("tests/e2e/test_agent_account_recovery.py",), k="reset_password_ends"),
    # --- operators bound by Supabase Auth in the window (issue 21, finding 4) --------------
    Mutation("pool-login-trusts-its-copy", "in the window an operator's old password still "
             "signs in at /api/operators/login after it changed in Supabase Auth",
             OPERATOR_LOGINS,
             "    if SOURCE_SUPABASE in issuers:\n        _supabase_vouches(",
             "    if not issuers:\n        _supabase_vouches(",
             (LOGINS_E2E,), k=WINDOW_TESTS),
    Mutation("pool-token-ignores-supabase-ban", "in the window a banned or deleted operator's "
             "pool token keeps working", "travel_platform/web.py",
             "and SOURCE_SUPABASE in logins.issuers():", "and not logins.issuers():",
             (LOGINS_E2E,), k=WINDOW_TESTS),
    Mutation("finalize-forgets-bans", "after finalize an operator banned in Supabase Auth "
             "signs in to the pool (or resets their way in)", "migrate/commands.py",
             "        disabled = logins.carry_bans_over(run.settings, run.rds, say=run.say)\n",
             "        disabled = 0\n", (LOGINS_E2E,)),
    Mutation("operator-password-change-keeps-pool-sessions", "after an operator changes their "
             "password a stolen pool refresh token still works", OPERATOR_LOGINS,
             "        accounts.cognito.sign_out_user(username=email)\n", "",
             (LOGINS_E2E,), k=PASSWORD_TESTS),
    Mutation("operator-password-change-keeps-supabase-sessions", "after an operator changes "
             "their password a stolen Supabase refresh token still works", OPERATOR_LOGINS,
             'scope="others" if mine else "global"', 'scope="local"',
             (LOGINS_E2E,), k=PASSWORD_TESTS),
)
