"""Signing in and out, the session cookie, CSRF on every form, redirects for signed-out users."""

import pytest

from tests.unit.test_console_harness import (
    Console,
    FakeCasework,
    console,
    console_keys,
    fake_casework,
)

pytestmark = pytest.mark.unit
__all__ = ["console", "console_keys", "fake_casework"]


async def test_the_sign_in_page_says_it_is_the_demo_sign_in(console: Console) -> None:
    page = await console.client.get("/sign-in")
    assert page.status_code == 200
    assert "Demo sign-in — local development only." in page.text
    assert "This is the demo sign-in, for development and demonstrations only" in page.text
    assert "Support worker, The Well Communities, Barrow" in page.text
    assert "Police referral coordinator, Cumbria Constabulary" in page.text
    assert 'name="csrf_token"' in page.text


async def test_the_session_cookie_is_secure_http_only_and_same_site_lax(console: Console) -> None:
    token = await console.csrf()
    response = await console.client.post(
        "/sign-in/demo", data={"demo_user": "barrow-worker", "csrf_token": token}
    )
    cookie = response.headers["set-cookie"].lower()
    assert "console_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" in cookie
    assert response.headers["location"] == "/queue"


async def test_the_cookie_holds_only_a_signed_random_id(console: Console) -> None:
    await console.sign_in()
    value = console.client.cookies["console_session"]
    session_id, _, signature = value.partition(".")
    assert len(session_id) >= 43, "256 random bits"
    assert signature
    for gone in ("twc-b-0487", "twc-barrow", "support_worker"):
        assert gone not in value


async def test_a_tampered_session_cookie_is_not_trusted(console: Console) -> None:
    await console.sign_in()
    value = console.client.cookies["console_session"]
    session_id, _, signature = value.partition(".")
    flipped = ("A" if session_id[0] != "A" else "B") + session_id[1:]
    for forged in (f"{flipped}.{signature}", f"{session_id}.{signature[::-1]}", session_id):
        console.client.cookies.clear()
        console.client.cookies.set("console_session", forged, "console.local")
        response = await console.client.get("/queue")
        assert response.status_code == 303, forged
        assert response.headers["location"].startswith("/sign-in")


async def test_signed_out_users_are_sent_to_sign_in_and_back_afterwards(console: Console) -> None:
    response = await console.client.get("/queue?status=accepted")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/queue%3Fstatus%3Daccepted"
    token = await console.csrf(response.headers["location"])
    signed_in = await console.client.post(
        "/sign-in/demo",
        data={"demo_user": "barrow-worker", "csrf_token": token, "next": "/queue?status=accepted"},
    )
    assert signed_in.headers["location"] == "/queue?status=accepted"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
async def test_sign_in_never_redirects_off_the_site(console: Console, target: str) -> None:
    token = await console.csrf()
    response = await console.client.post(
        "/sign-in/demo", data={"demo_user": "police", "csrf_token": token, "next": target}
    )
    assert response.headers["location"] == "/police"


async def test_a_form_without_a_valid_csrf_token_is_refused(
    console: Console, fake_casework: FakeCasework
) -> None:
    await console.sign_in()
    rid = fake_casework.add()
    for data in ({}, {"csrf_token": "forged"}):
        response = await console.client.post(f"/referrals/{rid}/actions/accept", data=data)
        assert response.status_code == 403
        assert "This form was refused" in response.text
    assert fake_casework.actions() == [], "nothing reached casework"


async def test_sign_in_itself_needs_the_csrf_token(console: Console) -> None:
    response = await console.client.post("/sign-in/demo", data={"demo_user": "barrow-worker"})
    assert response.status_code == 403
    assert (await console.client.get("/queue")).status_code == 303, "still signed out"


async def test_the_csrf_token_changes_at_sign_in(console: Console) -> None:
    before = await console.csrf()
    await console.sign_in()
    assert await console.csrf("/queue") != before


async def test_sign_out_ends_the_session(console: Console) -> None:
    await console.sign_in()
    response = await console.post_form("/sign-out", {}, "/queue")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in"
    assert "You have signed out." in (await console.client.get("/sign-in")).text
    assert (await console.client.get("/queue")).status_code == 303


async def test_an_unknown_demo_user_is_refused_with_a_message(console: Console) -> None:
    token = await console.csrf()
    response = await console.client.post(
        "/sign-in/demo", data={"demo_user": "nobody", "csrf_token": token}
    )
    assert response.status_code == 422
    assert "Choose a demo user to sign in as." in response.text


async def test_pages_carry_security_headers(console: Console) -> None:
    response = await console.client.get("/sign-in")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["strict-transport-security"] == "max-age=31536000"


async def test_each_role_lands_on_its_own_page(console: Console) -> None:
    homes = {
        "barrow-worker": "/queue",
        "police": "/police",
        "auditor": "/audit",
        "programme": "/programme",
    }
    for demo, home in homes.items():
        token = await console.csrf()
        response = await console.client.post(
            "/sign-in/demo", data={"demo_user": demo, "csrf_token": token}
        )
        assert response.headers["location"] == home


async def test_a_role_is_refused_pages_of_another_role(console: Console) -> None:
    await console.sign_in("barrow-worker")
    for path in ("/police", "/team", "/audit", "/programme"):
        response = await console.client.get(path)
        assert response.status_code == 403, path
        assert "Not available to your role" in response.text
