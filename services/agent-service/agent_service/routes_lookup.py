"""The lookup route for booking-service."""
from flask import Blueprint, jsonify

from agent_service import lookup
from agent_service.routes import rds_pool
from agent_service.schemas import AgentLookup, AgentLookupQuery
from travel_platform.api import query, responds
from travel_platform.web import current_identity, require_identity

# Not under /api: the gateway never routes it. booking-service calls it directly with its
# caller's bearer token, which is verified here like any other.
internal = Blueprint("internal", __name__, url_prefix="/internal/agents")


@internal.get("")
@responds(200, AgentLookup)
@require_identity()
@query(AgentLookupQuery)
def lookup_agents(query: AgentLookupQuery):
    """Agents by Cognito sub (?sub=a,b,c or ?sub=a&sub=b; at most 100), for booking-service.

    Any verified token (the caller's, forwarded). An agent is told about themselves only
    (sub, agency_name, status, commission_rate); an operator gets sub and agency_name of
    active and suspended agents (those who can have booked). Other subs are left out.
    Booking is for `active` agents only. Send large batches in the comma form: 100 repeated
    `sub=` parameters exceed the 4094-byte request line."""
    return jsonify(lookup.lookup_agents(pool=rds_pool(), identity=current_identity(),
                                        subs=query.sub))
