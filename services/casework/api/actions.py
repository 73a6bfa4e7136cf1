"""Staff actions. Each is checked against the referral's current state and, if accepted,
recorded as events through the outbox in the same transaction as the state change.

Send an ``Idempotency-Key`` header: the same key again (for the same request) returns the
first answer and changes nothing; the same key with a different request is refused (422).
Keys belong to the caller's user id at the caller's agency (or force).
"""

import hashlib
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from services.casework import decisions as d
from services.casework import usecases
from services.casework.api import bodies as b
from services.casework.api.auth import CurrentActor
from services.casework.store import PgCaseworkStore
from services.casework.views import ActionResult
from services.runtime.api_deps import ApiDeps, Deps

_KEY_NAMESPACE = uuid.UUID("0c8f6f52-2a59-4d7e-9a57-5b0e4c1f3a21")

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique text (e.g. a UUID) per intended action; printable ASCII.",
    ),
]


@dataclass(frozen=True)
class ActionContext:
    request: Request
    deps: ApiDeps
    actor: d.Actor
    key: str | None


def action_context(
    request: Request, deps: Deps, actor: CurrentActor, key: IdempotencyKey = None
) -> ActionContext:
    return ActionContext(request, deps, actor, key)


Ctx = Annotated[ActionContext, Depends(action_context)]
router = APIRouter(tags=["actions"], responses={200: {"model": ActionResult}})


async def _run(
    ctx: ActionContext, referral_id: uuid.UUID, command: d.Command, body: b.Body | None = None
) -> JSONResponse:
    request = ctx.request
    body_json = body.model_dump_json() if body is not None else ""
    fingerprint = hashlib.sha256(
        f"{request.method} {request.url.path}\n{body_json}".encode()
    ).hexdigest()
    key = usecases.idempotency_key(ctx.actor, ctx.key) if ctx.key else None
    # Event ids derive from the key, so they are unique per agency too.
    cause = uuid.uuid5(_KEY_NAMESPACE, key.text()) if key else uuid.uuid4()
    action = usecases.ActionRequest(referral_id, command, ctx.actor, cause, key, fingerprint)
    async with ctx.deps.pool.acquire() as conn, conn.transaction():
        response = await usecases.perform(PgCaseworkStore(conn), action, ctx.deps.clock)
    return JSONResponse(response.body, response.status_code)


@router.post("/referrals/{referral_id}/accept")
async def accept(referral_id: uuid.UUID, ctx: Ctx) -> JSONResponse:
    """Accept a referral routed to your agency and awaiting acceptance."""
    return await _run(ctx, referral_id, d.Accept())


@router.post("/referrals/{referral_id}/decline")
async def decline(referral_id: uuid.UUID, body: b.DeclineBody, ctx: Ctx) -> JSONResponse:
    """Decline a referral awaiting acceptance, with a reason code."""
    return await _run(ctx, referral_id, d.Decline(body.reason), body)


@router.post("/referrals/{referral_id}/assign")
async def assign(referral_id: uuid.UUID, body: b.AssignBody, ctx: Ctx) -> JSONResponse:
    """Assign an accepted referral to a worker (agency leads: anyone; workers: themselves)."""
    return await _run(ctx, referral_id, d.Assign(body.worker), body)


@router.post("/referrals/{referral_id}/contact-attempts")
async def contact_attempt(referral_id: uuid.UUID, body: b.ContactBody, ctx: Ctx) -> JSONResponse:
    """Record an attempt to contact the person."""
    return await _run(ctx, referral_id, d.RecordContact(body.method, body.result), body)


@router.post("/referrals/{referral_id}/visit-attempts")
async def visit_attempt(referral_id: uuid.UUID, body: b.VisitAttemptBody, ctx: Ctx) -> JSONResponse:
    """Record a home visit that did not happen as planned."""
    return await _run(ctx, referral_id, d.RecordVisitAttempt(body.result), body)


@router.post("/referrals/{referral_id}/visits")
async def visit(referral_id: uuid.UUID, ctx: Ctx) -> JSONResponse:
    """Record a completed home visit."""
    return await _run(ctx, referral_id, d.RecordVisit())


@router.post("/referrals/{referral_id}/engagement")
async def engagement(referral_id: uuid.UUID, body: b.EngagementBody, ctx: Ctx) -> JSONResponse:
    """Record how far the person engages with support."""
    return await _run(ctx, referral_id, d.RecordEngagement(body.level), body)


@router.post("/referrals/{referral_id}/holds")
async def place_hold(referral_id: uuid.UUID, body: b.HoldBody, ctx: Ctx) -> JSONResponse:
    """Police coordinators: put a referral of your force on hold (do not approach)."""
    return await _run(ctx, referral_id, d.PlaceHold(body.reason), body)


@router.delete("/referrals/{referral_id}/holds")
async def lift_hold(referral_id: uuid.UUID, ctx: Ctx) -> JSONResponse:
    """Police coordinators: lift the hold on a referral of your force."""
    return await _run(ctx, referral_id, d.LiftHold())


@router.post("/referrals/{referral_id}/complete")
async def complete(referral_id: uuid.UUID, body: b.CompleteBody, ctx: Ctx) -> JSONResponse:
    """Complete an accepted referral (not on hold) with an outcome from the closed set."""
    return await _run(ctx, referral_id, d.Complete(body.outcome), body)


@router.post("/referrals/{referral_id}/close")
async def close(referral_id: uuid.UUID, ctx: Ctx) -> JSONResponse:
    """Close a completed referral; its outcome then goes back to the police."""
    return await _run(ctx, referral_id, d.Close())


# The police coordinator's resolution of a referral no agency has accepted. Each is valid
# only before an agency accepts it (409 ``already_accepted`` after), for the referral's force.


@router.post("/referrals/{referral_id}/direct")
async def direct(referral_id: uuid.UUID, body: b.DirectBody, ctx: Ctx) -> JSONResponse:
    """Police coordinators: offer a referral not yet accepted (typically escalated) to a
    named agency, overriding the directory's capacity (ReferralDirected); routing then
    offers it to exactly that agency. The agency must be active in the directory in force
    (422 ``unknown_agency`` / ``agency_inactive``) once casework has received one."""
    return await _run(ctx, referral_id, d.Direct(body.agency, body.reason), body)


@router.post("/referrals/{referral_id}/close-escalation")
async def close_escalation(
    referral_id: uuid.UUID, body: b.CloseEscalationBody, ctx: Ctx
) -> JSONResponse:
    """Police coordinators: close a referral no agency has accepted, with an outcome
    (EscalationClosed), e.g. ``safeguarding_escalated`` when the police take it on."""
    return await _run(ctx, referral_id, d.CloseEscalation(body.outcome), body)


@router.post("/referrals/{referral_id}/cancel")
async def cancel(referral_id: uuid.UUID, body: b.CancelBody, ctx: Ctx) -> JSONResponse:
    """Police coordinators: cancel a referral no agency has accepted (ReferralCancelled)."""
    return await _run(ctx, referral_id, d.CancelReferral(body.reason), body)
