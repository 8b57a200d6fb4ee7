"""The local tenant of a project: state under ``.auth0-local/``, served on loopback.

``LocalTenant.open(root)`` is the embedded default behind ``--env local`` and
the engine of ``auth0-actions emulator serve``: an :class:`Emulator` whose
store is ``.auth0-local/tenant.sqlite3`` (so what an apply created is still
there on the next run), whose signing key is ``.auth0-local/signing-key.pem``,
served in-process on 127.0.0.1 by a :class:`ServerThread`. The management
client's id and secret are generated once and kept in
``.auth0-local/management-client.json`` (0600), so they stay the same across
runs; ``write_credentials`` publishes them with the base URL for other
clients in ``.auth0-local/credentials.json`` (which auth0_actions.served_credentials reads).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auth0_actions.emulator.app import Emulator, Settings
from auth0_actions.emulator.auth import write_credentials
from auth0_actions.emulator.backends.clients import new_client_id, new_client_secret
from auth0_actions.emulator.faults import RATE_PROFILES
from auth0_actions.emulator.flows.prompt import SignupPrompt
from auth0_actions.emulator.http import ApiError
from auth0_actions.emulator.server import ServerThread
from auth0_actions.emulator.store import Store
from auth0_actions.emulator.tls import LocalTls, ensure_tls
from auth0_actions.errors import Auth0ActionsError, ConfigError, Location, Problem
from auth0_actions.files import write_private_json
from auth0_actions.sandbox.deps import cache_root
from auth0_actions.secrets import LOCAL_STATE_DIR, Secret
from auth0_actions.served_credentials import LOCAL_CREDENTIALS_FILE
from auth0_actions.yamlsource import KeyPath, YamlDocument, load_yaml

DATABASE_FILE = "tenant.sqlite3"
CLIENT_FILE = "management-client.json"
LOGIN_CLIENT_FILE = "login-client.json"
SELF_SERVICE_CLIENT_FILE = "self-service-client.json"
# Auth0 compares callback URLs exactly (no port wildcard): the login application
# allows these, and more can be added with PATCH /api/v2/clients/{id}.
LOGIN_CALLBACKS = ("http://127.0.0.1:3000/callback", "http://localhost:3000/callback")
LOGOUT_URLS = ("http://127.0.0.1:3000/", "http://localhost:3000/")
# The consent self-service page (`consent-page serve`, port 8766) signs users in here.
SELF_SERVICE_CALLBACKS = (
    "http://127.0.0.1:8766/account/callback",
    "http://localhost:8766/account/callback",
)
TLS_DIR = "tls"


@dataclass(frozen=True)
class ManagementClient:
    client_id: str
    client_secret: Secret


def _management_client(state_dir: Path) -> ManagementClient:
    """The kept client credentials, generated on first use."""
    return _kept_client(state_dir / CLIENT_FILE)


def _login_client(state_dir: Path) -> ManagementClient:
    """The login application's kept id and secret, generated on first use."""
    return _kept_client(state_dir / LOGIN_CLIENT_FILE)


def _kept_client(path: Path) -> ManagementClient:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        client_id, client_secret = data["client_id"], data["client_secret"]
        if isinstance(client_id, str) and isinstance(client_secret, str):
            return ManagementClient(client_id, Secret(client_secret))
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError):
        pass  # unreadable or hand-edited: issue new credentials
    client_id = new_client_id()
    client_secret = new_client_secret()
    write_private_json(path, {"client_id": client_id, "client_secret": client_secret})
    return ManagementClient(client_id, Secret(client_secret))


