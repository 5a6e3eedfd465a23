"""`python -m migrate`'s count of the operators' logins (migrate/logins.py): who moved, who
remains, and who cannot move at all because the operators' pool signs in by e-mail (review
R12). Supabase Auth's admin API and RDS are stand-in objects answering as they do."""
from __future__ import annotations

import pytest

from migrate import logins
from migrate.state import GateRefused

SIGNED_IN, IMPORTED, WAITING, PHONE, BANNED, DELETED = (
    f"00000000-0000-0000-0000-00000000000{n}" for n in range(1, 7))
USERS = [
    {"id": SIGNED_IN, "email": "in@example.com", "phone": ""},
    {"id": IMPORTED, "email": "imp@example.com", "phone": ""},
    {"id": WAITING, "email": "wait@example.com", "phone": ""},
    {"id": PHONE, "email": "", "phone": "447700900123",
     "app_metadata": {"provider": "phone"}},
    {"id": BANNED, "email": "", "phone": "447700900124", "banned_until": "2999-01-01T00:00:00Z"},
    {"id": DELETED, "email": "gone@example.com", "phone": "",
     "deleted_at": "2026-01-01T00:00:00Z"},
]


class Rds:
    """The links of the operators' pool (operator_identities)."""

    def execute(self, *_):
        return self

    def fetchall(self):
        return [{"operator_id": SIGNED_IN, "linked_via": "login"},
                {"operator_id": IMPORTED, "linked_via": "import"}]


class SupabaseAuth:
    def users(self):
        yield from USERS


@pytest.fixture
def counted(monkeypatch) -> logins.Census:
    monkeypatch.setattr(logins, "_supabase", lambda settings: SupabaseAuth())
    return logins.census(settings=None, rds=Rds())  # type: ignore[arg-type]


def test_a_phone_sign_up_cannot_move_and_is_not_called_banned_or_deleted(counted):
    assert counted.cannot_move == [(PHONE, "no e-mail (phone sign-up)")]
    assert counted.remaining == [(WAITING, "wait@example.com")]
    assert counted.inactive == 2
    assert counted.as_dict() == {
        "moved": 2, "by_login": 1, "imported": 1, "remaining": 1,
        "cannot_move": [{"id": PHONE, "why": "no e-mail (phone sign-up)"}],
        "not_moved_inactive": 2}


def test_finalize_is_refused_naming_who_cannot_move_and_what_to_do(counted):
    with pytest.raises(GateRefused) as refused:
        logins.refuse_lockout(counted)
    message = str(refused.value)
    assert PHONE in message and "no e-mail (phone sign-up)" in message
    assert "give each an e-mail in Supabase Auth" in message and "ban or delete" in message
    assert "\n" not in message


def test_once_everyone_can_move_finalize_waits_only_for_who_remains(counted):
    counted.cannot_move.clear()
    with pytest.raises(GateRefused, match="import-logins operators"):
        logins.refuse_lockout(counted)
    counted.remaining.clear()
    logins.refuse_lockout(counted)


@pytest.mark.parametrize("user, left", [
    ({"app_metadata": {"providers": ["email"]}}, []),
    ({"app_metadata": {"providers": ["email", "google"]}}, []),   # has a password too
    ({"app_metadata": {"providers": ["google"]}}, ["google"]),
    ({"app_metadata": {"providers": ["github", "google"]}}, ["github, google"]),
    ({"factors": [{"factor_type": "totp", "status": "verified"}]}, ["second factor (totp)"]),
    ({"factors": [{"factor_type": "totp", "status": "unverified"}]}, []),   # never enrolled
    ({"app_metadata": {"providers": ["google"]},
      "factors": [{"factor_type": "webauthn", "status": "verified"}]},
     ["google", "second factor (webauthn)"]),
])
def test_what_the_pool_does_not_carry_over_is_named(user, left):
    said = logins.left_behind(user)
    assert len(said) == len(left)
    assert all(part in line for part, line in zip(left, said, strict=True))
