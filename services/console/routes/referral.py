"""One referral: its detail with the action forms, its timeline, and the actions.

Every page here reads the referral from casework, which records each read as a
consultation (DPA 2018 s.62). An id the user may not see reads exactly like an unknown id.
"""

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.console import actions
from services.console.casework import Agency, NotFound, Referral, Refused, UpstreamError
from services.console.session import SessionUser, flash
from services.console.web import ConsoleDeps, CurrentUser, Deps, PageRefused, render, service_token

router = APIRouter()

NOT_FOUND = PageRefused(
    404,
    "Referral not found",
    "There is no referral with this reference that you may see. It may not exist, or it may "
    "not be shared with your agency.",
)


def _may_open_referrals(user: SessionUser) -> None:
    if not (user.is_staff or user.is_police):
        raise PageRefused(
            403, "Not available to your role", "Referrals are opened by agency staff and police."
        )


def _parse(referral_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(referral_id)
    except ValueError:
        raise NOT_FOUND from None


async def _load(deps: ConsoleDeps, user: SessionUser, referral_id: uuid.UUID) -> Referral:
    try:
        return await deps.casework.referral(service_token(deps, user), referral_id)
    except NotFound:
        raise NOT_FOUND from None


async def _agencies(
    deps: ConsoleDeps, user: SessionUser, offered: list[actions.ActionSpec]
) -> list[Agency]:
    """The agencies to choose from, when a form offered asks for one. Without casework's
    list (none received, or unreachable) the form asks for the code instead."""
    if not any(field.from_agencies for spec in offered for field in spec.fields):
        return []
    try:
        return await deps.casework.agencies(service_token(deps, user))
    except (NotFound, Refused, UpstreamError):
        return []


async def _detail_page(
    request: Request,
    deps: ConsoleDeps,
    user: SessionUser,
    referral: Referral,
    *,
    error: str | None = None,
    error_action: str | None = None,
    status: int = 200,
) -> Response:
    offered = actions.offered(referral.status, referral.held, user.role)
    context: dict[str, Any] = {
        "title": f"Referral {str(referral.referral_id)[:8].upper()}",
        "referral": referral,
        "actions": offered,
        "agencies": await _agencies(deps, user, offered),
        "keys": {spec.name: str(uuid.uuid4()) for spec in actions.ACTIONS},
        "error": error,
        "error_action": error_action,
        "back": "/police" if user.is_police else "/queue",
    }
    return render(request, "referral.html", context, status)


@router.get("/referrals/{referral_id}")
async def referral_page(
    referral_id: str, request: Request, user: CurrentUser, deps: Deps
) -> Response:
    _may_open_referrals(user)
    referral = await _load(deps, user, _parse(referral_id))
    return await _detail_page(request, deps, user, referral)


@router.get("/referrals/{referral_id}/timeline")
async def timeline_page(
    referral_id: str, request: Request, user: CurrentUser, deps: Deps
) -> Response:
    _may_open_referrals(user)
    referral = await _load(deps, user, _parse(referral_id))
    context = {
        "title": f"Timeline of referral {str(referral.referral_id)[:8].upper()}",
        "referral": referral,
    }
    return render(request, "timeline.html", context)


@router.post("/referrals/{referral_id}/actions/{action}")
async def act(
    referral_id: str, action: str, request: Request, user: CurrentUser, deps: Deps
) -> Response:
    _may_open_referrals(user)
    rid = _parse(referral_id)
    spec = actions.BY_NAME.get(action)
    if spec is None:
        raise PageRefused(404, "Page not found", "There is no such action.")
    form = {name: value for name, value in (await request.form()).items() if isinstance(value, str)}
    body = actions.request_body(spec, form, role=user.role, user=user.user)
    if isinstance(body, actions.FormProblem):
        referral = await _load(deps, user, rid)
        return await _detail_page(
            request, deps, user, referral, error=body.message, error_action=spec.name, status=422
        )
    key = form.get("action_key") or str(uuid.uuid4())
    try:
        await deps.casework.act(
            service_token(deps, user), rid, spec.path, body, key=key[:200], method=spec.method
        )
    except NotFound:
        raise NOT_FOUND from None
    except Refused as exc:
        referral = await _load(deps, user, rid)
        message = f"{spec.title} was refused: {exc.detail}."
        return await _detail_page(
            request, deps, user, referral, error=message, error_action=spec.name, status=exc.status
        )
    flash(request, spec.done)
    return RedirectResponse(f"/referrals/{rid}", 303)
