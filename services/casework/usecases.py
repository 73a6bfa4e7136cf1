"""The staff API's work, each on a ``CaseworkStore`` inside ONE transaction the caller opens
(the API route: ``PgCaseworkStore`` on its connection; tests: the in-memory store): actions
become events through the outbox with the state change they cause; every detail read is
recorded as a consultation. A refusal (``Refused``) is raised before anything is written.

Every action is decided with the referral's row locked, against the log's state with
casework's own decisions not yet read back laid over it (``Stored.shown``): two quick
actions see each other, and no decision of casework's consumer (an offer expiring, a
cancellation) can slip in between. An action's events join the referral's pending
decisions; casework's consumer folds them into the log's state when they come back from
the log, at their log position, exactly once.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from referral_schemas import EventData, PersonalDetails, SealedPersonal, make_envelope
from referral_schemas.access_v1 import ConsultationPurpose, ReferralConsulted
from referral_schemas.topics import ACCESS_EVENTS, REFERRAL_EVENTS

from services.casework.decisions import (
    POLICE,
    STAFF,
    Actor,
    AgencyDirectory,
    Command,
    Direct,
    Refusal,
    RefusalKind,
    can_see,
    decide,
)
from services.casework.domain import Status, shown
from services.casework.store import (
    CaseworkStore,
    IdempotencyKey,
    QueueQuery,
    Stored,
    StoredResponse,
)
from services.casework.views import ActionResult, QueuePage, ReferralDetail, detail, queue_item
from services.runtime.clock import CausalIds, Clock
from services.runtime.outbox import event_message
from services.runtime.tracing import context_of, continuing, traced

SOURCE = "referral-hub/casework"
DETAIL_VIA = "casework-api GET /referrals/{referral_id}"


class Refused(Exception):
    """The action or read is refused; nothing was changed."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.code)
        self.refusal = refusal


NOT_FOUND = Refusal("not_found", "no such referral", RefusalKind.NOT_FOUND)
OUT_OF_SCOPE = Refusal("not_found", "no such referral", RefusalKind.OUT_OF_SCOPE)
"""Another agency's or force's referral: the same answer as an unknown one."""
KEY_REUSED = Refusal(
    "idempotency_key_reused",
    "this Idempotency-Key was already used for a different request; use a new key",
    RefusalKind.INVALID,
)


@dataclass(frozen=True)
class ActionRequest:
    referral_id: uuid.UUID
    command: Command
    actor: Actor
    cause: uuid.UUID
    """Derived from the Idempotency-Key (or random without one): event ids derive from it."""
    key: IdempotencyKey | None
    fingerprint: str
    """Hash of method, path and body: the same key must come with the same request."""


@dataclass(frozen=True)
class Response:
    status_code: int
    body: dict[str, Any]


async def perform(store: CaseworkStore, request: ActionRequest, clock: Clock) -> Response:
    if request.key is not None:
        answered = await store.lock_idempotency_key(request.key)
        if answered is not None:
            if answered.fingerprint != request.fingerprint:
                raise Refused(KEY_REUSED)
            return Response(answered.status_code, answered.body)
    stored = await store.load(request.referral_id, lock=True)
    if stored is None:
        raise Refused(NOT_FOUND)
    agencies = await _directory(store) if isinstance(request.command, Direct) else None
    decision = decide(stored.shown, request.command, request.actor, clock.now(), agencies)
    if isinstance(decision, Refusal):
        raise Refused(decision)
    response = await _record(store, stored, decision, request, clock)
    if request.key is not None:
        saved = StoredResponse(request.fingerprint, response.status_code, response.body)
        await store.store_response(request.key, saved)
    return response


def idempotency_key(actor: Actor, key: str) -> IdempotencyKey:
    """The key as this caller's: a user id means one person only at one agency or force, so
    the same user id and key from two agencies are two requests."""
    scope = f"agency:{actor.agency or ''} force:{actor.force or ''}"
    return IdempotencyKey(scope, actor.user, key)


async def _directory(store: CaseworkStore) -> AgencyDirectory | None:
    agencies = await store.directory_agencies()
    if agencies is None:
        return None
    return {str(a["code"]): bool(a["active"]) for a in agencies}


