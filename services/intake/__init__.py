"""intake: turns police intelligence into minimised referrals (or links it to an open one)."""
