"""The sandbox: Auth0's Actions runtime (every trigger) in isolated, long-lived Node workers."""
