"""The auditors' API under the same guard as the staff API (its app in-process on a real
ledger): refusals logged as security events, bounded numbers, nothing cacheable, no docs
unless switched on (AUDIT_API_DOCS)."""

from collections.abc import MutableMapping, Sequence
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.integration.test_audit_api_period import Api, api

pytestmark = pytest.mark.security
__all__ = ["api"]


def _security(logs: Sequence[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [line for line in logs if line.get("category") == "security"]


async def test_refusals_are_security_events_and_nothing_is_cacheable(api: Api) -> None:
    with capture_logs() as logs:
        missing = await api.client.get("/audit/verification")
        worker = await api.client.get(
            "/audit/referrals", headers=api.headers(role="support_worker", user="worker-1")
        )
    assert (missing.status_code, worker.status_code) == (401, 403)
    events = _security(logs)
    assert [(e["event"], e.get("reason"), e.get("code"), e["route"]) for e in events] == [
        ("api_authentication_refused", "no_token", None, "/audit/verification"),
        ("api_access_denied", None, "auditors_only", "/audit/referrals"),
    ]
    assert (events[1]["user"], events[1]["role"]) == ("worker-1", "support_worker")
    listed = await api.client.get("/audit/referrals", headers=api.headers())
    assert listed.status_code == 200
    for response in (missing, worker, listed):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["pragma"] == "no-cache"


@pytest.mark.parametrize(
    "query", ["page=9223372036854775808", "page=10001", "page=0", "page_size=201"]
)
async def test_numbers_out_of_range_are_refused(api: Api, query: str) -> None:
    response = await api.client.get(f"/audit/referrals?{query}", headers=api.headers())
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"


async def test_no_docs_unless_switched_on(api: Api) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert (await api.client.get(path)).status_code == 404, path
