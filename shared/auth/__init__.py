"""Bearer token verification shared by every service and the gateway."""
from shared.auth.jwks import JwksCache
from shared.auth.tokens import (
                                CognitoVerifier,
                                Identity,
                                SupabaseVerifier,
                                TokenVerifier,
                                bearer_token,
)

__all__ = ["CognitoVerifier", "Identity", "JwksCache", "SupabaseVerifier", "TokenVerifier",
           "bearer_token"]
