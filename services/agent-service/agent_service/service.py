"""Rules of agent-service."""
from __future__ import annotations

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from shared.auth import Identity
from shared.web import identity_view
from shared.errors import Forbidden, ServiceUnavailable, Unauthorized

from agent_service import repository
from agent_service.settings import AgentSettings

# Cognito errors that all mean "these credentials do not sign in"; one answer for all,
# so the API never tells whether an account exists.
_BAD_CREDENTIALS = {"NotAuthorizedException", "UserNotFoundException"}


def login(*, settings: AgentSettings, email: str, password: str) -> dict:
    """Sign an agent in with Cognito's USER_PASSWORD_AUTH flow."""
    client = boto3.client("cognito-idp", region_name=settings.aws_region)
    try:
        result = client.initiate_auth(
            ClientId=settings.cognito_client_ids[0], AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password})
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code in _BAD_CREDENTIALS:
            raise Unauthorized("invalid e-mail or password", code="invalid_credentials") from None
        if code == "UserNotConfirmedException":
            raise Forbidden("the account is not confirmed yet", code="account_not_confirmed") from None
        raise ServiceUnavailable("the sign-in service failed") from exc
    except BotoCoreError as exc:
        raise ServiceUnavailable("the sign-in service is unreachable") from exc
    if "AuthenticationResult" not in result:
        raise Forbidden(f"sign-in needs another step: {result.get('ChallengeName')}",
                        code="challenge_required")
    tokens = result["AuthenticationResult"]
    return {"access_token": tokens["AccessToken"], "id_token": tokens.get("IdToken"),
            "refresh_token": tokens.get("RefreshToken"), "expires_in": tokens["ExpiresIn"],
            "token_type": "Bearer"}


def describe_agent(*, conn, identity: Identity) -> dict:
    """The verified identity of the caller with their agent profile, if they have one."""
    return {"identity": identity_view(identity),
            "profile": repository.get_agent_by_sub(conn=conn, cognito_sub=identity.subject)}