async def _record(
    store: CaseworkStore,
    stored: Stored,
    events: list[EventData],
    request: ActionRequest,
    clock: Clock,
) -> Response:
    ids = CausalIds("casework-api", request.cause)
    view = stored.shown
    referral_id = str(view.referral_id)
    made = [
        make_envelope(
            data,
            id=ids.new(f"{index}/{data.EVENT_TYPE}"),
            source=SOURCE,
            time=clock.now(),
            subject=referral_id,
            correlation_id=view.correlation_id,
            causation_id=None,
            actor=f"user:{request.actor.user}",
            agency=request.actor.agency,
        )
        for index, data in enumerate(events)
    ]
    # The action continues the referral's trace: its span is a child of the latest event.
    parent = context_of(*await store.latest_trace(view.referral_id))
    name = f"{type(request.command).__name__} action"
    with continuing(name, parent, request.cause):
        envelopes = [traced(envelope) for envelope in made]
    await store.save(stored.state, (*stored.pending, *envelopes))
    await store.enqueue([event_message(REFERRAL_EVENTS, referral_id, e) for e in envelopes])
    result = ActionResult(
        referral_id=view.referral_id,
        status=shown(view, envelopes).status,
        events=[e.type for e in envelopes],
        event_ids=[e.id for e in envelopes],
    )
    return Response(200, result.model_dump(mode="json"))


OpenDetails = Callable[[uuid.UUID, SealedPersonal | None], Awaitable[PersonalDetails | None]]
"""(referral id, sealed details) -> the details opened, None once erased: casework's
``DetailsOpener`` on the caller's connection (personal.py)."""


async def consult(
    store: CaseworkStore,
    referral_id: uuid.UUID,
    actor: Actor,
    clock: Clock,
    event_id: uuid.UUID,
    open_details: OpenDetails,
) -> ReferralDetail:
    """The referral's detail, recording the read as ReferralConsulted (hub.access); the
    person's details opened for it (``open_details``), never stored in clear."""
    stored = await store.load(referral_id, lock=False)
    if stored is None:
        raise Refused(NOT_FOUND)
    state = stored.shown
    if not can_see(state, actor):
        raise Refused(OUT_OF_SCOPE)
    timeline = await store.timeline(referral_id)
    now = clock.now()
    consulted = ReferralConsulted(
        referral_id=referral_id,
        user=actor.user,
        agency=actor.agency,
        role=actor.role.value,
        purpose=_purpose(actor),
        consulted_at=now,
        via=DETAIL_VIA,
    )
    envelope = make_envelope(
        consulted,
        id=event_id,
        source=SOURCE,
        time=now,
        subject=str(referral_id),
        correlation_id=state.correlation_id,
        causation_id=None,
        actor=f"user:{actor.user}",
        agency=actor.agency,
    )
    await store.enqueue([event_message(ACCESS_EVENTS, str(referral_id), envelope)])
    details = await open_details(referral_id, state.personal)
    return detail(state, details, timeline, stored.pending, now)


def _purpose(actor: Actor) -> ConsultationPurpose:
    if actor.role in POLICE:
        return ConsultationPurpose.POLICE_COORDINATION
    return ConsultationPurpose.CASEWORK


@dataclass(frozen=True)
class QueueFilters:
    status: Status | None
    area: str | None
    overdue: bool | None
    limit: int
    offset: int


async def queue(
    store: CaseworkStore, actor: Actor, filters: QueueFilters, clock: Clock
) -> QueuePage:
    """Staff get their agency's queue; police coordinators their force's referrals."""
    if actor.role in STAFF and actor.agency is not None:
        column, scope = "agency", actor.agency
    elif actor.role in POLICE and actor.force is not None:
        column, scope = "force", actor.force
    else:
        raise Refused(
            Refusal("role_not_allowed", "this role has no referral queue", RefusalKind.FORBIDDEN)
        )
    now = clock.now()
    query = QueueQuery(
        column,
        scope,
        filters.status,
        filters.area,
        filters.overdue,
        filters.limit,
        filters.offset,
        now,
    )
    states, total = await store.queue(query)
    items = [queue_item(s, now) for s in states]
    return QueuePage(items=items, total=total, limit=filters.limit, offset=filters.offset)
