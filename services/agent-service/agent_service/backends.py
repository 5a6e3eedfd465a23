"""What agent-service talks to besides its database, opened from its settings: one boto3
client each per app (they are thread-safe); boto3 takes the endpoint and credentials from
the environment, so the same code runs on moto and on AWS."""
import boto3

from agent_service.accounts import AttemptLimit
from agent_service.settings import AgentSettings
from agent_service.storage import DocumentStore
from travel_platform.cognito import CognitoAccounts


def open_cognito_accounts(settings: AgentSettings) -> CognitoAccounts:
    """The agents' Cognito pool, through the dashboard's app client."""
    return CognitoAccounts(boto3.client("cognito-idp", region_name=settings.aws_region),
                           user_pool_id=settings.aws_cognito_user_pool_id,
                           client_id=settings.dashboard_client_id)


def open_document_store(settings: AgentSettings) -> DocumentStore:
    """The S3 bucket of agents' documents."""
    s3 = boto3.client("s3", region_name=settings.aws_region)
    # Presigning is local (no request): a client for the browsers' address, if it differs.
    presigner = (boto3.client("s3", region_name=settings.aws_region,
                              endpoint_url=settings.aws_s3_public_endpoint_url)
                 if settings.aws_s3_public_endpoint_url else s3)
    return DocumentStore(s3, presigner=presigner, bucket=settings.aws_s3_bucket)


def attempt_limit(settings: AgentSettings) -> AttemptLimit:
    """How many attempts at one account flow one account may make per window."""
    return AttemptLimit(
        attempts=settings.account_attempts_per_window,
        window_seconds=settings.account_attempt_window_seconds,
        all_addresses=settings.account_attempts_per_window_all_addresses)
