"""The local tenant: an Auth0-compatible Management API and login emulator."""
