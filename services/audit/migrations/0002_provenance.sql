-- Who signed each record (verified against the trust store when it was ledgered), and the
-- verdict: verified, bad_signature or untrusted_producer. Both are covered by the hash.
ALTER TABLE ledger ADD COLUMN producer text;
ALTER TABLE ledger ADD COLUMN provenance text;
