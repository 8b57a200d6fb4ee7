"""The local tenant's pages, styled like Universal Login: sign in, sign up, reset, errors.

One centred card on a grey page, the tenant's name above a heading, labelled
inputs, one primary button, and errors shown on the form (``role="alert"``)
so a wrong password keeps the user on the form. No JavaScript: the forms work
with any browser or HTTP client, and the Content-Security-Policy allows only
the inline style sheet.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from urllib.parse import urlencode

from auth0_actions.emulator.flows.prompt import SignupPrompt
from auth0_actions.emulator.http import Response

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
)

_STYLE = """
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
background:#f3f4f6;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1e212a}
main{width:400px;max-width:100%;background:#fff;border-radius:5px;padding:40px;
box-shadow:0 12px 40px rgba(0,0,0,.12)}
header{text-align:center;margin-bottom:24px}
.tenant{font-size:14px;color:#65676e;margin:0 0 8px}
h1{font-size:24px;font-weight:400;margin:0 0 8px}
header p{margin:0;font-size:14px;color:#65676e}
label{display:block;font-size:14px;margin:16px 0 4px}
input[type=email],input[type=password],input[type=text]{width:100%;height:52px;padding:0 16px;
border:1px solid #c9cace;border-radius:3px;font-size:16px}
input:focus{outline:none;border-color:#635dff;box-shadow:0 0 0 1px #635dff}
.check{display:flex;gap:8px;align-items:flex-start;font-size:14px}
.check input{margin-top:4px}
button{width:100%;height:52px;margin-top:24px;border:0;border-radius:3px;background:#635dff;
color:#fff;font-size:16px;cursor:pointer}
button:hover{background:#4d47e0}
.alert{background:#ffeaea;border-left:4px solid #d03c38;color:#9b1c1c;padding:12px 16px;
font-size:14px;margin:0 0 8px}
.notice{background:#e9f7ef;border-left:4px solid #13a688;padding:12px 16px;font-size:14px}
.links{text-align:center;font-size:14px;margin-top:24px}
a{color:#635dff}
"""


def document(title: str, tenant: str, heading: str, body: str, status: int = 200) -> Response:
    """A whole page: the card with the tenant's name, a heading and ``body`` (already HTML)."""
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body><main>"
        f'<header><p class="tenant">{escape(tenant)}</p><h1>{escape(heading)}</h1></header>'
        f"{body}</main></body></html>"
    )
    return Response(
        status,
        html.encode(),
        {"content-security-policy": CONTENT_SECURITY_POLICY, "cache-control": "no-store"},
        content_type="text/html; charset=utf-8",
    )


def alert(message: str | None) -> str:
    return f'<p class="alert" role="alert">{escape(message)}</p>' if message else ""


def _input(name: str, label: str, kind: str, value: str = "", *, required: bool = True) -> str:
    autocomplete = {"email": "email", "password": "current-password"}.get(kind, "off")
    return (
        f'<label for="{escape(name)}">{escape(label)}</label>'
        f'<input id="{escape(name)}" name="{escape(name)}" type="{kind}" value="{escape(value)}" '
        f'autocomplete="{autocomplete}"{" required" if required else ""}>'
    )


def error_page(tenant: str, heading: str, message: str, status: int = 400) -> Response:
    """A refusal that must not redirect anywhere: the message on the card."""
    return document(heading, tenant, heading, alert(message), status)


def message_page(tenant: str, heading: str, message: str, status: int = 200) -> Response:
    return document(heading, tenant, heading, f'<p class="notice">{escape(message)}</p>', status)


def login_page(
    tenant: str, tx_id: str, *, email: str = "", error: str | None = None, status: int = 200
) -> Response:
    """The sign-in form of a login transaction, with a link to sign up instead."""
    signup = "/u/signup?" + urlencode({"tx": tx_id})
    body = (
        alert(error)
        + '<form method="post" action="/u/login">'
        + f'<input type="hidden" name="tx" value="{escape(tx_id)}">'
        + _input("email", "Email address", "email", email)
        + _input("password", "Password", "password")
        + '<button type="submit">Continue</button></form>'
        + f'<p class="links">Don\'t have an account? <a href="{escape(signup)}">Sign up</a></p>'
    )
    return document(
        "Log in", tenant, "Welcome", f"<p>Log in to {escape(tenant)}</p>" + body, status
    )


def signup_page(
    tenant: str,
    tx_id: str,
    prompt: SignupPrompt,
    *,
    values: Mapping[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    """The database connection's signup form: email, password, the extra fields, the terms box."""
    values = values or {}
    parts = [
        alert(error),
        '<form method="post" action="/u/signup">',
        f'<input type="hidden" name="tx" value="{escape(tx_id)}">',
        _input("email", "Email address", "email", values.get("email", "")),
        _input("password", "Password", "password").replace("current-password", "new-password"),
    ]
    for extra in prompt.fields:
        parts.append(
            _input(
                extra.name, extra.label, "text", values.get(extra.name, ""), required=extra.required
            )
        )
    if prompt.terms_field:
        links = []
        if prompt.terms_url:
            links.append(f'<a href="{escape(prompt.terms_url)}">Terms of Service</a>')
        if prompt.privacy_url:
            links.append(f'<a href="{escape(prompt.privacy_url)}">Privacy Policy</a>')
        what = " and ".join(links) or "Terms of Service"
        required = " required" if prompt.must_accept_terms else ""
        parts.append(
            f'<label class="check"><input type="checkbox" name="{escape(prompt.terms_field)}" '
            f'value="true"{required}><span>I agree to the {what}</span></label>'
        )
    for box in prompt.purposes:
        # Optional: never ticked in advance (GDPR Recital 32), never required.
        label = escape(box.label)
        if box.url:
            label = f'{label} (<a href="{escape(box.url)}">details</a>)'
        parts.append(
            f'<label class="check"><input type="checkbox" name="{escape(box.name)}" '
            f'value="true"><span>{label}</span></label>'
        )
    login = "/u/login?" + urlencode({"tx": tx_id})
    parts += [
        '<button type="submit">Continue</button></form>',
        f'<p class="links">Already have an account? <a href="{escape(login)}">Log in</a></p>',
    ]
    intro = f"<p>Sign up to {escape(tenant)}</p>"
    return document("Sign up", tenant, "Create your account", intro + "".join(parts), status)


def reset_page(
    tenant: str, ticket: str, email: str, *, error: str | None = None, status: int = 200
) -> Response:
    """The password reset form a ticket opens."""
    body = (
        alert(error)
        + f"<p>Enter a new password for {escape(email)}</p>"
        + '<form method="post" action="/u/reset-password">'
        + f'<input type="hidden" name="ticket" value="{escape(ticket)}">'
        + _input("password", "New password", "password").replace("current-password", "new-password")
        + '<button type="submit">Reset password</button></form>'
    )
    return document("Reset your password", tenant, "Change your password", body, status)
