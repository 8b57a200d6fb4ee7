"""Consent records in user_metadata: read, grant, withdraw, audit and export them."""
