"""Routes of agent administration (members of the Cognito group `admins`)."""
from flask import jsonify

from agent_service import administration, documents
from agent_service.routes import agents, document_store, rds_pool
from agent_service.schemas import (
    AgentAdminView,
    AgentListQuery,
    AgentPage,
    CommissionRateRequest,
    DocumentList,
    DownloadLink,
)
from travel_platform.api import body, query, responds
from travel_platform.web import current_identity, require_admin


@agents.get("")
@responds(200, AgentPage)
@require_admin
@query(AgentListQuery)
def list_agents(query: AgentListQuery):
    """Agents, optionally of one status, oldest first, a page at a time (admins)."""
    return jsonify(administration.list_agents(pool=rds_pool(), status=query.status,
                                              limit=query.limit, offset=query.offset))


@agents.get("/<uuid:agent_id>")
@responds(200, AgentAdminView)
@require_admin
def get_agent(agent_id):
    """One agent (admins)."""
    return jsonify(administration.get_agent(pool=rds_pool(), agent_id=agent_id))


def _transition(agent_id, action: str):
    return jsonify(administration.change_status(pool=rds_pool(), admin=current_identity(),
                                                agent_id=agent_id, action=action))


@agents.post("/<uuid:agent_id>/approve")
@responds(200, AgentAdminView)
@responds(409, None, "The agent is not pending")
@require_admin
def approve_agent(agent_id):
    """Approve a pending agent: they become active and may book (admins)."""
    return _transition(agent_id, "approve")


@agents.post("/<uuid:agent_id>/suspend")
@responds(200, AgentAdminView)
@responds(409, None, "The agent is not active")
@require_admin
def suspend_agent(agent_id):
    """Suspend an active agent (admins)."""
    return _transition(agent_id, "suspend")


@agents.post("/<uuid:agent_id>/reactivate")
@responds(200, AgentAdminView)
@responds(409, None, "The agent is not suspended")
@require_admin
def reactivate_agent(agent_id):
    """Make a suspended agent active again (admins)."""
    return _transition(agent_id, "reactivate")


@agents.put("/<uuid:agent_id>/commission-rate")
@responds(200, AgentAdminView)
@require_admin
@body(CommissionRateRequest)
def set_commission_rate(agent_id, body: CommissionRateRequest):
    """Set an agent's commission rate, 0 to 1 with at most 4 decimals (admins)."""
    return jsonify(administration.set_commission_rate(pool=rds_pool(), agent_id=agent_id,
                                                      commission_rate=body.commission_rate))


@agents.get("/<uuid:agent_id>/documents")
@responds(200, DocumentList)
@require_admin
def agent_documents(agent_id):
    """An agent's documents, to review them (admins)."""
    return jsonify(documents.agent_documents(pool=rds_pool(), agent_id=agent_id))


@agents.get("/<uuid:agent_id>/documents/<uuid:document_id>/download")
@responds(200, DownloadLink)
@responds(409, None, "The file has not been uploaded and checked yet")
@require_admin
def agent_document_download(agent_id, document_id):
    """A presigned GET, valid for two minutes, for an agent's document (admins)."""
    return jsonify(documents.agent_document_link(pool=rds_pool(), store=document_store(),
                                                 agent_id=agent_id, document_id=document_id))
