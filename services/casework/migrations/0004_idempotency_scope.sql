-- Idempotency keys belong to a user AT an agency (or a police force): the same user id and
-- key sent by two agencies' staff are two requests, never a replay of the other's answer.
-- "scope" is 'agency:<code>' or 'force:<code>', from the caller's token. Answers stored
-- before this change have the empty scope and are never replayed again (keys are retries
-- of moments ago, not records).
ALTER TABLE idempotency ADD COLUMN scope text NOT NULL DEFAULT '';
ALTER TABLE idempotency DROP CONSTRAINT idempotency_pkey;
ALTER TABLE idempotency ADD PRIMARY KEY (scope, user_id, key);
ALTER TABLE idempotency ALTER COLUMN scope DROP DEFAULT;
