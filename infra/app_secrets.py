"""Secrets the services need besides database passwords (e.g. intake's matching key).

Generated once per stack and kept in ``<state_dir>/secrets/app-secrets.json`` (0600), so
restarts keep matching new intelligence to referrals opened before them.
"""

import json
import secrets

from infra import write_private
from infra.settings import InfraSettings

# env variable -> what it is for
APP_SECRETS = {
    "INTAKE_MATCHING_KEY": "keyed hashes that match people and addresses",
    "CONSOLE_SESSION_SECRET": "signs the console's session cookies",
}


def ensure_app_secrets(settings: InfraSettings) -> dict[str, str]:
    """The env values of every app secret, generating any that are missing."""
    path = settings.root / "secrets" / "app-secrets.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.is_file() else {}
    missing = [name for name in APP_SECRETS if name not in stored]
    for name in missing:
        stored[name] = secrets.token_urlsafe(32)
    if missing:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_private(path, json.dumps(stored, indent=2, sort_keys=True) + "\n")
    return {name: stored[name] for name in APP_SECRETS}
