"""Behaviour scenarios for rendered actions, run in the sandbox."""
