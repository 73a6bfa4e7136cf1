"""Signing in (the demo sign-in, OpenID Connect) and out."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from services.console import oidc, security_log
from services.console.session import (
    SessionUser,
    flash,
    server_session,
    sign_in,
    sign_out,
    signed_in_user,
    stash,
    unstash,
)
from services.console.web import ConsoleDeps, CurrentUser, Deps, PageRefused, local_path, render

router = APIRouter()
_PENDING = "oidc_login"


def _start_session(request: Request, user: SessionUser, next_path: str) -> RedirectResponse:
    sign_in(request, user)
    security_log.signed_in(
        user=user.user, role=user.role, via=user.via, session=server_session(request).ref
    )
    target = local_path(next_path)
    return RedirectResponse(user.home() if target == "/" else target, 303)


@router.get("/")
async def home(request: Request, deps: Deps) -> Response:
    user = signed_in_user(request, deps.clock.now())
    return RedirectResponse(user.home() if user else "/sign-in", 303)


@router.get("/sign-in")
async def sign_in_page(request: Request, deps: Deps, next: str = "/") -> Response:
    return _sign_in_page(request, deps, next)


def _sign_in_page(
    request: Request, deps: ConsoleDeps, next_path: str, error: str | None = None
) -> Response:
    context: dict[str, Any] = {
        "title": "Sign in",
        "demo_users": deps.demo_users if deps.demo is not None else (),
        "demo": deps.demo is not None,
        "oidc": deps.oidc is not None,
        "next": local_path(next_path),
        "error": error,
    }
    return render(request, "sign_in.html", context, 422 if error else 200)


@router.post("/sign-in/demo")
async def demo_sign_in(
    request: Request,
    deps: Deps,
    demo: Annotated[str, Form(alias="demo_user")] = "",
    next_path: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    if deps.demo is None:
        security_log.sign_in_refused(via="demo", reason="demo_sign_in_off")
        raise PageRefused(404, "Page not found", "The demo sign-in is not enabled here.")
    chosen = next((user for user in deps.demo_users if user.key == demo), None)
    if chosen is None:
        security_log.sign_in_refused(via="demo", reason="unknown_demo_user")
        return _sign_in_page(request, deps, next_path, "Choose a demo user to sign in as.")
    now = int(deps.clock.now().timestamp())
    user = SessionUser(
        user=chosen.user,
        role=chosen.role,
        agency=chosen.agency,
        force=chosen.force,
        name=chosen.name,
        via="demo",
        expires_at=now + deps.settings.session_max_age_s,
    )
    return _start_session(request, user, next_path)


@router.get("/sign-in/oidc")
async def oidc_start(request: Request, deps: Deps, next: str = "/") -> Response:
    client, settings = deps.oidc, deps.settings
    if client is None or settings.oidc_redirect_url is None:
        raise PageRefused(404, "Page not found", "Single sign-on is not configured here.")
    login = oidc.new_login(local_path(next))
    stash(request, _PENDING, login.as_dict())
    try:
        endpoint = str((await client.metadata())["authorization_endpoint"])
    except (oidc.OidcError, KeyError):
        raise _sign_in_failed("the identity provider could not be reached") from None
    url = oidc.authorization_url(
        endpoint,
        client_id=client.client_id,
        redirect_url=settings.oidc_redirect_url,
        scopes=settings.oidc_scopes,
        login=login,
    )
    return RedirectResponse(url, 303)


@router.get("/auth/callback")
async def oidc_callback(
    request: Request,
    deps: Deps,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
) -> Response:
    client, settings = deps.oidc, deps.settings
    pending = unstash(request, _PENDING)
    if client is None or settings.oidc_redirect_url is None or pending is None:
        raise _sign_in_failed("no sign-in was in progress in this browser")
    if not oidc.state_matches(pending["state"], state):
        raise _sign_in_failed("the answer did not belong to this sign-in (state)")
    if error is not None or code is None:
        raise _sign_in_failed("the identity provider did not sign you in")
    try:
        tokens = await client.exchange(code, settings.oidc_redirect_url, pending["verifier"])
        claims = await _validated(client, deps, tokens.id_token, pending["nonce"])
    except oidc.OidcError as exc:
        raise _sign_in_failed(str(exc)) from None
    now = int(deps.clock.now().timestamp())
    user = SessionUser(
        user=str(claims["sub"]),
        role=str(claims.get("role", "")),
        agency=_optional(claims.get("agency")),
        force=_optional(claims.get("force")),
        name=str(claims.get("name") or claims["sub"]),
        via="oidc",
        expires_at=now + min(tokens.expires_in, settings.session_max_age_s),
        access_token=tokens.access_token,
    )
    return _start_session(request, user, pending["next"])


async def _validated(
    client: oidc.OidcClient, deps: ConsoleDeps, id_token: str, nonce: str
) -> dict[str, Any]:
    def check(keys: Any) -> dict[str, Any]:
        return oidc.validate_id_token(
            id_token,
            keys,
            issuer=client.issuer,
            client_id=client.client_id,
            algorithms=deps.settings.oidc_algorithms,
            nonce=nonce,
        )

    try:
        return check(await client.keys())
    except oidc.OidcError:
        # The provider may have rotated its keys since they were fetched: fetch once more.
        return check(await client.keys(refresh=True))


def _optional(value: object) -> str | None:
    return str(value) if isinstance(value, str) and value else None


def _sign_in_failed(why: str) -> PageRefused:
    """The page to show; the refusal is logged (``why`` never holds a token)."""
    security_log.sign_in_refused(via="oidc", reason=why)
    return PageRefused(400, "Sign-in failed", f"Sign-in could not be completed: {why}.")


@router.post("/sign-out")
async def sign_out_now(request: Request) -> Response:
    user, role = security_log.identity(request.session)
    security_log.signed_out(user=user, role=role, session=server_session(request).ref)
    sign_out(request)
    flash(request, "You have signed out.")
    return RedirectResponse("/sign-in", 303)


@router.get("/no-access")
async def no_access(user: CurrentUser) -> Response:
    raise PageRefused(
        403, "No pages for your role", f"The role '{user.role}' has no pages in this console."
    )
