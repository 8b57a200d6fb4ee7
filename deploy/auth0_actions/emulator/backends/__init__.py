"""The local tenant's backends: one typed class per area, owning its state and Auth0's rules."""
