"""Each service process holds only its own secrets, and the files holding them are private.

The test stack's env holds every DSN and key; a service started from it (as ``hub up`` and
the e2e tests start them) must see only its own DSN and keys, never another service's and
never the superuser's. On disk, other users can read none of it.
"""

import os
import stat
from pathlib import Path

import pytest

from infra import postgres_local
from infra.settings import InfraSettings
from infra.stack import PROCESSES, SHARED, env_path, load_env, service_env, service_env_path
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.security


SECRET_LENGTH = 16
"""Shorter foreign values are names, not secrets: passwords and keys are longer."""


def _foreign(stack_env: dict[str, str], service: str) -> dict[str, str]:
    """The stack's values that are not ``service``'s: other services' and the admin's (a
    value it has too, like the public key that checks tokens, is not foreign)."""
    prefix = f"{service.upper()}_"
    own = {v for k, v in stack_env.items() if k in SHARED or k.startswith(prefix)}
    return {
        k: v
        for k, v in stack_env.items()
        if k not in SHARED and not k.startswith(prefix) and v not in own
    }


def _superuser_password(settings: InfraSettings) -> str:
    return postgres_local.superuser_password(settings)


def test_a_spawned_service_holds_only_its_own_dsn_and_keys(
    stack_env: dict[str, str],
    infra_settings: InfraSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The operator's shell may hold superuser and other services' settings: none may leak.
    monkeypatch.setenv("DATABASE_URL", stack_env["HUB_ADMIN_DATABASE_URL"])
    monkeypatch.setenv("HUB_ADMIN_DATABASE_URL", stack_env["HUB_ADMIN_DATABASE_URL"])
    monkeypatch.setenv("CASEWORK_DATABASE_URL", stack_env["CASEWORK_DATABASE_URL"])
    intake = ServiceProcess("intake", stack_env, tmp_path / "intake.log").start()
    try:
        raw = Path(f"/proc/{intake.pid}/environ").read_bytes()
    finally:
        intake.stop()
    environ = dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)
    assert environ["INTAKE_DATABASE_URL"] == stack_env["INTAKE_DATABASE_URL"]
    assert environ["INTAKE_MATCHING_KEY"] == stack_env["INTAKE_MATCHING_KEY"]
    for key, value in _foreign(stack_env, "intake").items():
        assert key not in environ
        # A secret (a DSN, a key, a password) must appear nowhere, even inside another
        # value; a short plain value (another service's user name, "casework") only must
        # not be handed over as a value of its own (a path may contain the word).
        holders = [
            name
            for name, held in environ.items()
            if held == value or (len(value) >= SECRET_LENGTH and value in held)
        ]
        assert not holders, f"intake's environment holds the value of {key} in {holders}"
    assert "DATABASE_URL" not in environ
    assert _superuser_password(infra_settings) not in raw.decode()


@pytest.mark.parametrize("service", PROCESSES)
def test_each_service_gets_its_own_part_of_the_env_and_nothing_else(
    stack_env: dict[str, str], infra_settings: InfraSettings, service: str
) -> None:
    part = service_env(service, stack_env, base={})
    prefix = f"{service.upper()}_"
    assert set(part) == {k for k in stack_env if k in SHARED or k.startswith(prefix)}
    if service != "console":
        assert f"{prefix}DATABASE_URL" in part
    shown = "\n".join(part.values())
    for key, value in _foreign(stack_env, service).items():
        assert value not in shown, f"{service} would get the value of {key}"
    assert _superuser_password(infra_settings) not in shown
    # compose sources env.d/<service>: the same part, nothing more.
    written = load_env_file(service_env_path(infra_settings.root, service))
    assert written == part


def test_the_operator_env_keeps_the_admin_dsn_no_service_file_has_it(
    stack_env: dict[str, str], infra_settings: InfraSettings
) -> None:
    assert load_env(infra_settings.root)["HUB_ADMIN_DATABASE_URL"]
    password = _superuser_password(infra_settings)
    assert password in stack_env["HUB_ADMIN_DATABASE_URL"]
    for service in PROCESSES:
        assert password not in service_env_path(infra_settings.root, service).read_text()


def test_secrets_are_readable_by_their_owner_only(
    stack_env: dict[str, str], infra_settings: InfraSettings
) -> None:
    root = infra_settings.root
    secret_files = [
        env_path(root),
        *(root / "env.d").iterdir(),
        *(path for path in (root / "secrets").iterdir() if path.is_file()),
    ]
    assert (root / "secrets" / postgres_local.SUPERUSER_PASSWORD_FILE) in secret_files
    for path in secret_files:
        assert _mode(path) == 0o600, f"{path} is {oct(_mode(path))}"
    for folder in (root / "secrets", root / "env.d", postgres_local.pg_dir(infra_settings)):
        assert _mode(folder) == 0o700, f"{folder} is {oct(_mode(folder))}"
    data = postgres_local.pg_dir(infra_settings) / "data"
    assert _mode(data) & 0o077 == 0
    # As root the embedded server (its own user) may pass through the state dir, not list it.
    allowed = 0o701 if os.geteuid() == 0 else 0o700
    assert _mode(root) in {0o700, allowed}
    for child in root.iterdir():
        assert _mode(child) & 0o077 == 0, f"{child} is {oct(_mode(child))}"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def load_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of ``path``, as compose's ``set -a; . file`` reads them."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines())
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2 and not pair[0].startswith("#")}
