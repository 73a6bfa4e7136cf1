"""The sealed export as a download (each referral it holds is recorded as consulted)."""

import uuid
from datetime import UTC

from fastapi import APIRouter
from fastapi.responses import Response

from services.audit import usecases
from services.audit.api.auth import Auditor
from services.audit.api.deps import Ledger, Store
from services.audit.api.params import From, To, utc
from services.audit.auditor_store import ExportScope
from services.runtime.api_deps import Deps
from services.runtime.api_errors import ApiError

router = APIRouter()
EXPORT_MEDIA_TYPE = "application/jsonl"


@router.get("/audit/export")
async def export(
    who: Auditor,
    deps: Deps,
    ledger: Ledger,
    store: Store,
    referral: uuid.UUID | None = None,
    start: From = None,
    end: To = None,
) -> Response:
    """The sealed JSON Lines export ``hub audit export`` writes, as a download; verify it
    with ``hub audit verify --file``. Each referral it holds is recorded as consulted."""
    if (referral is None) == (start is None and end is None):
        raise ApiError(422, "bad_scope", "give either 'referral', or 'from' and/or 'to'")
    if ledger.signing_key is None:
        raise ApiError(503, "no_export_key", "this instance has no key to seal exports")
    scope = ExportScope(referral, utc(start), utc(end))
    data = await usecases.export(store, who, scope, ledger.signing_key, deps.clock, ledger.records)
    name = f"referral-{referral}" if referral is not None else "period"
    stamp = f"{deps.clock.now().astimezone(UTC):%Y%m%dT%H%M%SZ}"
    return Response(
        data,
        media_type=EXPORT_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="audit-{name}-{stamp}.jsonl"'},
    )
