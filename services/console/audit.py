"""The audit service's API for auditors as the console uses it, with the user's token:
``GET /audit/referrals/{id}/timeline`` (the ledger entries about one referral; the read is
itself recorded as a consultation), ``GET /audit/verification`` (every chain recomputed
and every signed checkpoint checked, now), ``GET /audit/referrals?from&to`` (referrals
with ledger activity in a period) and ``GET /audit/export`` (the sealed JSON Lines file)."""

import re
import uuid
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from services.console.casework import NotFound, NotSignedIn, Refused, UpstreamError


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class LedgerEntry(_Model):
    position: int
    topic: str
    partition: int
    offset: int
    event_id: str | None
    type: str | None
    event_time: datetime | None
    actor: str | None
    agency: str | None
    category: str | None
    recipients: list[str] = []
    purpose: str | None = None
    hash: str
    producer: str | None = None
    """Who signed the record, as the ledger verified it (None: not verified)."""
    provenance: str | None = None
    """``verified``, ``bad_signature`` or ``untrusted_producer``; None before provenance."""

    @property
    def signed_by(self) -> str:
        """What the auditor reads in the "Signed by" column."""
        if self.provenance == "verified" and self.producer:
            return self.producer
        if self.provenance is None:
            return "not checked"
        return f"refused: {self.provenance.replace('_', ' ')}"

    @property
    def is_consultation(self) -> bool:
        return self.category == "consultation"


class Finding(_Model):
    position: int | None
    reason: str
    detail: str


class Verification(_Model):
    ok: bool
    entries_verified: int
    head: str | None = None
    checkpoints: int
    checkpoints_verified: int
    referrals: int
    key_id: str | None = None
    first_bad_entry: int | None = None
    findings: list[Finding] = []


class ReferralActivity(_Model):
    referral_id: str
    entries: int
    consultations: int
    first_at: datetime | None = None
    last_at: datetime | None = None


class PeriodSearch(_Model):
    page: int
    page_size: int
    total: int
    referrals: list[ReferralActivity] = []


class ExportFile(_Model):
    data: bytes
    filename: str


class AuditClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def timeline(self, token: str, referral_id: uuid.UUID) -> list[LedgerEntry]:
        body = await self._get(f"/audit/referrals/{referral_id}/timeline", token)
        return [LedgerEntry.model_validate(entry) for entry in body.get("entries", [])]

    async def timeline_raw(self, token: str, referral_id: uuid.UUID) -> dict[str, Any]:
        return await self._get(f"/audit/referrals/{referral_id}/timeline", token)

    async def verification(self, token: str) -> Verification:
        return Verification.model_validate(await self._get("/audit/verification", token))

    async def referrals(
        self, token: str, start: datetime, end: datetime, page: int = 1, page_size: int = 50
    ) -> PeriodSearch:
        params = {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "page": str(page),
            "page_size": str(page_size),
        }
        return PeriodSearch.model_validate(await self._get("/audit/referrals", token, params))

    async def export(self, token: str, params: dict[str, str]) -> ExportFile:
        """The sealed export (``referral``, or ``from``/``to``), bytes as the service sent."""
        response = await self._send("/audit/export", token, params)
        disposition = response.headers.get("content-disposition", "")
        name = re.sub(r"[^A-Za-z0-9._-]", "", disposition.partition('filename="')[2])
        name = name or "audit-export.jsonl"
        return ExportFile(data=response.content, filename=name)

    async def _get(
        self, path: str, token: str, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        response = await self._send(path, token, params)
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            raise UpstreamError("the audit service gave an unreadable answer") from None
        return body

    async def _send(
        self, path: str, token: str, params: dict[str, str] | None = None
    ) -> httpx.Response:
        try:
            response = await self._http.get(
                path, params=params, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError:
            raise UpstreamError("the audit service could not be reached") from None
        if response.status_code == 401:
            raise NotSignedIn()
        if response.status_code == 404:
            raise NotFound()
        if response.status_code == 403:
            raise Refused(403, "forbidden", "the audit service is for auditors only")
        if response.status_code != 200:
            raise UpstreamError(f"the audit service failed ({response.status_code})")
        return response
