"""A ReferralOpened for a fresh referral in a chosen postcode district, from the golden
sample, for tests of what routing does with it."""

import json
import uuid

from referral_schemas import ReferralOpened, load_sample, parse_event


def opened_in(district: str) -> ReferralOpened:
    raw = json.loads(load_sample("ReferralOpened.v1"))
    raw["data"].update(
        referral_id=str(uuid.uuid4()),
        postcode_district=district,
        address={**raw["data"]["address"], "postcode": f"{district} 1AB"},
    )
    data = parse_event(json.dumps(raw).encode()).data
    assert isinstance(data, ReferralOpened)
    return data
