"""Thin handlers, one module per API area: parse the request, call a backend, render."""
