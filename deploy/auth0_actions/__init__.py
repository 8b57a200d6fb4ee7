"""auth0-actions: Auth0 Actions (every trigger) as reviewed, tested, diffable code."""

__version__ = "0.1.0"
