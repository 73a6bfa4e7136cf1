"""A ReferralOpened for a fresh referral in a chosen postcode district, from the golden
sample, for tests of what routing does with it."""

import uuid

from referral_schemas import Address, ReferralOpened, ReferralSubject, load_sample, parse_event

from tests.support.sealing import sealed


def opened_in(district: str) -> ReferralOpened:
    data = parse_event(load_sample("ReferralOpened.v2")).data
    assert isinstance(data, ReferralOpened)
    referral_id = uuid.uuid4()
    personal = sealed(
        referral_id,
        ReferralSubject(given_name="Casey", family_name="Marsh"),
        Address(line1="27 Harbour View Terrace", town="Barrow", postcode=f"{district} 1AB"),
    )
    return data.model_copy(
        update={"referral_id": referral_id, "postcode_district": district, "personal": personal}
    )
