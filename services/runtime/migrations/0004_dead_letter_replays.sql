-- An operator's answer to a dead letter: re-driven (`hub deadletters replay`) or not, by
-- whom, when and why. The refused record itself stays on the topics.
ALTER TABLE dead_letters ADD COLUMN replayed_at timestamptz;
ALTER TABLE dead_letters ADD COLUMN replayed_by text;
ALTER TABLE dead_letters ADD COLUMN replay_note text;
