"""Handlers of the local tenant: parse a request, call a backend, render (nothing else)."""
