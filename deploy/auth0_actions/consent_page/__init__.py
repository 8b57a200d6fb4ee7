"""The consent page: a reference implementation of the consent token contract.

The consent-redirect Action sends the browser here with a signed session
token; the page shows the terms and sends the decision back to the tenant's
``/continue`` as a new signed token (docs/consent.md, "Consent page
token contract"). ``tokens`` signs and checks the HS256 tokens, ``page`` renders
the HTML, ``server`` serves it (``auth0-actions consent-page serve``).
"""
