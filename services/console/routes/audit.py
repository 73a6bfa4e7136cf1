"""The auditor's pages: find a referral, its cross-agency timeline from the audit ledger
with the access log (who consulted it, when, why), the chain verification result, and the
ledger entries as a JSON download. Reading a timeline is itself recorded by the audit
service as a consultation."""

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from services.console.casework import NotFound
from services.console.session import SessionUser
from services.console.web import CurrentUser, Deps, PageRefused, render, service_token

router = APIRouter()

NOTHING = PageRefused(
    404,
    "Nothing in the ledger",
    "The audit ledger holds nothing about this referral. Check the reference; a referral "
    "opened moments ago reaches the ledger within a few seconds.",
)


def auditor(user: CurrentUser) -> SessionUser:
    if user.role != "auditor":
        raise PageRefused(403, "Not available to your role", "These pages are for auditors.")
    return user


Auditor = Annotated[SessionUser, Depends(auditor)]


def _referral_id(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        return None


@router.get("/audit")
async def audit_home(request: Request, user: Auditor, referral: str | None = None) -> Response:
    if referral is not None:
        found = _referral_id(referral)
        if found is not None:
            return RedirectResponse(f"/audit/referrals/{found}", 303)
        error = "Enter a referral's full reference (36 characters, as in its address)."
        return render(request, "audit.html", {"title": "Audit", "error": error}, 422)
    return render(request, "audit.html", {"title": "Audit", "error": None})


@router.get("/audit/referrals/{referral_id}")
async def audit_timeline(referral_id: str, request: Request, user: Auditor, deps: Deps) -> Response:
    rid = _referral_id(referral_id)
    if rid is None:
        raise NOTHING
    try:
        entries = await deps.audit.timeline(service_token(deps, user), rid)
    except NotFound:
        raise NOTHING from None
    context = {
        "title": f"Audit of referral {str(rid)[:8].upper()}",
        "referral_id": rid,
        "entries": entries,
        "consultations": [e for e in entries if e.is_consultation],
    }
    return render(request, "audit_timeline.html", context)


@router.get("/audit/referrals/{referral_id}/ledger.json")
async def audit_export(referral_id: str, user: Auditor, deps: Deps) -> Response:
    rid = _referral_id(referral_id)
    if rid is None:
        raise NOTHING
    try:
        body = await deps.audit.timeline_raw(service_token(deps, user), rid)
    except NotFound:
        raise NOTHING from None
    return Response(
        json.dumps(body, indent=2, sort_keys=True),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="ledger-{rid}.json"'},
    )


@router.get("/audit/verification")
async def audit_verification(request: Request, user: Auditor, deps: Deps) -> Response:
    result = await deps.audit.verification(service_token(deps, user))
    return render(
        request, "audit_verification.html", {"title": "Ledger verification", "result": result}
    )
