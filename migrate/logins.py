"""The operators' logins, the last part of the `operators` unit (docs/operator-logins.md):
how many operators moved to the operators' Cognito pool, and the import of those who never
signed in during the window.

An operator moves by signing in (lazy migration: their password comes along, nothing to
reset). Whoever has not by the end is imported here: a Cognito user with their operator id
and a password nobody knows, marked RESET_REQUIRED, so they set a new one with a code sent to
their e-mail. Until `finalize operators` even they keep their old password: a sign-in that
Supabase Auth still accepts brings it over (operator_service/logins.py). Each operator is
touched once: an operator with a link is skipped, and a run can be repeated.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import boto3
import user_migration

from migrate.settings import MigrateSettings
from migrate.state import Conn, GateRefused, ToolError
from travel_platform.cognito import CognitoAccounts, UserMissing
from travel_platform.errors import APIError

# The window: both logins open (shared/travel_platform/auth/operator_logins.py).
WINDOW = ("copying", "replicating", "reads_switched", "writes_switched")


@dataclass
class Census:
    """Supabase Auth's operators against the links of the operators' pool."""

    by_login: int = 0
    imported: int = 0
    # Active Supabase users with no Cognito sign-in yet: (operator id, e-mail).
    remaining: list[tuple[str, str]] = field(default_factory=list)
    # Active Supabase users who can neither sign in to the pool nor be imported, because the
    # pool signs in by e-mail (and a reset code goes there): (operator id, why).
    cannot_move: list[tuple[str, str]] = field(default_factory=list)
    # Banned or deleted Supabase users: never moved.
    inactive: int = 0
    # Active users who can move but leave a way of signing in behind on Supabase Auth (an
    # OAuth provider, a second factor): (operator id, e-mail, what).
    leave_behind: list[tuple[str, str, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        """For `status --json`."""
        return {"moved": self.by_login + self.imported, "by_login": self.by_login,
                "imported": self.imported, "remaining": len(self.remaining),
                "cannot_move": [{"id": operator_id, "why": why}
                                for operator_id, why in self.cannot_move],
                "not_moved_inactive": self.inactive}


def _supabase(settings: MigrateSettings) -> user_migration.SupabaseAuthHttp:
    if not (settings.supabase_url and settings.supabase_service_role_key):
        raise ToolError("the operators' logins need SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY "
                        "(Supabase Auth's admin API): set them, e.g. from .dev/stack.env")
    key = settings.supabase_service_role_key.get_secret_value()
    return user_migration.SupabaseAuthHttp(url=settings.supabase_url, anon_key=key,
                                           service_role_key=key)


def census(settings: MigrateSettings, rds: Conn) -> Census:
    """Count who moved (by signing in, or imported) and list who remains."""
    links = {str(row["operator_id"]): row["linked_via"] for row in rds.execute(
        "select operator_id, linked_via from operator_identities").fetchall()}
    result = Census()
    result.by_login = sum(1 for via in links.values() if via == "login")
    result.imported = sum(1 for via in links.values() if via == "import")
    try:
        for user in _supabase(settings).users():
            if user_migration.is_active(user) and user.get("email"):
                result.leave_behind += [(str(user["id"]), str(user["email"]), what)
                                        for what in left_behind(user)]
            if str(user["id"]) in links:
                continue
            if not user_migration.is_active(user):
                result.inactive += 1
            elif not user.get("email"):
                result.cannot_move.append((str(user["id"]), _why_not_movable(user)))
            else:
                result.remaining.append((str(user["id"]), str(user["email"])))
    except user_migration.Unavailable as exc:
        raise ToolError(f"cannot list Supabase Auth users: {exc}") from None
    return result


def _why_not_movable(user: dict) -> str:
    """Why an active user without an e-mail cannot move: the way they sign in."""
    if user.get("phone"):
        return "no e-mail (phone sign-up)"
    provider = (user.get("app_metadata") or {}).get("provider")
    return f"no e-mail (signs in with {provider})" if provider else "no e-mail"


def left_behind(user: dict) -> list[str]:
    """What of a Supabase user's ways to sign in (admin API JSON) the operators' pool does not
    carry over: it signs in by e-mail and password, and no factor moves with a user."""
    lost = []
    providers = set((user.get("app_metadata") or {}).get("providers") or [])
    social = sorted(providers - {"email", "phone"})
    if social and "email" not in providers:
        lost.append(f"signs in with {', '.join(social)} only, and has no password: moves "
                    "only by a reset code (import-logins, then forgot-password), and loses "
                    f"{' and '.join(social)} sign-in unless the pool gets that provider")
    factors = sorted({factor.get("factor_type", "?") for factor in user.get("factors") or []
                      if factor.get("status") == "verified"})
    if factors:
        lost.append(f"has a second factor ({', '.join(factors)}) on Supabase Auth, which "
                    "does not move: they sign in to the pool with a password alone until "
                    "they enrol again")
    return lost


def pool_mfa(settings: MigrateSettings) -> str:
    """The operators' pool's MFA setting (OFF, ON or OPTIONAL), or why it is unknown."""
    try:
        return _cognito(settings, "plan").mfa_configuration()
    except (ToolError, APIError) as exc:
        return f"unknown ({exc})"


def refuse_lockout(found: Census) -> None:
    """GateRefused naming every active operator whom finalizing the logins would lock out:
    those who cannot move (no e-mail), then those who have not moved yet."""
    if found.cannot_move:
        named = ", ".join(f"{operator_id} ({why})" for operator_id, why in found.cannot_move)
        raise GateRefused(
            f"{len(found.cannot_move)} active operators cannot move to the operators' pool, "
            f"which signs in by e-mail, and finalize would lock them out: {named}; give each "
            "an e-mail in Supabase Auth (then they sign in, or `import-logins operators`), or "
            "ban or delete them there if they are gone")
    if found.remaining:
        raise GateRefused(
            f"{len(found.remaining)} operators have no sign-in on the operators' pool yet, and "
            "finalize would lock them out: wait for them to sign in, or run `python -m "
            "migrate import-logins operators` (they will reset their password)")


def import_remaining(settings: MigrateSettings, rds: Conn, state: str, *, say) -> int:
    """Create, in the operators' pool, every active operator who has not signed in yet; each
    must reset their password after finalize. Returns how many were imported."""
    if state not in WINDOW:
        raise GateRefused(f"import-logins needs the operators' move under way (state "
                          f"{' or '.join(WINDOW)}), and it is {state}: run `start operators` "
                          "first" if state in ("new", "rolled_back") else
                          f"import-logins needs the window open; operators is {state}")
    cognito = _cognito(settings, "import-logins")
    counted = census(settings, rds)
    remaining = counted.remaining
    for operator_id, why in counted.cannot_move:
        say(f"  CANNOT MOVE  operator {operator_id}: {why}; give them an e-mail in Supabase "
            "Auth, or ban or delete them if they are gone")
    if not remaining:
        say("every active operator with an e-mail already has a sign-in on the operators' pool")
        return 0
    say(f"importing {len(remaining)} operators who never signed in during the window; each "
        "must reset their password (a code is e-mailed when they ask) once logins are "
        "finalized:")
    imported = 0
    for operator_id, email in remaining:
        attributes = user_migration.user_attributes(
            user_migration.SupabaseUser(id=operator_id, email=email))
        found = cognito.find_user(email=email)
        if found is not None and _disposable(settings, rds, found, email=email):
            cognito.delete_user(username=found["username"])
            say(f"  replaced  {email}: the pool's user with this address belonged to no "
                "operator (no operator id, no link)")
            found = None
        if found is None:
            cognito.create_user_awaiting_reset(email=email, attributes=attributes)
            found = cognito.find_user(email=email)
        if found is None or found["attributes"].get(
                user_migration.OPERATOR_ID_ATTRIBUTE) != operator_id:
            say(f"  SKIPPED  {email}: the pool has this e-mail for another operator")
            continue
        with rds.transaction():
            rds.execute("insert into operator_identities (cognito_sub, operator_id, email,"
                        " linked_via) values (%s, %s, %s, 'import')"
                        " on conflict (cognito_sub) do nothing",
                        (found["attributes"]["sub"], operator_id, email))
        imported += 1
        say(f"  imported {email} (operator {operator_id}): password reset required")
    return imported


def detach_user_migration(settings: MigrateSettings) -> str:
    """Take the UserMigration trigger off the operators' pool, once logins are finalized:
    from then on Cognito alone decides, and a trigger left attached would still create pool
    users for whoever Supabase Auth vouches for (a password there, or a reset code asked
    for). What was done, in a sentence.

    UpdateUserPool resets every setting the request leaves out to its default (admin-create-
    only, the password policy...), so the request is the pool's current settings with only
    the trigger taken out of LambdaConfig."""
    if not settings.aws_cognito_operator_pool_id:
        raise ToolError("finalizing the operators' logins needs AWS_COGNITO_OPERATOR_POOL_ID "
                        "(the operators' pool, whose UserMigration trigger it detaches)")
    cognito = boto3.client("cognito-idp", region_name=settings.aws_region)
    pool_id = settings.aws_cognito_operator_pool_id
    pool = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    triggers = dict(pool.get("LambdaConfig") or {})
    trigger = triggers.pop("UserMigration", None)
    if trigger is None:
        return f"the operators' pool {pool_id} has no UserMigration trigger attached"
    cognito.update_user_pool(**pool_update(pool, lambda_config=triggers))
    return (f"the UserMigration trigger ({trigger}) is detached from the operators' pool "
            f"{pool_id}: Cognito alone signs operators in (set the Terraform variable "
            "operators_user_migration = false, or the next apply attaches it again)")


# What DescribeUserPool reports that UpdateUserPool takes back, as it reports it.
_UPDATABLE = ("Policies", "DeletionProtection", "AutoVerifiedAttributes",
              "VerificationMessageTemplate", "SmsAuthenticationMessage",
              "UserAttributeUpdateSettings", "MfaConfiguration", "DeviceConfiguration",
              "EmailConfiguration", "SmsConfiguration", "UserPoolTags", "AdminCreateUserConfig",
              "UserPoolAddOns", "AccountRecoverySetting")


def pool_update(pool: dict, *, lambda_config: dict) -> dict:
    """An UpdateUserPool request that keeps every setting of `pool` (a DescribeUserPool
    answer) but its triggers, which become `lambda_config`."""
    request = {key: pool[key] for key in _UPDATABLE if pool.get(key) not in (None, {}, [])}
    if "VerificationMessageTemplate" not in request:     # the older spelling of the same
        request.update({key: pool[key] for key in ("EmailVerificationMessage",
                                                   "EmailVerificationSubject",
                                                   "SmsVerificationMessage") if pool.get(key)})
    return {"UserPoolId": pool["Id"], **request, "LambdaConfig": lambda_config}


def _disposable(settings: MigrateSettings, rds: Conn, user: dict, *, email: str) -> bool:
    """A pool user holding an operator's address while belonging to no operator (no
    `custom:operator_id`, no link): made by someone else, so it yields to the operator, as
    long as their Supabase address is confirmed (proven theirs)."""
    if user["attributes"].get(user_migration.OPERATOR_ID_ATTRIBUTE):
        return False
    if rds.execute("select from operator_identities where cognito_sub = %s",
                   (user["attributes"]["sub"],)).fetchone() is not None:
        return False
    try:
        owner = _supabase(settings).find_user(email=email)
    except user_migration.Unavailable as exc:
        raise ToolError(f"cannot look {email} up in Supabase Auth: {exc}") from None
    return owner is not None and owner.confirmed


def _cognito(settings: MigrateSettings, command: str) -> CognitoAccounts:
    if not settings.aws_cognito_operator_pool_id:
        raise ToolError(f"{command} needs AWS_COGNITO_OPERATOR_POOL_ID (the operators' pool)")
    return CognitoAccounts(boto3.client("cognito-idp", region_name=settings.aws_region),
                           user_pool_id=settings.aws_cognito_operator_pool_id, client_id="")


def carry_bans_over(settings: MigrateSettings, rds: Conn, *, say) -> int:
    """Disable, in the operators' pool, every linked operator whom Supabase Auth no longer
    lets in (banned, or deleted): after finalize Supabase's ban is consulted no more, and an
    imported user could otherwise reset their password and sign in. Run by `finalize
    operators` before the state changes, so a failure finalizes nothing and a rerun repeats
    it. Returns how many were disabled."""
    links = rds.execute("select operator_id::text as id, email from operator_identities"
                        " order by email").fetchall()
    try:
        users = {str(user["id"]): user for user in _supabase(settings).users()}
    except user_migration.Unavailable as exc:
        raise ToolError(f"cannot list Supabase Auth users: {exc}") from None
    cognito = _cognito(settings, "finalize operators")
    disabled = 0
    for link in links:
        user = users.get(link["id"])
        if user is not None and user_migration.is_active(user):
            continue
        why = "deleted" if user is None or user.get("deleted_at") else "banned"
        try:
            cognito.disable_user(username=link["email"])
        except UserMissing:
            continue
        disabled += 1
        say(f"  disabled {link['email']} (operator {link['id']}): {why} in Supabase Auth")
    say(f"bans carried over: {disabled} operators' pool users disabled (banned or deleted in "
        "Supabase Auth)")
    return disabled

