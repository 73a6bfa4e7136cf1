-- Rows Kafka refused for good (too large, invalid topic): moved aside with the error so the
-- rows behind them are not held up. Kept, never dropped: an operator can see and re-send them.
CREATE TABLE outbox_parked (
    id          bigint      PRIMARY KEY,
    topic       text        NOT NULL,
    key         bytea,
    value       bytea       NOT NULL,
    headers     jsonb       NOT NULL,
    created_at  timestamptz NOT NULL,
    error       text        NOT NULL,
    parked_at   timestamptz NOT NULL DEFAULT now()
);