class LocalTenant:
    """A project's local tenant: the emulator, its persistent state and (optionally) a server."""

    def __init__(
        self,
        project_root: Path,
        *,
        settings: Settings | None = None,
    ) -> None:
        self.root = project_root
        self.state_dir = project_root / LOCAL_STATE_DIR
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(self.state_dir, 0o700)
        database = self.state_dir / DATABASE_FILE
        try:
            self.store = Store(database)
        except sqlite3.DatabaseError as exc:
            raise Auth0ActionsError(
                f"{database}: not a usable SQLite database ({exc}); move it away to start "
                "from an empty local tenant"
            ) from None
        self.app = Emulator(
            self.store,
            state_dir=self.state_dir,
            settings=settings,
            dependency_cache=cache_root(project_root),  # the cache `test` uses
        )
        # The signup page asks for what tenant.yaml's consent block names.
        self.app.flows.signup_prompt = SignupPrompt.for_project(project_root)
        self.client = _management_client(self.state_dir)
        self.login_client = _login_client(self.state_dir)
        self.self_service_client = _kept_client(self.state_dir / SELF_SERVICE_CLIENT_FILE)
        self.seed_clients()
        self.server: ServerThread | None = None
        self.tls: LocalTls | None = None

    def seed_clients(self) -> None:
        """The management client, the login application and the consent self-service page.

        Kept across restarts and ``reset``: their ids and secrets live in
        ``.auth0-local/``; the login application is created once and then left as
        the Management API last changed it (callbacks added through PATCH stay).
        """
        self.app.oauth.register(
            self.client.client_id, self.client.client_secret.reveal(), name="Management client"
        )
        if self.app.backends.clients.find(self.login_client.client_id) is None:
            self.app.backends.clients.create(
                {
                    "name": "Local login application",
                    "app_type": "regular_web",
                    "callbacks": list(LOGIN_CALLBACKS),
                    "allowed_logout_urls": list(LOGOUT_URLS),
                    "client_secret": self.login_client.client_secret.reveal(),
                },
                client_id=self.login_client.client_id,
            )
        if self.app.backends.clients.find(self.self_service_client.client_id) is None:
            self.app.backends.clients.create(
                {
                    "name": "Consent self-service",
                    "app_type": "regular_web",
                    "callbacks": list(SELF_SERVICE_CALLBACKS),
                    "client_secret": self.self_service_client.client_secret.reveal(),
                },
                client_id=self.self_service_client.client_id,
            )

    # -- lifecycle ---------------------------------------------------------
    @classmethod
    @contextlib.contextmanager
    def open(
        cls,
        project_root: Path,
        *,
        serve: bool = True,
        port: int = 0,
        tls: bool = False,
        latency_ms: float = 0.0,
        rate_profile: str = "none",
        build_seconds: float = 0.0,
    ) -> Iterator[LocalTenant]:
        """``with LocalTenant.open(root) as tenant:`` serves it until the block ends."""
        tenant = cls(project_root, settings=Settings(build_seconds=build_seconds))
        try:
            tenant.app.injector.latency_ms = latency_ms
            tenant.app.injector.use_profile(rate_profile)
            if serve:
                tenant.serve(port=port, tls=tls)
            yield tenant
        finally:
            tenant.close()

    def serve(self, *, port: int = 0, tls: bool = False) -> ServerThread:
        if self.server is None:
            context = None
            if tls:
                self.tls = ensure_tls(self.state_dir / TLS_DIR)
                context = self.tls.server_context()
            try:
                self.server = ServerThread(self.app, port=port, tls=context).start()
            except OSError as exc:
                raise Auth0ActionsError(
                    f"cannot serve the local tenant on 127.0.0.1:{port}: {exc.strerror or exc}"
                ) from None
            # Links the tenant hands out (export downloads) must use its real scheme.
            self.app.public_base_url = self.server.base_url
        return self.server

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        self.app.close()

    # -- what clients need ---------------------------------------------------
    @property
    def base_url(self) -> str:
        if self.server is None:
            raise RuntimeError("the local tenant is not being served")
        return self.server.base_url

    @property
    def domain(self) -> str:
        """host:port, as the SDKs' domain arguments take it."""
        return self.base_url.split("://", 1)[1]

    @property
    def client_id(self) -> str:
        return self.client.client_id

    @property
    def client_secret(self) -> Secret:
        return self.client.client_secret

    @property
    def ca_path(self) -> Path | None:
        return self.tls.ca_path if self.tls else None

    @property
    def audience(self) -> str:
        return f"https://{self.app.domain}/api/v2/"

    def credentials(self) -> dict[str, Any]:
        """What a client needs to reach the served tenant (the secret included)."""
        data: dict[str, Any] = {
            "base_url": self.base_url,
            "domain": self.domain,
            "audience": self.audience,
            "client_id": self.client_id,
            "client_secret": self.client_secret.reveal(),
            "login_client_id": self.login_client.client_id,
            "login_client_secret": self.login_client.client_secret.reveal(),
            "login_callbacks": list(LOGIN_CALLBACKS),
            "self_service_client_id": self.self_service_client.client_id,
            "self_service_client_secret": self.self_service_client.client_secret.reveal(),
        }
        if self.ca_path is not None:
            data["ca_path"] = str(self.ca_path)
        return data

    def write_credentials(self) -> Path:
        """.auth0-local/credentials.json (0600) for clients of the served tenant."""
        path = self.state_dir / LOCAL_CREDENTIALS_FILE
        write_credentials(path, self.credentials())
        return path

    # -- state -------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        with self.store._lock:  # the store has no listing of kinds
            rows = self.store._db.execute("SELECT DISTINCT kind FROM docs ORDER BY kind")
            kinds = [str(row[0]) for row in rows.fetchall()]
        return {kind: self.store.count(kind) for kind in kinds}

    def reset(self) -> dict[str, int]:
        """Wipe the tenant's data (actions, users, rules, ...); returns what was removed.

        The management client's credentials, the signing key and the local CA
        are kept, so configured clients go on working.
        """
        with self.store.transaction():
            before = self.counts()
            self.store.clear()
            self.seed_clients()
            after = self.counts()
        self.app.injector.log.clear()
        # The seeded applications are back as they were: not counted as removed.
        removed = {kind: n - after.get(kind, 0) for kind, n in before.items()}
        return {kind: n for kind, n in removed.items() if n > 0}

    def seed(
        self, users: list[dict[str, Any]], source: YamlDocument | None = None
    ) -> list[dict[str, Any]]:
        """Add validated users (see :func:`load_users`) in one transaction: all or none."""
        with self.store.transaction():
            taken = {
                (str(u.get("email", "")).lower(), _connection(u)) for u in self.store.all("user")
            }
            clashes: list[Problem] = []
            for index, user in enumerate(users):
                key = (user["email"].lower(), user["connection"])
                if key in taken:
                    where = (
                        _locate(source, (index, "email"))
                        if source
                        else Location(key=f"users[{index}]")
                    )
                    clashes.append(
                        Problem(
                            where,
                            f"{user['email']} already exists in connection {user['connection']}",
                        )
                    )
                taken.add(key)
            if clashes:
                name = source.path if source else "users"
                raise ConfigError(
                    f"{name}: users already in the local tenant; none loaded", clashes
                )
            created = []
            for index, user in enumerate(users):
                try:
                    body, provider = _create_body(user)
                    created.append(
                        self.app.backends.users.create(
                            body, password_required=False, provider=provider
                        )
                    )
                except ApiError as error:  # a clash the check above cannot see (user_id)
                    where = _locate(source, (index,)) if source else Location(key=f"users[{index}]")
                    name = source.path if source else "users"
                    raise ConfigError(
                        f"{name}: users already in the local tenant; none loaded",
                        [Problem(where, f"{user['email']}: {error.message}")],
                    ) from None
        return created


