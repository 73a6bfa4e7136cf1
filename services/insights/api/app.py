"""The FastAPI application: OpenAPI at /openapi.json, docs at /docs."""

from typing import Any

import asyncpg
from fastapi import FastAPI

from services.insights.api import routes
from services.runtime.api_deps import ApiDeps
from services.runtime.api_errors import install_error_handlers
from services.runtime.api_guard import DEFAULT_HARDENING, ApiHardening, install_guard
from services.runtime.auth import TokenVerifier
from services.runtime.clock import Clock

DESCRIPTION = """Programme figures of referral-hub (insights service): per area and calendar
month, as JSON or CSV, and active county lines as of a date. Aggregates only: no personal
data, no single referral.

Every request carries `Authorization: Bearer <token>`. Errors answer
`{"error": code, "detail": text}`.

## Who sees what

Each reader sees the figures of their own areas only, by the directory in force:

- `police_coordinator`, `programme_manager`: the areas of the token's `force` (the
  directory's `area.force`);
- `support_worker`, `agency_lead`: the areas the token's `agency` serves (the directory's
  `agency.areas`);
- `auditor`: every area, and the rows of what no area covers (`area` null), exact.

Any other role answers 403 `forbidden_role`; a token without the `force` (or `agency`) claim
its role needs answers 403 `no_scope`. `?area=` naming an area you may not see answers 403
`area_out_of_scope`; without it, you get your areas' rows only (none, if the directory gives
you no area). `areas_in_scope` on the page lists them.

## Small numbers

For everyone but auditors, a count from 1 to 4 (referrals, visits, outcomes, cancellations)
is withheld: its value is `null` and the row's `withheld` names it with the reason
`fewer_than_5`. So is a median or rate of fewer than 5 referrals (`from_fewer_than_5`), and
any figure from which a withheld count, or a difference of two counts from 1 to 4, could be
worked out (`reveals_small_count`: e.g. `referrals_contacted` when all but 1 to 4 of the
month's referrals were reached, or the engagement rate when `engaged` is withheld). The page's
`suppressed_below` is 5 (null for auditors: nothing withheld). In CSV a count from 1 to 4 is
`<5`, any other withheld figure `[c]`, and an undefined figure an empty cell. 0 is shown.
`active_county_lines` counts networks, not people, and is never withheld.
"""


def create_app(
    pool: "asyncpg.Pool[Any]",
    verifier: TokenVerifier,
    clock: Clock,
    hardening: ApiHardening = DEFAULT_HARDENING,
) -> FastAPI:
    """The API with the hardening every staff-facing API has: a body limit, no-store,
    security headers, and /docs only where ``hardening`` turns them on."""
    app = FastAPI(
        title="referral-hub insights",
        version="1",
        description=DESCRIPTION,
        **hardening.fastapi_options(),
    )
    app.state.deps = ApiDeps(pool, verifier, clock)
    install_error_handlers(app)
    install_guard(app, hardening)
    app.include_router(routes.router)
    return app
