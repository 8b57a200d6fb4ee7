"""Auth0's Actions triggers, one module each (see :mod:`auth0_actions.triggers.base`)."""
