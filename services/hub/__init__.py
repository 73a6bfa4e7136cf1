"""``hub``: the operator command line of referral-hub."""
