-- The trace context each folded event carried, so an action staff take later on the
-- referral continues the referral's trace (docs/runtime.md "Traces").
ALTER TABLE timeline ADD COLUMN traceparent text, ADD COLUMN tracestate text;
