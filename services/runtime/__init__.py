"""Plumbing shared by every service, without domain words: settings, logging, database,
migrations, inbox, outbox relay, the consumer shell and the app builder."""
