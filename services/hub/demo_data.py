"""The demo stream: fictional Cumbria intelligence for Barrow, Kendal and Carlisle.

Every person and address here is invented. Ids are derived from the references, so
running the demo twice sends the same events again, which the hub must absorb harmlessly.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from referral_schemas.topics import intelligence_key

_DEMO = uuid.UUID("0b7d0c1e-7a51-4d55-8b8e-1c0f5d2a9e41")


@dataclass(frozen=True)
class DemoPerson:
    given: str
    family: str
    dob: str
    line1: str
    town: str
    postcode: str


BARROW_1 = DemoPerson(
    "Jordan", "Pike", "1984-06-02", "14 Cavendish Street", "Barrow-in-Furness", "LA14 1DW"
)
BARROW_2 = DemoPerson(
    "Kian", "Hollis", "2010-02-17", "8 Greengate Street", "Barrow-in-Furness", "LA13 9BZ"
)
BARROW_3 = DemoPerson(
    "Maureen", "Tully", "1961-09-30", "Flat 2, 41 Duke Street", "Barrow-in-Furness", "LA14 1RP"
)
KENDAL_1 = DemoPerson("Shane", "Rigg", "1997-12-11", "5 Sandes Avenue", "Kendal", "LA9 4LL")
CARLISLE_1 = DemoPerson("Aaron", "Bell", "1990-03-08", "22 Botchergate", "Carlisle", "CA1 1QS")
CARLISLE_2 = DemoPerson("Leanne", "Graham", "1988-07-21", "3 Raffles Avenue", "Carlisle", "CA2 7EF")


@dataclass(frozen=True)
class DemoItem:
    description: str
    message: dict[str, Any]

    @property
    def key(self) -> str:
        """Intelligence is keyed by force and reference (see referral_schemas.topics)."""
        return intelligence_key(
            self.message["data"]["force"], self.message["data"]["intelligence_ref"]
        )


def _envelope(kind: str, ref: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid5(_DEMO, f"{kind}/{ref}")),
        "source": "urn:police:cumbria:records",
        "type": kind,
        "schemaversion": 1,
        "time": at.isoformat(),
        "subject": intelligence_key("cumbria", ref),
        "datacontenttype": "application/json",
        "correlationid": str(uuid.uuid5(_DEMO, f"correlation/{ref}")),
        "causationid": None,
        "actor": "user:cumbria-1clic-demo",
        "agency": "cumbria-constabulary",
        "data": data,
    }


def submitted(
    ref: str, who: DemoPerson, indicators: list[str], at: datetime, **extra: Any
) -> dict[str, Any]:
    data = {
        "force": "cumbria",
        "intelligence_ref": ref,
        "recorded_at": at.isoformat(),
        "subject": {"given_name": who.given, "family_name": who.family, "date_of_birth": who.dob},
        "address": {"line1": who.line1, "town": who.town, "postcode": who.postcode},
        "indicators": indicators,
        "county_line": extra.pop("county_line", None),
        "grading": {"source_evaluation": "2", "intelligence_assessment": "B", "handling_code": "P"},
        "narrative": extra.pop("narrative", "Officer's note for police eyes only."),
        "source_reference": f"SRC-DEMO-{ref[-3:]}",
        "visitor_safety": extra.pop("visitor_safety", []),
    }
    return _envelope("IntelligenceSubmitted", ref, at, data)


def withdrawal(ref: str, reason: str, at: datetime) -> dict[str, Any]:
    data = {
        "force": "cumbria",
        "intelligence_ref": ref,
        "reason": reason,
        "withdrawn_at": at.isoformat(),
    }
    return _envelope("IntelligenceWithdrawn", ref, at, data)


def demo_stream(now: datetime) -> list[DemoItem]:
    """The demo, in sending order."""

    def ago(hours: int) -> datetime:
        return now - timedelta(hours=hours)

    first = submitted(
        "CUM/DEMO/001",
        BARROW_1,
        ["cuckooing", "drug_dealing_from_address"],
        ago(50),
        county_line="DANNY",
        visitor_safety=["aggressive_dogs", "do_not_visit_alone"],
    )
    items = [
        DemoItem("Barrow: flat taken over by the DANNY line (cuckooing)", first),
        DemoItem(
            "Barrow: 16-year-old running drugs (child exploitation)",
            submitted(
                "CUM/DEMO/002", BARROW_2, ["child_criminal_exploitation", "drug_running"], ago(40)
            ),
        ),
        DemoItem(
            "Barrow: older woman in debt to a line",
            submitted("CUM/DEMO/003", BARROW_3, ["debt_bondage"], ago(30)),
        ),
        DemoItem(
            "Kendal: runner seen at the station",
            submitted("CUM/DEMO/004", KENDAL_1, ["drug_running"], ago(20)),
        ),
        DemoItem(
            "Carlisle: cuckooed flat, knives seen",
            submitted(
                "CUM/DEMO/005",
                CARLISLE_1,
                ["cuckooing", "weapons"],
                ago(12),
                visitor_safety=["weapons_at_address"],
            ),
        ),
        DemoItem(
            "Carlisle: adult exploited for a line",
            submitted("CUM/DEMO/006", CARLISLE_2, ["adult_criminal_exploitation"], ago(10)),
        ),
        DemoItem(
            "Barrow: more on Jordan Pike (links to his open referral)",
            submitted("CUM/DEMO/007", BARROW_1, ["weapons"], ago(6)),
        ),
        DemoItem(
            "Barrow: CUM/DEMO/003 sent again by the force's system (duplicate)",
            submitted("CUM/DEMO/003", BARROW_3, ["debt_bondage"], ago(30)),
        ),
        DemoItem(
            "Carlisle: CUM/DEMO/006 withdrawn (submitted in error): intake asks casework "
            "to cancel its referral",
            withdrawal("CUM/DEMO/006", "submitted_in_error", ago(2)),
        ),
    ]
    invalid = submitted("CUM/DEMO/008", KENDAL_1, ["drug_running"], ago(1))
    del invalid["data"]["address"]
    items.append(DemoItem("Invalid: no address (goes to the dead-letter topic)", invalid))
    return items
