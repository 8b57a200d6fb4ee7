"""auth0-actions: Auth0 post-login Actions as reviewed, tested, diffable code."""

__version__ = "0.1.0"
