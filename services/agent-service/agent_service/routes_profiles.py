"""Routes of the calling agent's own profile."""
from flask import jsonify

from agent_service import profiles
from agent_service.routes import agents, rds_pool
from agent_service.schemas import Me, ProfileUpdate
from travel_platform.api import body, responds
from travel_platform.web import AGENT, current_identity, require_identity


@agents.get("/me")
@responds(200, Me)
@responds(404, None, "This account has no agent profile")
@require_identity(AGENT)
def me():
    """The calling agent: verified identity and profile (404 without a profile)."""
    return jsonify(profiles.describe_agent(pool=rds_pool(), identity=current_identity()))


@agents.patch("/me")
@responds(200, Me)
@responds(404, None, "This account has no agent profile")
@require_identity(AGENT)
@body(ProfileUpdate)
def update_me(body: ProfileUpdate):
    """Change the caller's agency name, phone or country (not the e-mail)."""
    return jsonify(profiles.update_profile(pool=rds_pool(), identity=current_identity(),
                                           changes=body.changes()))
