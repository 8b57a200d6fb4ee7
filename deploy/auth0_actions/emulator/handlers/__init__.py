"""Thin handlers, one module per API area: parse the request, call a backend, render.

Each handler is a function of (app, request) listed once in
:mod:`auth0_actions.emulator.routes`; a handler holds no state and applies
no Auth0 rule of its own (those are the backends'), and never validates a
body (the app's dispatch does, from the OpenAPI document).
"""
