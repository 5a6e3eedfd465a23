"""agent-service: travel agents and their documents, on RDS + Cognito + S3."""
import boto3
from flask import Flask

from agent_service.accounts import AttemptLimit
from agent_service.routes import register_blueprints
from agent_service.settings import AgentSettings
from agent_service.storage import DocumentStore
from travel_platform.auth.operator_logins import OperatorLogins
from travel_platform.cognito import CognitoAccounts
from travel_platform.db import create_rds_pool, ping
from travel_platform.settings import load_settings
from travel_platform.web import admit_operators, configure_service, register_health

SERVICE_NAME = "agent-service"


def create_app(config: dict | None = None) -> Flask:
    """Build the agent-service app; `config` overrides environment settings."""
    settings = load_settings(AgentSettings, config)
    app = Flask(__name__)
    configure_service(app, name=SERVICE_NAME, settings=settings)
    pool = create_rds_pool(settings, name=SERVICE_NAME)
    admit_operators(app, OperatorLogins(pool))
    # One boto3 client each per app (they are thread-safe); boto3 takes the endpoint and
    # credentials from the environment, so the same code runs on moto and on AWS.
    accounts = CognitoAccounts(boto3.client("cognito-idp", region_name=settings.aws_region),
                               user_pool_id=settings.aws_cognito_user_pool_id,
                               client_id=settings.dashboard_client_id)
    s3 = boto3.client("s3", region_name=settings.aws_region)
    # Presigning is local (no request): a client for the browsers' address, if it differs.
    presigner = (boto3.client("s3", region_name=settings.aws_region,
                              endpoint_url=settings.aws_s3_public_endpoint_url)
                 if settings.aws_s3_public_endpoint_url else s3)
    store = DocumentStore(s3, presigner=presigner, bucket=settings.aws_s3_bucket)
    attempt_limit = AttemptLimit(
        attempts=settings.account_attempts_per_window,
        window_seconds=settings.account_attempt_window_seconds,
        all_addresses=settings.account_attempts_per_window_all_addresses)
    app.extensions.update(rds=pool, cognito_accounts=accounts, document_store=store,
                          attempt_limit=attempt_limit)
    register_health(app, checks={"rds": lambda: ping(pool)})
    register_blueprints(app)
    return app
