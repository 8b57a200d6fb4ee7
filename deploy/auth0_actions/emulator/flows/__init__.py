"""The flows of the local tenant besides login, and the trigger runs they do.

``runner`` runs a trigger's bound actions and records the execution;
``signup`` (pre- then post-user-registration), ``password`` (post-change-password),
``credentials`` (credentials-exchange) build each trigger's event from the
request and apply its outcome, through the same backends the Management API uses.
"""