def _connection(user: dict[str, Any]) -> str:
    identities = user.get("identities") or [{}]
    return str(identities[0].get("connection", ""))


# -- users.yaml -----------------------------------------------------------------
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_STRING_FIELDS = ("name", "nickname", "given_name", "family_name", "picture", "user_id")
_ALLOWED = {
    "email",
    "connection",
    "password",
    "user_metadata",
    "app_metadata",
    "email_verified",
    "blocked",
    *_STRING_FIELDS,
}
METADATA_MAX_BYTES = 16 * 1024


def _metadata_key_problems(value: Any, path: KeyPath, out: list[tuple[KeyPath, str]]) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            if not isinstance(key, str):
                out.append((path, f"keys must be strings, not {key!r}"))
            elif "." in key or "$" in key:
                out.append(((*path, key), "metadata keys must not contain '.' or '$'"))
            _metadata_key_problems(child, (*path, key), out)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            _metadata_key_problems(child, (*path, index), out)


def _check_user(index: int, user: Any, out: list[tuple[KeyPath, str]]) -> None:
    here: KeyPath = (index,)
    if not isinstance(user, dict):
        out.append((here, "each user must be a mapping"))
        return
    for key in user:
        if key not in _ALLOWED:
            out.append(
                ((index, str(key)), f"unknown field (allowed: {', '.join(sorted(_ALLOWED))})")
            )
    email = user.get("email")
    if not isinstance(email, str) or not _EMAIL.match(email):
        out.append(
            ((index, "email") if "email" in user else here, "a valid email address is required")
        )
    connection = user.get("connection")
    if not isinstance(connection, str) or not connection.strip():
        out.append(
            (
                (index, "connection") if "connection" in user else here,
                "a connection name is required",
            )
        )
    if "password" in user and (not isinstance(user["password"], str) or not user["password"]):
        out.append(((index, "password"), "password must be a non-empty string"))
    for flag in ("email_verified", "blocked"):
        if flag in user and not isinstance(user[flag], bool):
            out.append(((index, flag), f"{flag} must be true or false"))
    for field_name in _STRING_FIELDS:
        if field_name in user and not isinstance(user[field_name], str):
            out.append(((index, field_name), f"{field_name} must be a string"))
    for meta in ("user_metadata", "app_metadata"):
        if meta not in user:
            continue
        value = user[meta]
        if not isinstance(value, dict):
            out.append(((index, meta), f"{meta} must be a mapping"))
            continue
        _metadata_key_problems(value, (index, meta), out)
        try:
            size = len(json.dumps(value, default=str))
        except (TypeError, ValueError):
            size = 0
        if size > METADATA_MAX_BYTES:
            out.append(((index, meta), f"{meta} exceeds {METADATA_MAX_BYTES} bytes"))


