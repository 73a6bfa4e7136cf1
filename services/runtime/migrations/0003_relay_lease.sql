-- Relay leadership: one row, the instance that may publish the outbox and until when.
-- Each new leader bumps the epoch; rows are marked published (deleted) only in a
-- transaction that finds the marker's own epoch still here, so a leader that hung and came
-- back after another took over cannot mark anything. Times are the database's (now()), so
-- the clocks of the service hosts do not matter.
CREATE TABLE relay_lease (
    singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    holder      text        NOT NULL,
    epoch       bigint      NOT NULL,
    expires_at  timestamptz NOT NULL
);
