"""Live sessions: the supervised per-session actor tree and the public library API."""
