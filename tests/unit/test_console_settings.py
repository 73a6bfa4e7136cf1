"""The console's settings refuse what would let anyone in, or send cookies over plain HTTP
to the network; the demo sign-in and plain HTTP are off unless asked for."""

import pytest
from pydantic import ValidationError

from services.console.settings import ConsoleSettings

pytestmark = pytest.mark.unit


def test_demo_sign_in_and_plain_http_are_off_by_default() -> None:
    settings = ConsoleSettings()
    assert settings.demo_sign_in is False
    assert settings.allow_insecure_http is False


@pytest.mark.parametrize("oidc", ["oidc_issuer", "oidc_client_id", "oidc_redirect_url"])
def test_demo_sign_in_beside_any_openid_connect_setting_is_refused(oidc: str) -> None:
    with pytest.raises(ValidationError, match="CONSOLE_DEMO_SIGN_IN is on while OpenID"):
        ConsoleSettings.model_validate({"demo_sign_in": True, oidc: "https://idp.example"})


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_plain_http_is_allowed_on_loopback(host: str) -> None:
    assert ConsoleSettings(http_host=host, allow_insecure_http=True).allow_insecure_http


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "console.internal"])
def test_plain_http_is_refused_anywhere_else(host: str) -> None:
    with pytest.raises(ValidationError, match="only for a console on a loopback address"):
        ConsoleSettings(http_host=host, allow_insecure_http=True)


def test_serving_needs_the_database_a_long_secret_and_for_the_demo_its_key() -> None:
    problems = ConsoleSettings(demo_sign_in=True, session_secret="short").serving_problems()
    assert len(problems) == 3
    assert "CONSOLE_DATABASE_URL" in problems[0]
    assert "CONSOLE_SESSION_SECRET" in problems[1]
    assert "CONSOLE_TOKEN_PRIVATE_KEY_FILE" in problems[2]
