"""Users-export jobs on the wire: POST /jobs/users-exports, GET /jobs/{id}, the download.

The jobs themselves (their states, files and links) are
:class:`~auth0_actions.emulator.backends.jobs.JobsBackend`'s. The download
route needs no bearer token: the random token in its path is the capability
(as Auth0's pre-signed download URLs are), and like S3 it refuses a request
that also carries an ``Authorization`` header (400), so a client leaking its
token there fails.
"""

from __future__ import annotations

from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import ApiError, Request, Response


def create_export(app: EmulatorApp, request: Request) -> Response:
    host = request.headers.get("host") or "127.0.0.1"
    base = app.public_base_url or f"http://{host}"
    return Response(200, app.backends.jobs.create_export(request.json_object(), base))


def get_job(app: EmulatorApp, request: Request) -> Response:
    return Response(200, app.backends.jobs.get(request.params["id"]))


def download_export(app: EmulatorApp, request: Request) -> Response:
    if "authorization" in request.headers:
        # As S3 answers a pre-signed URL that also carries a bearer token:
        # the link is the credential, a second one is refused.
        raise ApiError(
            400,
            "Only one auth mechanism allowed; the pre-signed URL already authorizes "
            "this request, do not send an Authorization header",
            "invalid_argument",
        )
    name = request.params["name"]
    payload = app.backends.jobs.download(request.params["token"], name)
    return Response(
        200,
        payload,
        headers={"content-disposition": f'attachment; filename="{name}"'},
        content_type="application/gzip",
    )
