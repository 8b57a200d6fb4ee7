"""Backends of the local tenant: one typed class per area, owning its state and Auth0's rules.

No HTTP here: handlers parse a request, call a backend and render; a backend
raises :class:`auth0_actions.emulator.http.ApiError` with Auth0's error body
where Auth0 answers with one.
"""
