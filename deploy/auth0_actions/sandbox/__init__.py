"""The sandbox: Auth0's post-login runtime in isolated, long-lived Node workers."""
