"""Moving a booking: the agent cancels, the package's operator confirms or declines
(rules.TRANSITIONS); the status and the seats change in one transaction, on the booking
row locked, so two moves of one booking never both pass the status check."""
from __future__ import annotations

import datetime

from booking_service import clients, repository, rules
from booking_service.backends import Dependencies
from travel_platform.auth import Identity


def transition(*, pool, deps: Dependencies, identity: Identity, booking_id, action: str,
               today: datetime.date) -> dict:
    """Cancel (the agent), confirm or decline (the package's operator) a booking; only an
    active operator confirms (declining stays open to every operator)."""
    rules.ensure_party(identity, action)
    if action == "confirm":
        rules.ensure_may_confirm(clients.calling_operator_status(deps.operators))
    with pool.connection() as conn, conn.transaction():
        booking = repository.get_booking(conn=conn, booking_id=booking_id,
                                         owner=rules.owner_of(identity), lock=True)
        if booking is None:
            raise rules.booking_not_found()
        target = rules.next_status(booking, action, today)
        if rules.frees_seats(target):
            repository.release_seats(conn=conn, package_id=booking["package_id"],
                                     departure_date=booking["departure_date"],
                                     seats=booking["traveller_count"])
        return rules.shown_to(identity, repository.set_status(conn=conn, booking_id=booking_id,
                                                              status=target))
