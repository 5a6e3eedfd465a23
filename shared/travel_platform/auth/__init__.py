"""Bearer token verification shared by every service and the gateway."""
from travel_platform.auth.jwks import JwksCache
from travel_platform.auth.tokens import (
                                CognitoVerifier,
                                Identity,
                                SupabaseVerifier,
                                TokenVerifier,
                                bearer_token,
)

__all__ = ["CognitoVerifier", "Identity", "JwksCache", "SupabaseVerifier", "TokenVerifier",
           "bearer_token"]
