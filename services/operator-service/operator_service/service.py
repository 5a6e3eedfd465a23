"""Rules of operator-service."""
from __future__ import annotations

from shared.auth import Identity
from shared.errors import NotFound
from shared.web import identity_view

from operator_service import repository

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def describe_operator(*, pool, identity: Identity) -> dict:
    """The verified identity of the operator with their profile, if they have one."""
    with repository.as_caller(pool=pool, identity=identity) as conn:
        profile = repository.get_operator(conn=conn, user_id=identity.subject)
    return {"identity": identity_view(identity), "profile": profile}


def list_published_packages(*, pool, identity: Identity, limit: int | None,
                            offset: int | None) -> dict:
    """A page of published packages; the page size is capped."""
    limit = min(max(limit or DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)
    offset = max(offset or 0, 0)
    with repository.as_caller(pool=pool, identity=identity) as conn:
        rows = repository.list_published_packages(conn=conn, limit=limit, offset=offset)
    return {"data": rows, "limit": limit, "offset": offset}


def get_package(*, pool, identity: Identity, package_id) -> dict:
    """A package visible to the caller; 404 (never 403) so drafts of others do not leak."""
    with repository.as_caller(pool=pool, identity=identity) as conn:
        package = repository.get_package(conn=conn, package_id=package_id)
    if package is None:
        raise NotFound("no such package", code="package_not_found")
    return package
