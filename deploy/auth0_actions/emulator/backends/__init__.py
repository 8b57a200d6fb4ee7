"""Typed backends, one per API area: the tenant's state (through the Store) and Auth0's rules."""
