"""Test builders: one module per entity, one frozen dataclass per builder.

Each builder makes its entity the way a user or an issuer's admin does (through the gateway,
Cognito's or the Auth stand-in's admin API), with unique names, so tests never depend on
each other or on the demo data. What a test then asserts on the entity's JSON it reads from
the dataclass's `answer` (what the API answered when the entity was made)."""
