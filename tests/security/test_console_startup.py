"""The console as a real process on the real stack: settings that would let anyone in, or
send the session cookie over plain HTTP to the network, stop it at start with a clear
reason; and what a sign-in, a refusal, a forged form and a sign-out leave in its JSON log
(the user and role, never a cookie, a CSRF token, a token or a secret)."""

import json
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.lifecycle_support import free_port
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.security

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
OIDC = {
    "CONSOLE_OIDC_ISSUER": "https://idp.example/realms/cumbria",
    "CONSOLE_OIDC_CLIENT_ID": "referral-hub-console",
    "CONSOLE_OIDC_CLIENT_SECRET": "s3cret-of-the-idp",
    "CONSOLE_OIDC_REDIRECT_URL": "https://console.example/auth/callback",
}


def start_console(stack_env: dict[str, str], **env: str) -> subprocess.CompletedProcess[str]:
    """Run the console until it exits by itself (every case here must refuse to start)."""
    return subprocess.run(
        [sys.executable, "-m", "services.console.main"],
        env={
            "PATH": "/usr/bin:/bin",
            **stack_env,
            "CONSOLE_SESSION_SECRET": secrets.token_urlsafe(32),
            "CONSOLE_HTTP_PORT": str(free_port()),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def refusal(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, f"the console should refuse to start:\n{done.stderr}"
    logged = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert [line["event"] for line in logged] == ["console_refused_to_start"]
    assert "http_listening" not in done.stderr
    return done.stderr


def test_demo_sign_in_beside_openid_connect_stops_the_console(stack_env: dict[str, str]) -> None:
    stderr = refusal(start_console(stack_env, CONSOLE_DEMO_SIGN_IN="true", **OIDC))
    assert "console: refusing to start" in stderr
    assert "CONSOLE_DEMO_SIGN_IN is on while OpenID Connect is configured" in stderr
    assert OIDC["CONSOLE_OIDC_CLIENT_SECRET"] not in stderr


def test_demo_sign_in_beside_half_configured_openid_connect_stops_it_too(
    stack_env: dict[str, str],
) -> None:
    issuer_only = {"CONSOLE_OIDC_ISSUER": OIDC["CONSOLE_OIDC_ISSUER"]}
    stderr = refusal(start_console(stack_env, CONSOLE_DEMO_SIGN_IN="true", **issuer_only))
    assert "CONSOLE_DEMO_SIGN_IN is on while OpenID Connect is configured" in stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "console.internal"])
def test_plain_http_on_a_network_address_stops_the_console(
    stack_env: dict[str, str], host: str
) -> None:
    done = start_console(stack_env, CONSOLE_HTTP_HOST=host, CONSOLE_ALLOW_INSECURE_HTTP="true")
    stderr = refusal(done)
    assert f"only for a console on a loopback address, not {host}" in stderr
    assert "serve it over HTTPS" in stderr


def test_a_console_without_a_session_secret_does_not_start(stack_env: dict[str, str]) -> None:
    stderr = refusal(start_console(stack_env, CONSOLE_SESSION_SECRET=""))
    assert "CONSOLE_SESSION_SECRET must be set" in stderr


@pytest.fixture
def local_console(stack_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, Path, str]]:
    """The console as `hub up` runs it (demo sign-in, plain HTTP on 127.0.0.1); its address,
    its log and its session secret."""
    port, secret, log = free_port(), secrets.token_urlsafe(32), tmp_path / "console.log"
    console = ServiceProcess(
        "console",
        {
            **stack_env,
            "CONSOLE_HTTP_PORT": str(port),
            "CONSOLE_SESSION_SECRET": secret,
            "CONSOLE_DEMO_SIGN_IN": "true",
            "CONSOLE_ALLOW_INSECURE_HTTP": "true",
        },
        log,
    )
    console.start().wait_for_log('"http_listening"')
    try:
        yield f"http://127.0.0.1:{port}", log, secret
    finally:
        console.stop()


async def test_sign_in_refusals_and_sign_out_are_logged_without_secrets(
    local_console: tuple[str, Path, str],
) -> None:
    url, log, secret = local_console
    seen: list[str] = [secret]
    async with httpx.AsyncClient(base_url=url) as browser:

        async def csrf() -> str:
            token = CSRF.search((await browser.get("/sign-in")).text)
            assert token is not None
            seen.append(token.group(1))
            return token.group(1)

        refused = await browser.post(
            "/sign-in/demo", data={"demo_user": "nobody", "csrf_token": await csrf()}
        )
        assert refused.status_code == 422
        signed_in = await browser.post(
            "/sign-in/demo", data={"demo_user": "auditor", "csrf_token": await csrf()}
        )
        assert signed_in.status_code == 303
        seen.append(browser.cookies["console_session"])
        forged = await browser.post("/sign-out", data={"csrf_token": "forged"})
        assert forged.status_code == 403
        signed_out = await browser.post("/sign-out", data={"csrf_token": await csrf()})
        assert signed_out.status_code == 303

    text = log.read_text()
    events = [line for line in _json_lines(text) if line.get("category") == "security"]
    assert [(e["event"], e.get("user"), e.get("role")) for e in events] == [
        ("sign_in_refused", None, None),
        ("sign_in", "cumb-imu-03", "auditor"),
        ("csrf_refused", "cumb-imu-03", "auditor"),
        ("sign_out", "cumb-imu-03", "auditor"),
    ]
    assert events[0]["reason"] == "unknown_demo_user"
    assert events[2]["route"] == "/sign-out"
    assert events[1]["session"] == events[2]["session"] == events[3]["session"]
    for value in seen:
        assert value not in text, "no secret, CSRF token or cookie value in the log"
    assert "Pat Quinn" not in text, "no names"


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]
