"""casework's staff API as the console uses it, with the signed-in user's token.

The console keeps its own read models of casework's JSON (unknown fields ignored), so the
two services share only the HTTP contract, never code.
"""

import uuid
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class QueueItem(_Model):
    referral_id: uuid.UUID
    status: str
    risk_level: str
    reason_categories: list[str]
    visitor_safety: list[str]
    force: str
    agency: str | None
    area: str | None
    postcode_district: str
    opened_at: datetime
    due_by: datetime | None
    paused_remaining: timedelta | None = None
    overdue: bool
    held: bool
    hold_reason: str | None
    escalation_reason: str | None = None
    assigned_to: str | None
    outcome: str | None
    cancel_reason: str | None = None


class QueuePage(_Model):
    items: list[QueueItem]
    total: int
    limit: int
    offset: int


class Subject(_Model):
    given_name: str
    family_name: str
    date_of_birth: date | None
    phone: str | None


class Address(_Model):
    line1: str
    line2: str | None
    town: str
    postcode: str


class TimelineEntry(_Model):
    event_id: uuid.UUID
    type: str
    at: datetime
    actor: str
    agency: str | None
    summary: dict[str, Any]
    no_effect: str | None = None
    """The code of why the event had no effect where it landed, if it had none."""
    pending: bool = False
    """Recorded by casework, not yet read back from the event log."""


class Referral(QueueItem):
    isa_version: str | None
    subject: Subject | None = None
    """None once the person's details were erased."""
    address: Address | None = None
    personal_details_erased_at: datetime | None = None
    amended_at: datetime | None = None
    previous_referral_id: uuid.UUID | None = None
    directed_to: str | None = None
    contact_attempts: int
    visit_attempts: int
    visits_completed: int
    first_contact_at: datetime | None
    engagement: str | None
    timeline: list[TimelineEntry]


class Agency(_Model):
    code: str
    name: str
    active: bool


class UpstreamError(Exception):
    """A service did not answer usefully; the message is safe to show."""


class NotSignedIn(Exception):
    """The service refused the token (expired or revoked): the user must sign in again."""


class NotFound(Exception):
    """Unknown, or not shared with the user: the same to the user, on purpose."""


class Refused(Exception):
    """casework refused the action; ``detail`` says why in words a user can act on."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.detail = detail


class CaseworkClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def queue(self, token: str, **filters: str | int | bool | None) -> QueuePage:
        params = {
            name: str(value).lower() if isinstance(value, bool) else value
            for name, value in filters.items()
            if value is not None and value != ""
        }
        response = await self._call("GET", "/referrals", token, params=params)
        return QueuePage.model_validate(response.json())

    async def referral(self, token: str, referral_id: uuid.UUID) -> Referral:
        response = await self._call("GET", f"/referrals/{referral_id}", token)
        return Referral.model_validate(response.json())

    async def agencies(self, token: str) -> list[Agency]:
        """The active agencies of the directory in force, as casework knows it; none if
        casework has not received a directory (a coordinator then types the code)."""
        response = await self._call("GET", "/agencies", token)
        listed = [Agency.model_validate(a) for a in response.json().get("agencies", [])]
        return [a for a in listed if a.active]

    async def act(
        self,
        token: str,
        referral_id: uuid.UUID,
        path: str,
        body: dict[str, str] | None,
        *,
        key: str,
        method: str = "POST",
    ) -> dict[str, Any]:
        """One staff action; ``key`` is the Idempotency-Key, so a re-sent form acts once."""
        response = await self._call(
            method,
            f"/referrals/{referral_id}/{path}",
            token,
            json=body,
            headers={"Idempotency-Key": key},
        )
        result: dict[str, Any] = response.json()
        return result

    async def _call(
        self,
        method: str,
        path: str,
        token: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        try:
            response = await self._http.request(
                method,
                path,
                params=params,
                json=json,
                headers={"Authorization": f"Bearer {token}", **(headers or {})},
            )
        except httpx.HTTPError:
            raise UpstreamError("the casework service could not be reached") from None
        if response.status_code == 200:
            return response
        if response.status_code == 401:
            raise NotSignedIn()
        if response.status_code == 404:
            raise NotFound()
        code, detail = _error_of(response)
        if response.status_code in (403, 409, 422):
            raise Refused(response.status_code, code, detail)
        raise UpstreamError(f"the casework service failed ({response.status_code})")


def _error_of(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "error", "the casework service gave no reason"
    if not isinstance(body, dict):
        return "error", "the casework service gave no reason"
    return str(body.get("error", "error")), str(body.get("detail", "no reason given"))