def _jsonable(value: Any) -> Any:
    """YAML dates and timestamps become ISO strings, as they would over JSON."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def load_users(path: Path) -> tuple[list[dict[str, Any]], YamlDocument]:
    """Read and validate users.yaml: a list of users; every problem names file:line."""
    document: YamlDocument = load_yaml(path)
    data = document.data
    if not isinstance(data, list):
        problem = Problem(document.locate(()), "expected a YAML list of users")
        raise ConfigError(f"{path}: invalid users file", [problem])
    found: list[tuple[KeyPath, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for index, user in enumerate(data):
        _check_user(index, user, found)
        if isinstance(user, dict) and isinstance(user.get("email"), str):
            key = (user["email"].lower(), str(user.get("connection")))
            if key in seen:
                found.append(((index, "email"), f"duplicate of user {seen[key]} in this file"))
            seen.setdefault(key, index)
    if found:
        problems = [Problem(_locate(document, key_path), message) for key_path, message in found]
        raise ConfigError(f"{path}: {len(problems)} problem(s); no user was loaded", problems)
    return [_jsonable(user) for user in data], document


def _locate(document: YamlDocument, key_path: KeyPath) -> Location:
    where = document.locate(key_path)
    key = f"users[{key_path[0]}]" + (
        "".join(f".{part}" for part in key_path[1:]) if len(key_path) > 1 else ""
    )
    return Location(where.file, where.line, where.column, key)


def _create_body(user: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A users.yaml entry as the body of ``POST /api/v2/users``, and its id's provider.

    users.yaml may name the full id (``google-oauth2|abc``); the API takes its
    local part, the provider comes from its prefix.
    """
    body = {k: v for k, v in user.items() if k != "user_id"}
    raw_id = user.get("user_id")
    if not raw_id:
        return body, None
    provider, _, local_id = raw_id.partition("|") if "|" in raw_id else ("", "", raw_id)
    body["user_id"] = local_id
    return body, provider or None


RATE_PROFILE_NAMES = tuple(RATE_PROFILES)
