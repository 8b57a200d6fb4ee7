"""Typed backends, one per API area: each owns its state and Auth0's rules for it (no HTTP)."""
