"""GET /verify/<policy>: nginx's `auth_request` asks it about each guarded request, and
it answers who the caller is (X-Auth-Source, X-Auth-Subject) or why they are refused
(X-Auth-Error-*), with how long nginx may reuse the answer (verdicts.py)."""
import time

from flask import Blueprint, current_app, request

from gateway_auth.verdicts import VerdictCache, cache_seconds, nginx_expires
from travel_platform.auth.tokens import AGENT, OPERATOR
from travel_platform.errors import APIError, NotFound, status_and_code
from travel_platform.web import authenticate, verdict_fresh_for

# Which kinds of caller a route family admits; gateway/gateway_config names each family's
# policy. Which issuers an operator's token may come from follows their move to Cognito
# (OperatorLogins).
POLICIES = {"agent": {AGENT}, "operator": {OPERATOR}, "any": {AGENT, OPERATOR}}
PUBLIC = "public"

blueprint = Blueprint("verify", __name__)


def _header_safe(text: str) -> str:
    # nginx pastes these into a JSON body and a header: keep them plain.
    return "".join(c for c in text if c.isprintable() and c not in '"\\')[:200]


def _refusal(error: APIError):
    status, code = status_and_code(error)
    return "", status, {"X-Auth-Error-Code": code,
                        "X-Auth-Error-Message": _header_safe(error.message)}


def _decide(policy: str, allowed: set[str]):
    """(seconds the answer may be reused, answer) for the request's token under `policy`."""
    try:
        identity = authenticate()
    except APIError as error:
        return 0, _refusal(error)  # a refusal is never reused: the next token may be fixed
    seconds = cache_seconds(identity, fresh_for=verdict_fresh_for(), now=time.time())
    if identity.kind not in allowed:
        wanted = " or ".join(f"an {kind}'s" for kind in sorted(allowed))
        return seconds, ("", 403, {
            "X-Auth-Error-Code": "wrong_token_issuer",
            "X-Auth-Error-Message": f"this route needs {wanted} token"})
    return seconds, ("", 200, {"X-Auth-Source": identity.source,
                               "X-Auth-Subject": identity.subject})


@blueprint.get("/verify/<policy>")
def verify(policy: str):
    """200 with identity headers if the token may use routes of `policy`; 401/403 otherwise.
    `X-Auth-Cache` says whether the verdict was reused (HIT) or made now (MISS)."""
    if policy == PUBLIC:
        return "", 200
    allowed = POLICIES.get(policy)
    if allowed is None:
        return _refusal(NotFound("no such route"))
    authorization = request.headers.get("Authorization")
    verdicts: VerdictCache = current_app.extensions["verdicts"]
    try:
        phase = current_app.extensions["operator_logins"].state() if authorization else ""
    except APIError as error:
        return _refusal(error)
    key = VerdictCache.key(policy, authorization or "", phase=phase)
    now = time.time()
    cached = verdicts.get(key) if authorization else None
    if cached is not None:
        (body, status, headers), until = cached
        return body, status, {**headers, "X-Auth-Cache": "HIT",
                              "X-Accel-Expires": nginx_expires(until, now=now)}
    seconds, answer = _decide(policy, allowed)
    verdicts.put(key, answer, seconds=seconds, now=now)
    body, status, headers = answer
    return body, status, {**headers, "X-Auth-Cache": "MISS",
                          "X-Accel-Expires": nginx_expires(now + seconds, now=now)}
