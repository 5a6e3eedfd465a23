"""The steps of the move, one module per command. Each is safe to repeat: it looks at the
recorded state and at the servers, does what is left, and refuses (changing nothing) when
the step does not apply yet, saying which command comes first."""
