"""The auditor's pages: find a referral, or the referrals with ledger activity in a period,
its cross-agency timeline from the audit ledger with the access log (who consulted it,
when, why), the chain verification result, the ledger entries as a JSON download, and the
sealed export file (``hub audit verify --file`` checks it) of a referral or a period.
Reading a timeline, or exporting a referral, is itself recorded by the audit service as a
consultation."""

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
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


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text else None
    except ValueError:
        return None


PAGE_SIZE = 50


@router.get("/audit")
async def audit_home(
    request: Request,
    user: Auditor,
    deps: Deps,
    referral: str | None = None,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    context: dict[str, object] = {"title": "Audit", "error": None, "period_error": None}
    if referral is not None:
        found = _referral_id(referral)
        if found is not None:
            return RedirectResponse(f"/audit/referrals/{found}", 303)
        error = "Enter a referral's full reference (36 characters, as in its address)."
        return render(request, "audit.html", {**context, "error": error}, 422)
    if start is None and end is None:
        return render(request, "audit.html", context)
    first, last = _day(start), _day(end)
    if first is None or last is None or last < first:
        error = "Enter the period as two dates, the second not before the first."
        period = {"this_from": start or "", "this_to": end or ""}
        return render(request, "audit.html", {**context, "period_error": error, **period}, 422)
    since = datetime.combine(first, time(), UTC)
    until = datetime.combine(last + timedelta(days=1), time(), UTC)
    found_in = await deps.audit.referrals(
        service_token(deps, user), since, until, page=page, page_size=PAGE_SIZE
    )
    query = {"from": first.isoformat(), "to": last.isoformat()}
    export = {"from": since.isoformat(), "to": until.isoformat()}
    context.update(
        {
            "this_from": first.isoformat(),
            "this_to": last.isoformat(),
            "search": found_in,
            "export_href": f"/audit/export?{urlencode(export)}",
            "next_href": f"/audit?{urlencode({**query, 'page': page + 1})}"
            if page * PAGE_SIZE < found_in.total
            else None,
            "previous_href": f"/audit?{urlencode({**query, 'page': page - 1})}"
            if page > 1
            else None,
        }
    )
    return render(request, "audit.html", context)


@router.get("/audit/export")
async def audit_export_file(
    user: Auditor,
    deps: Deps,
    referral: str | None = None,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
) -> Response:
    """The audit service's sealed export, passed through as a download."""
    params: dict[str, str] = {}
    if referral is not None:
        rid = _referral_id(referral)
        if rid is None:
            raise NOTHING
        params["referral"] = str(rid)
    else:
        for name, text in (("from", start), ("to", end)):
            try:
                if text:
                    params[name] = datetime.fromisoformat(text).isoformat()
            except ValueError:
                raise PageRefused(
                    422, "Not a period", "The period's dates are not valid."
                ) from None
        if not params:
            raise PageRefused(422, "Nothing to export", "Give a referral or a period.")
    try:
        exported = await deps.audit.export(service_token(deps, user), params)
    except NotFound:
        raise NOTHING from None
    return Response(
        exported.data,
        media_type="application/jsonl",
        headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'},
    )


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
